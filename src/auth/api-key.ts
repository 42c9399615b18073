import type { Request } from 'express';
import { problems } from '../problems';
import type { ApiKeyIdentity, Identity } from './caller';
import type { TokenClaims } from './jwt';

/** Every API key starts so: a reader (or a secret scanner) recognizes one, and the verifier tells it from a JWT. */
export const API_KEY_PREFIX = 'dtk_live_';

/** prefix, 12 lowercase letters or digits (the public id), an underscore, 32 random bytes in base64url. */
const API_KEY_SHAPE = /^dtk_live_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/;

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('dtk_');
}

export function isWellFormedApiKey(token: string): boolean {
  return API_KEY_SHAPE.test(token);
}

/** Turns a presented key into the identity it acts as (its creator), or throws a 401 problem. */
export type ApiKeyVerifier = (secret: string) => Promise<Identity>;

/**
 * The claims a key's requests run under: the creator's, as Supabase would
 * issue them, plus the key itself. The database reads `api_key` to pin the
 * organization and cap the role (database/015_api_keys.sql); the claim can
 * only narrow what the creator may do.
 */
export function apiKeyClaims(creator: { id: string; email: string }, key: ApiKeyIdentity): TokenClaims {
  return {
    sub: creator.id,
    email: creator.email,
    role: 'authenticated',
    aud: 'authenticated',
    api_key: { id: key.id, organization_id: key.organizationId, scope: key.scope },
  };
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * A read key may only read: anything else is refused before any work (its
 * transactions are read-only too, so the database refuses a write a handler
 * would attempt).
 */
export function checkApiKeyMethod(req: Request, identity: Identity): void {
  if (identity.apiKey?.scope === 'read' && !READ_METHODS.has(req.method)) {
    throw problems.forbidden('This API key has the read scope: it may only send GET requests.');
  }
}
