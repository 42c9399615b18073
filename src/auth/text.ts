/** Half of a UTF-16 surrogate pair: JSON.parse lets `"\ud800"` through, UTF-8 and jsonb cannot carry it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** C0 controls, DEL and C1 controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Text PostgreSQL stores as it is: text columns refuse NUL, jsonb also refuses lone surrogates. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** Text without control characters that is also storable: what an address or a name may be. */
export function isPlainText(text: string): boolean {
  return !CONTROL.test(text) && !LONE_SURROGATE.test(text);
}
