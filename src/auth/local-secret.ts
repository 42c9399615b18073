import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The HS256 secret of local development: created once in DATA_DIR and reused,
 * so tokens printed by `npm run token` stay valid across restarts.
 */
export function localJwtSecret(dataDir: string): string {
  return kept(dataDir, 'jwt-secret', () => randomBytes(32).toString('base64url'));
}

/**
 * The key that seals secrets at rest in local development (no
 * SECRETS_ENCRYPTION_KEYS): created once in DATA_DIR beside the database it
 * protects, so both survive restarts together; never in the repository.
 */
export function localEncryptionKey(dataDir: string): string {
  return kept(dataDir, 'secrets-encryption-key', () => randomBytes(32).toString('base64'));
}

/** A generated value kept in a file of DATA_DIR that only this user may read. */
function kept(dataDir: string, name: string, generate: () => string): string {
  const file = path.join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const value = generate();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}
