import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** The hex HMAC-SHA256 of `<timestamp>.<raw body>`, keyed with the secret's UTF-8 bytes. */
export function signDelivery(secret: string, timestamp: string, rawBody: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** The header value a sender puts in X-Reflex-Signature. */
export const signatureHeaderValue = (secret: string, timestamp: string, rawBody: Buffer): string =>
  `sha256=${signDelivery(secret, timestamp, rawBody)}`;

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
const TIMESTAMP = /^\d{1,12}$/;

/** The signature's hex digest (lowercase) and timestamp, when both headers have the right form. */
export function readSignatureHeaders(signature: string | undefined, timestamp: string | undefined): { digest: string; timestamp: string } | undefined {
  const match = signature ? SIGNATURE.exec(signature.trim()) : null;
  if (!match || !timestamp || !TIMESTAMP.test(timestamp.trim())) return undefined;
  return { digest: match[1]!.toLowerCase(), timestamp: timestamp.trim() };
}

/** Whether the timestamp lies within the tolerance of `now` (either side: clocks drift both ways). */
export function isFresh(timestamp: string, toleranceSeconds: number, nowMs = Date.now()): boolean {
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= toleranceSeconds;
}

/** Constant-time comparison of two hex digests of the same length. */
export function digestsEqual(expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(givenHex, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

// ---- Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) ----

/** The Standard Webhooks headers of a delivery, checked for form. */
export interface StandardSignedHeaders {
  messageId: string;
  timestamp: string;
  /** The base64 signatures of the `v1,` entries (others are ignored, as the specification says). */
  signatures: string[];
}

const MESSAGE_ID = /^[\x21-\x7e]{1,256}$/;
const V1_SIGNATURE = /^v1,([A-Za-z0-9+/]{43}=)$/;

/** The headers when all three are present and well formed; undefined otherwise. */
export function readStandardHeaders(id: string | undefined, timestamp: string | undefined, signature: string | undefined): StandardSignedHeaders | undefined {
  if (!id || !timestamp || !signature) return undefined;
  const messageId = id.trim();
  const at = timestamp.trim();
  if (!MESSAGE_ID.test(messageId) || !TIMESTAMP.test(at)) return undefined;
  const signatures = signature
    .trim()
    .split(' ')
    .map((entry) => V1_SIGNATURE.exec(entry)?.[1])
    .filter((value): value is string => value !== undefined);
  return signatures.length > 0 ? { messageId, timestamp: at, signatures } : undefined;
}

/**
 * The signing key a reflex's secret stands for: the bytes after `whsec_`
 * (written in base64url; a standard-base64 copy decodes to the same bytes).
 */
export function standardKeyOf(secret: string): Uint8Array {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** Whether one of the delivery's v1 signatures is the one `secret` makes (compared in constant time). */
export function standardSignatureMatches(secret: string, headers: StandardSignedHeaders, rawBody: Buffer): boolean {
  const expected = new Webhook(standardKeyOf(secret), { format: 'raw' }).sign(headers.messageId, new Date(Number(headers.timestamp) * 1000), rawBody);
  const expectedBytes = Buffer.from(expected.slice('v1,'.length), 'base64');
  let matched = false;
  for (const given of headers.signatures) {
    const givenBytes = Buffer.from(given, 'base64');
    // Every entry is compared (no early return), so the time taken says nothing about which matched.
    if (givenBytes.length === expectedBytes.length && timingSafeEqual(givenBytes, expectedBytes)) matched = true;
  }
  return matched;
}

/** What a message id is remembered as (the replay table keeps 64 hex digits): a hash, never the sender's text. */
export function messageKey(messageId: string): string {
  return createHash('sha256').update(`standard-webhooks:${messageId}`).digest('hex');
}
