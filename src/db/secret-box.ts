import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { localEncryptionKey } from '../auth/local-secret';
import type { Config } from '../config';

/**
 * Secrets the API must read back (a webhook's HMAC key, a TOTP seed) are
 * stored sealed with AES-256-GCM under a key from the environment, never in
 * the clear: a copy of the database (a backup, a replica, a leaked dump)
 * without the key yields nothing usable.
 *
 * Stored form: `enc:v1:<key id>:<base64url(iv | ciphertext | tag)>`. The key
 * id (8 hex digits of a hash of the key) says which key sealed it, so keys can
 * rotate: the first key seals, every key opens, and `npm run secrets:reencrypt`
 * (or the next start) seals what an older key sealed under the first.
 * What a value is sealed for (its purpose and row, e.g. `reflex:<id>`) is
 * bound in as associated data: a sealed value copied onto another row does
 * not open there.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  /** The secret; a value stored before sealing existed (no `enc:` prefix) is returned as it is. */
  open(stored: string, context: string): string;
  /** Whether the value is sealed under the current (first) key: false for plain values and older keys. */
  isCurrent(stored: string): boolean;
  /** The id of the sealing key, for queries that look for rows sealed otherwise. */
  readonly currentKeyId: string;
}

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** The id a key is known by in stored values: not secret, and says nothing about the key. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('secret-box key id\0').update(key).digest('hex').slice(0, 8);
}

/** A key as configured: standard or URL-safe base64 of exactly 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : Buffer.alloc(0);
  if (key.length !== SECRET_KEY_BYTES) throw new Error(`an encryption key must be ${SECRET_KEY_BYTES} bytes in base64 (openssl rand -base64 32)`);
  return key;
}

export function newSecretKey(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('base64');
}

/** A box over `keys`: the first seals, all open. Two keys with one id would be ambiguous and are refused. */
export function createSecretBox(keys: readonly Buffer[]): SecretBox {
  if (keys.length === 0) throw new Error('at least one encryption key is needed');
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`an encryption key must be ${SECRET_KEY_BYTES} bytes`);
    const id = keyIdOf(key);
    if (byId.has(id)) throw new Error(`two encryption keys share the id ${id}: list each key once`);
    byId.set(id, key);
  }
  const current = keyIdOf(keys[0]!);
  const aad = (keyId: string, context: string) => Buffer.from(`${PREFIX}${keyId}:${context}`, 'utf8');

  return {
    currentKeyId: current,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', byId.get(current)!, iv);
      cipher.setAAD(aad(current, context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${PREFIX}${current}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(stored, context) {
      if (!stored.startsWith(PREFIX)) return stored;
      const match = /^enc:v1:([0-9a-f]{8}):([A-Za-z0-9_-]+)$/.exec(stored);
      if (!match) throw new Error('a sealed secret is malformed');
      const [, keyId, payload] = match;
      const key = byId.get(keyId!);
      if (!key) throw new Error(`a secret is sealed with key ${keyId}, which is not among the configured SECRETS_ENCRYPTION_KEYS`);
      const raw = Buffer.from(payload!, 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('a sealed secret is malformed');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(aad(keyId!, context));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    },
    isCurrent(stored) {
      return stored.startsWith(`${PREFIX}${current}:`);
    },
  };
}

/**
 * The box that seals secrets at rest: SECRETS_ENCRYPTION_KEYS, or in
 * embedded mode a key generated once in DATA_DIR. A deployment on
 * DATABASE_URL must name its keys: one generated per machine would leave
 * every other instance unable to read what this one sealed.
 */
export function secretBoxOf(config: Pick<Config, 'secretsEncryptionKeys' | 'databaseUrl' | 'dataDir'>): SecretBox {
  if (config.secretsEncryptionKeys) return createSecretBox(config.secretsEncryptionKeys.map(parseSecretKey));
  if (config.databaseUrl) {
    throw new Error('SECRETS_ENCRYPTION_KEYS is not set: with DATABASE_URL, give every instance the same key (openssl rand -base64 32); see the README, Secrets at rest');
  }
  return createSecretBox([parseSecretKey(localEncryptionKey(config.dataDir))]);
}
