import { createHmac, timingSafeEqual } from 'node:crypto';

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
