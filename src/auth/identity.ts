import type { Request } from 'express';
import type { Identity } from './caller';
import { Problem, problems } from '../problems';
import { checkApiKeyMethod, looksLikeApiKey, type ApiKeyVerifier } from './api-key';
import { isAccountEmail } from './email';
import { TokenError, TokenServiceUnavailable, type TokenClaims } from './jwt';
import { isStorableText } from './text';
import type { TokenVerifier } from './verifier';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Every claim reaches PostgreSQL (request.jwt.claims, read as jsonb), which
 * refuses NUL and lone surrogates: such a token would fail every request as bad
 * data (422) instead of being refused as a token. Decoding bounded the depth.
 */
function storable(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (typeof value !== 'object' || value === null) return true;
  return Object.entries(value).every(([key, inner]) => isStorableText(key) && storable(inner));
}

/** The name of the first claim the database could not store, to say which one is wrong. */
function unstorableClaim(claims: TokenClaims): string | undefined {
  const bad = Object.entries(claims).find(([name, value]) => !isStorableText(name) || !storable(value));
  return bad ? JSON.stringify(bad[0]) : undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if the request sends one. */
export function bearerTokenOf(req: Request): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
}

/** Maps verified claims to a database identity; only known roles get one. */
export function identityFromClaims(claims: TokenClaims): Identity {
  const unstorable = unstorableClaim(claims);
  if (unstorable) {
    throw problems.unauthorized(`The token's ${unstorable} claim holds a NUL character or broken UTF-16 text.`);
  }
  // The API puts a key's claim in its own requests' claims; a token that
  // carries one of its own is not a token this API issued that way.
  if ('api_key' in claims) {
    throw problems.unauthorized('The token carries an api_key claim: send the API key itself instead.');
  }
  if (claims.role === 'service_role') {
    return { role: 'service_role', userId: null, email: null, claims };
  }
  if (claims.role !== 'authenticated') {
    throw problems.unauthorized('The token does not belong to a signed-in user.');
  }
  if (typeof claims.sub !== 'string' || !UUID.test(claims.sub)) {
    throw problems.unauthorized('The token has no valid subject (sub).');
  }
  if (typeof claims.email !== 'string' || !isAccountEmail(claims.email)) {
    throw problems.unauthorized('The token has no usable email claim.');
  }
  return { role: 'authenticated', userId: claims.sub.toLowerCase(), email: claims.email.toLowerCase(), claims };
}

// The verifier hands back the same claims object for the same token (it
// keeps verified tokens), so the identity made from them is kept beside them.
const identities = new WeakMap<TokenClaims, Identity>();

function identityOf(claims: TokenClaims): Identity {
  let identity = identities.get(claims);
  if (!identity) {
    identity = identityFromClaims(claims);
    identities.set(claims, identity);
  }
  return identity;
}

export interface BearerOptions {
  /** Verifies organization API keys (dtk_live_...); without it a key is refused like any unknown token. */
  verifyApiKey?: ApiKeyVerifier;
  /** Runs once the caller is known, before any other work: limits that depend on who calls (403, 429). */
  admit?: (req: Request, identity: Identity) => void;
}

/** The bearerAuth security handler: verifies the token (a JWT or an API key) and attaches the identity. */
export function bearerAuthHandler(verifyToken: TokenVerifier, options: BearerOptions = {}) {
  const admit = (req: Request, identity: Identity): boolean => {
    req.identity = identity;
    try {
      checkApiKeyMethod(req, identity);
      options.admit?.(req, identity);
    } catch (error) {
      // The validator re-wraps a handler's error as 401: the real verdict is kept for the error handler.
      if (error instanceof Problem) req.authFailure = error;
      throw error;
    }
    return true;
  };
  return async (req: Request): Promise<boolean> => {
    const token = bearerTokenOf(req);
    if (!token) throw problems.unauthorized('Send a bearer token in the Authorization header.');
    if (looksLikeApiKey(token)) {
      if (!options.verifyApiKey) throw problems.unauthorized('API keys are not accepted here.');
      let identity: Identity;
      try {
        identity = await options.verifyApiKey(token);
      } catch (error) {
        if (error instanceof Problem && error.status >= 500) req.authFailure = error;
        throw error;
      }
      return admit(req, identity);
    }
    let claims: TokenClaims;
    try {
      claims = await verifyToken(token);
    } catch (error) {
      if (error instanceof TokenError) throw problems.unauthorized(error.message);
      if (error instanceof TokenServiceUnavailable) {
        req.authFailure = problems.unavailable(error.message);
        throw req.authFailure;
      }
      throw problems.unauthorized('The token could not be verified.');
    }
    return admit(req, identityOf(claims));
  };
}
