import { hash, randomBytes } from 'node:crypto';
import { API_KEY_PREFIX } from '../auth/api-key';
import { API_KEY_SCOPES, type ApiKeyScope } from '../auth/caller';
import type { RequestBody } from '../http/route';
import { problems } from '../problems';

type CreateBody = RequestBody<'createApiKey'>;

const DAY_MS = 24 * 3600 * 1000;
/** A key lives at most this long: one that never expires says so (`never`). */
const MAX_LIFETIME_DAYS = 3650;

/**
 * When a new key expires, from the frontend's choice: never, 30/60/90 days,
 * or `custom` with a number of days or an instant. A field that does not go
 * with the choice is a 400, not silently ignored.
 */
export function expiresAtFor(body: CreateBody, now: Date): Date | null {
  const { expiration, customExpirationDays, expiresAt } = body;
  if (expiration !== 'custom') {
    for (const field of ['customExpirationDays', 'expiresAt'] as const) {
      if (body[field] !== undefined) {
        throw problems.validation(`${field} goes with expiration "custom" only.`, [
          { path: `/body/${field}`, message: 'is only accepted with expiration "custom"' },
        ]);
      }
    }
    return expiration === 'never' ? null : new Date(now.getTime() + Number(expiration) * DAY_MS);
  }
  if ((customExpirationDays === undefined) === (expiresAt === undefined)) {
    throw problems.validation('A custom expiration needs customExpirationDays or expiresAt (one of them).', [
      { path: '/body/customExpirationDays', message: 'send exactly one of customExpirationDays and expiresAt' },
    ]);
  }
  if (customExpirationDays !== undefined) return new Date(now.getTime() + customExpirationDays * DAY_MS);
  const at = new Date(expiresAt!);
  if (!(at.getTime() > now.getTime()) || at.getTime() > now.getTime() + MAX_LIFETIME_DAYS * DAY_MS) {
    throw problems.validation(`expiresAt must be in the future and at most ${MAX_LIFETIME_DAYS} days ahead.`, [
      { path: '/body/expiresAt', message: 'must be a future instant within 10 years' },
    ]);
  }
  return at;
}

/** A key's name: shown in lists, so no control characters and not blank. */
export function checkKeyName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (name.trim() === '' || /[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw problems.validation('A key needs a name without control characters.', [{ path: '/body/name', message: 'must not be blank or hold control characters' }]);
  }
  return name;
}

/** The strongest of the key's scopes decides what it may do. */
export function effectiveScope(scopes: readonly ApiKeyScope[]): ApiKeyScope {
  return API_KEY_SCOPES.filter((scope) => scopes.includes(scope)).pop() ?? 'read';
}

const PUBLIC_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface NewSecret {
  /** The whole key, shown once. */
  secret: string;
  publicId: string;
  /** `dtk_live_<publicId>`: what lists show. */
  keyPrefix: string;
  hash: Buffer;
}

// One-shot hashing: every API-key request hashes its key to find it in the cache.
export function hashSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

export function keyPrefixOf(publicId: string): string {
  return `${API_KEY_PREFIX}${publicId}`;
}

/** A new key: 32 random bytes behind a public id; only the sha256 is stored. */
export function newSecret(): NewSecret {
  // 36 symbols from 12 bytes: the slight bias of `% 36` only touches the public part.
  const publicId = Array.from(randomBytes(12), (byte) => PUBLIC_ID_ALPHABET[byte % PUBLIC_ID_ALPHABET.length]).join('');
  const secret = `${keyPrefixOf(publicId)}_${randomBytes(32).toString('base64url')}`;
  return { secret, publicId, keyPrefix: keyPrefixOf(publicId), hash: hashSecret(secret) };
}
