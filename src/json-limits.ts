/**
 * How deep and how big a JSON request body may be, measured on its bytes
 * before JSON.parse builds anything.
 *
 * Depth: JSON.parse itself copes with 10,000 levels, but whatever walks the
 * result recursively next (the contract validator, node-postgres, structured
 * clones, templates) overflows the stack: a 500 for a 20 KB body. Nothing this
 * API stores needs more than a few levels, so 64 leaves room for any real
 * document.
 *
 * Values: a body of tiny values costs far more memory and validation time
 * than its byte size suggests (`[0,0,0,...]` is two bytes a value).
 */
export interface JsonLimits {
  /** Containers (objects and arrays) open at once; the top-level value is level 1. */
  maxDepth: number;
  /** Values in the whole document: every array item and every object member's value, plus the top-level value. */
  maxValues: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxValues: 10_000 };

export type JsonLimitBreach = 'depth' | 'values';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const SPACE = 0x20;
const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The first limit the UTF-8 JSON text breaks, or undefined. One pass over the
 * bytes, constant memory, never builds the document. Brackets and commas
 * inside strings are text (escapes honoured); in UTF-8 every byte of a
 * multi-byte character is >= 0x80, so none of them can pass for a quote,
 * backslash or bracket.
 *
 * Values are counted without knowing which is which: every comma outside a
 * string separates two values of one container, and every container that is
 * not empty holds one more value than it has commas. For valid JSON the count
 * is exact; for invalid JSON it is some number, and the parser refuses the
 * text afterwards anyway.
 */
export function jsonLimitBreach(bytes: Uint8Array, limits: JsonLimits): JsonLimitBreach | undefined {
  let depth = 0;
  let values = 1;
  let inString = false;
  // The previous byte that was neither whitespace nor inside a string opened a container.
  let justOpened = false;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === SPACE || byte === LINE_FEED || byte === CARRIAGE_RETURN || byte === TAB) continue;
    if (justOpened) {
      justOpened = false;
      if (byte !== CLOSE_OBJECT && byte !== CLOSE_ARRAY && ++values > limits.maxValues) return 'values';
    }
    switch (byte) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (++depth > limits.maxDepth) return 'depth';
        justOpened = true;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth -= 1;
        break;
      case COMMA:
        if (++values > limits.maxValues) return 'values';
        break;
      default:
        break;
    }
  }
  return undefined;
}
