
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
 * The longest prompt a template may render to, in characters. A template of
 * 50,000 characters holds 10,000 placeholders, each of which could repeat a
 * value of most of a megabyte: without a limit one request would build
 * gigabytes (and count their tokens for minutes).
 */
export const MAX_PROMPT_LENGTH = 1_048_576;

/** Thrown by renderPrompt as soon as the prompt would pass MAX_PROMPT_LENGTH. */
export class PromptTooLarge extends Error {
  constructor() {
    super(`The rendered prompt would be longer than ${MAX_PROMPT_LENGTH.toLocaleString('en-US')} characters.`);
  }
}

/**
 * Fills `{{field}}` placeholders from the (checked, defaulted) input. A
 * placeholder whose field has no value stays as written, so a template that
 * shows `{{example}}` literally, or a typo, is visible in the result rather
 * than silently blanked. Values are inserted as they are, never re-scanned.
 * Stops (PromptTooLarge) before the prompt passes MAX_PROMPT_LENGTH.
 */
export function renderPrompt(template: string, values: Record<string, unknown>): string {
  let length = template.length;
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const text = Object.hasOwn(values, name) && values[name] !== undefined ? asText(values[name]) : whole;
    length += text.length - whole.length;
    if (length > MAX_PROMPT_LENGTH) throw new PromptTooLarge();
    return text;
  });
}

type Encode = (typeof import('gpt-tokenizer'))['encode'];
let encode: Encode | undefined;

/**
 * The tokenizer merges byte pairs within each word in time that grows with
 * the square of the word's length: one word of a megabyte holds the CPU for
 * minutes. Text is counted in pieces of at most this many characters.
 */
const MAX_PIECE_LENGTH = 500;

/** Spaces and tabs (line breaks are not: the tokenizer keeps them with the punctuation before them). */
const isBlank = (code: number) => code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0xa0 || code === 0x3000 || (code >= 0x2000 && code <= 0x200a);
const isWhitespace = (code: number) => isBlank(code) || code === 0x0a || code === 0x0d || code === 0x85 || code === 0x2028 || code === 0x2029;

/**
 * Where the piece that starts at `start` ends: before the last space or tab
 * that follows something other than whitespace, where the tokenizer starts a
 * new word anyway (so ordinary text counts exactly as it does whole); inside
 * a run of more than MAX_PIECE_LENGTH characters without one, where a token
 * or so may differ, but never between the halves of a surrogate pair.
 */
function pieceEnd(text: string, start: number): number {
  const limit = start + MAX_PIECE_LENGTH;
  if (limit >= text.length) return text.length;
  for (let i = limit; i > start; i -= 1) {
    if (isBlank(text.charCodeAt(i)) && !isWhitespace(text.charCodeAt(i - 1))) return i;
  }
  const code = text.charCodeAt(limit);
  return code >= 0xdc00 && code <= 0xdfff ? limit - 1 : limit;
}

/**
 * Tokens of a text with the GPT-4o tokenizer (o200k_base). Special-token
 * text such as "<|endoftext|>" in user input is counted as ordinary text.
 * The tokenizer's tables take about 70 MiB, so they load on the first count,
 * not in every process that merely serves the API. Linear in the text's
 * length, whatever the text (see MAX_PIECE_LENGTH).
 */
export function countTokens(text: string): number {
  encode ??= (require('gpt-tokenizer') as typeof import('gpt-tokenizer')).encode;
  let count = 0;
  for (let start = 0; start < text.length; ) {
    const end = pieceEnd(text, start);
    count += encode(text.slice(start, end), { disallowedSpecial: new Set() }).length;
    start = end;
  }
  return count;
}

/** A result as text, for counting its tokens. */
export function outputText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output) ?? '';
}
