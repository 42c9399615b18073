import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { problems } from '../problems';

/** How long a key means something: a retry within it replays, after it runs again. */
export const KEY_LIFETIME_HOURS = 24;
/** Marks a replayed response (Stripe's name for it). */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** The response headers replayed with the body; the rest (quota, CORS) belong to each request. */
export const STORED_HEADERS = ['content-type', 'location'] as const;

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** The Idempotency-Key header as sent: 1 to 255 printable ASCII characters, else a 400. */
export function parseIdempotencyKey(value: string | string[]): string {
  // Node joins repeated headers of unknown names with ", "; two keys are no key.
  const key = Array.isArray(value) ? value.join(', ') : value;
  if (!KEY_PATTERN.test(key)) {
    throw problems.validation('Idempotency-Key must be 1 to 255 printable ASCII characters (a random UUID is a good key).', [
      { path: '/headers/idempotency-key', message: 'must be 1 to 255 printable ASCII characters', code: 'pattern' },
    ]);
  }
  return key;
}

/**
 * JSON with object members sorted by name at every level and no whitespace
 * (the idea of RFC 8785), so that two bodies that mean the same have the same
 * text whatever order their fields were sent in.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((name) => (value as Record<string, unknown>)[name] !== undefined)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson((value as Record<string, unknown>)[name])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What makes two requests "the same request": method, path, parsed query and body. */
export interface RequestShape {
  method: string;
  path: string;
  query: unknown;
  body: unknown;
}

export function requestFingerprint(request: RequestShape): Buffer {
  return createHash('sha256').update(canonicalJson({ method: request.method.toUpperCase(), path: request.path, query: request.query ?? {}, body: request.body ?? null })).digest();
}

export function keyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Whether a response is the key's answer for the next 24 hours. Every answer
 * the operation itself gave counts (a success, and a refusal of this request:
 * 400 from its own rules, 403, 404, 409, 422 ...), as Stripe does; a 429
 * (quota, the plan's burst limit) or a 5xx says "not now", and frees the key
 * for the retry. A 401 cannot reach a handler; if one did, it is not kept.
 */
export function isKeptStatus(status: number): boolean {
  if (status >= 200 && status < 300) return true;
  return status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429;
}

// The body is stored encrypted under a key only the client holds (its
// Idempotency-Key) and bound to the exact request: a database reader learns
// nothing from a record, even of a response that shows a secret once.
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function bodyKey(key: string, fingerprint: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), fingerprint, 'idempotency-response-body', 32));
}

/** iv || tag || ciphertext */
export function sealBody(body: Buffer, key: string, fingerprint: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, bodyKey(key, fingerprint), iv);
  const encrypted = Buffer.concat([cipher.update(body), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
}

/** The body sealBody stored; throws when the key or the request is not the one it was sealed with. */
export function openBody(sealed: Buffer, key: string, fingerprint: Buffer): Buffer {
  const decipher = createDecipheriv(CIPHER, bodyKey(key, fingerprint), sealed.subarray(0, IV_BYTES));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
