import pg from 'pg';

/**
 * The one place a statement's parameters become SQL literals, so that the
 * statement can travel in the same simple-protocol message as the statements
 * that open its transaction (one round trip instead of two or three).
 *
 * Every value becomes a quoted literal of unknown type, which PostgreSQL
 * resolves from its context exactly as it resolves an untyped $n parameter:
 * the text is what node-postgres would have sent as the parameter's value
 * (pg.utils.prepareValue: dates as ISO text, arrays as array literals, objects
 * as JSON), escaped by pg.escapeLiteral. null and undefined become NULL.
 * Placeholders inside strings, quoted identifiers, dollar quotes and comments
 * are left alone, and a text holding more than one statement is refused: the
 * extended protocol would refuse it too, and inlined it would run them all.
 * Undefined when a value holds a NUL character, which no SQL text can carry:
 * sent as a parameter instead, the server refuses it with its usual error.
 */
export function inlineParameters(text: string, params: readonly unknown[] = []): string | undefined {
  const literals: string[] = [];
  for (const value of params) {
    const written = literal(value);
    if (written.includes('\u0000')) return undefined;
    literals.push(written);
  }
  let out = '';
  let copiedUpTo = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === "'") {
      i = endOfQuoted(text, i, "'", isEscapeString(text, i));
    } else if (ch === '"') {
      i = endOfQuoted(text, i, '"', false);
    } else if (ch === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? length : end + 1;
    } else if (ch === '/' && next === '*') {
      i = endOfBlockComment(text, i);
    } else if (ch === ';') {
      if (text.slice(i + 1).trim() !== '') throw new Error('inlineParameters takes one statement; this text holds several');
      i++;
    } else if (ch === '$') {
      const placeholder = /^\$(\d+)/.exec(text.slice(i, i + 12));
      if (placeholder && !isIdentifierChar(text[i - 1])) {
        const index = Number(placeholder[1]);
        if (index < 1 || index > params.length) throw new Error(`placeholder $${index} has no parameter (${params.length} given)`);
        out += text.slice(copiedUpTo, i) + literals[index - 1];
        i += placeholder[0].length;
        copiedUpTo = i;
        continue;
      }
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (tag && !isIdentifierChar(text[i - 1])) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        if (close === -1) throw new Error('unterminated dollar-quoted string');
        i = close + tag[0].length;
      } else {
        i++;
      }
    } else {
      i++;
    }
  }
  return out + text.slice(copiedUpTo);
}

/** A value as the literal PostgreSQL reads like the parameter it replaces. */
export function literal(value: unknown): string {
  const converted = value === undefined ? null : driverPrepareValue(value);
  if (converted === null || converted === undefined) return 'null';
  // bytea's hex input form; escapeLiteral doubles the backslash inside E'...'.
  const text = Buffer.isBuffer(converted) ? `\\x${converted.toString('hex')}` : String(converted);
  return pg.escapeLiteral(text);
}

// node-postgres's own conversion of a parameter to its wire text (dates,
// arrays, JSON): exported by its utils module, which its typings leave out.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const driverPrepareValue = (require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown }).prepareValue;

function isIdentifierChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
}

/** E'...' strings treat backslash as an escape; standard strings do not. */
function isEscapeString(text: string, quote: number): boolean {
  const prefix = text[quote - 1];
  return (prefix === 'E' || prefix === 'e') && !isIdentifierChar(text[quote - 2]);
}

/** Index just past the closing quote; a doubled quote is part of the string. */
function endOfQuoted(text: string, open: number, quote: string, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (backslashEscapes && ch === '\\') {
      i += 2;
    } else if (ch === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  throw new Error(`unterminated ${quote === "'" ? 'string' : 'quoted identifier'}`);
}

/** Index just past a block comment; PostgreSQL's block comments nest. */
function endOfBlockComment(text: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < text.length) {
    if (text[i] === '/' && text[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (text[i] === '*' && text[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  throw new Error('unterminated block comment');
}
