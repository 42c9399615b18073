import type pg from 'pg';
import { apiKeyClaims, isWellFormedApiKey, type ApiKeyVerifier } from '../auth/api-key';
import type { Identity } from '../auth/caller';
import { withServiceTransaction } from '../db/transaction';
import { Problem, problems } from '../problems';
import { effectiveScope, hashSecret } from './rules';
import { KEY_BY_HASH, type KeyLookupRow } from './sql';
import type { ApiKeyUsage } from './usage';

/** How long a verified key is trusted without asking the database again. */
export const DEFAULT_KEY_CACHE_MS = 30_000;
const KEY_CACHE_SIZE = 10_000;

interface Cached {
  identity: Identity;
  expiresAtMs: number | null;
  verifiedAtMs: number;
}

export interface ApiKeyVerification {
  verify: ApiKeyVerifier;
  /** Forgets a key at once (this process revoked it). */
  forget(keyId: string): void;
}

/**
 * Turns a presented key into its creator's identity. The lookup by hash runs
 * once per key per cache period (30 s by default); every request made with
 * the key is still checked by the database (begin_request: not revoked, not
 * expired, creator still an active member), so a revoked key stops at once on
 * every instance. The cache only saves the lookup.
 */
export function createApiKeyVerifier(deps: {
  pool: pg.Pool;
  statementTimeoutMs: number;
  usage: ApiKeyUsage;
  cacheMs?: number;
  nowMs?: () => number;
}): ApiKeyVerification {
  const cacheMs = deps.cacheMs ?? DEFAULT_KEY_CACHE_MS;
  const now = deps.nowMs ?? Date.now;
  // By the hash of the secret: the secret itself is not kept in memory longer than the request.
  const cache = new Map<string, Cached>();

  const lookUp = async (hash: Buffer): Promise<Cached> => {
    const found = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) => tx.query<KeyLookupRow>(KEY_BY_HASH, [hash]));
    const row = found.rows[0];
    if (!row) throw problems.unauthorized('This API key is not known.');
    if (row.revoked_at !== null) throw problems.unauthorized('This API key has been revoked.');
    const expiresAtMs = row.expires_at === null ? null : Date.parse(row.expires_at);
    if (expiresAtMs !== null && expiresAtMs <= now()) throw problems.unauthorized('This API key has expired.');
    const key = { id: row.id, organizationId: row.organization_id, scope: effectiveScope(row.scopes) };
    const identity: Identity = {
      role: 'authenticated',
      userId: row.created_by,
      email: row.email,
      claims: apiKeyClaims({ id: row.created_by, email: row.email }, key),
      apiKey: key,
    };
    return { identity, expiresAtMs, verifiedAtMs: now() };
  };

  return {
    async verify(secret) {
      if (!isWellFormedApiKey(secret)) throw problems.unauthorized('This is not a well-formed API key.');
      const cacheKey = hashSecret(secret).toString('base64');
      let entry = cache.get(cacheKey);
      const at = now();
      if (entry && (at - entry.verifiedAtMs > cacheMs || (entry.expiresAtMs !== null && entry.expiresAtMs <= at))) {
        cache.delete(cacheKey);
        entry = undefined;
      }
      if (!entry) {
        try {
          entry = await lookUp(hashSecret(secret));
        } catch (error) {
          if (error instanceof Problem) throw error;
          throw problems.unavailable('The API key could not be checked right now; retry shortly.');
        }
        if (cache.size >= KEY_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(cacheKey, entry);
      }
      deps.usage.record(entry.identity.apiKey!.id);
      return entry.identity;
    },
    forget(keyId) {
      for (const [cacheKey, entry] of cache) if (entry.identity.apiKey?.id === keyId) cache.delete(cacheKey);
    },
  };
}
