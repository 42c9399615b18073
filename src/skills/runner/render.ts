
// {{name}} or {{ name }}; names as the inputSchema allows them.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function asText(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // Arrays and objects go in as compact JSON: unambiguous, and what a model reads best.
  return JSON.stringify(value);
}

/**
 * Fills `{{field}}` placeholders from the (checked, defaulted) input. A
 * placeholder whose field has no value stays as written, so a template that
 * shows `{{example}}` literally, or a typo, is visible in the result rather
 * than silently blanked. Values are inserted as they are, never re-scanned.
 */
export function renderPrompt(template: string, values: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(values, name) && values[name] !== undefined ? asText(values[name]) : whole,
  );
}

type Encode = (typeof import('gpt-tokenizer'))['encode'];
let encode: Encode | undefined;

/**
 * Tokens of a text with the GPT-4o tokenizer (o200k_base). Special-token
 * text such as "<|endoftext|>" in user input is counted as ordinary text.
 * The tokenizer's tables take about 70 MiB, so they load on the first count,
 * not in every process that merely serves the API.
 */
export function countTokens(text: string): number {
  encode ??= (require('gpt-tokenizer') as typeof import('gpt-tokenizer')).encode;
  return encode(text, { disallowedSpecial: new Set() }).length;
}

/** A result as text, for counting its tokens. */
export function outputText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output) ?? '';
}
