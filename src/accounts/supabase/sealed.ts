import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// A pending sign-in's payload (an aal1 session, a PKCE verifier) is sealed
// with a key derived from the token the client holds: the database keeps only
// the token's sha256 and this ciphertext, so what it stores opens for nobody
// who does not hold the token.

const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyOf(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), Buffer.alloc(0), 'pending sign-in payload', 32));
}

export function seal(token: string, payload: unknown): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(token), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The payload, or null when the box was not sealed with this token or was altered. */
export function open<T>(token: string, sealed: Buffer): T | null {
  if (sealed.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(token), sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const text = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
