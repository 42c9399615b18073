import { createHmac, timingSafeEqual } from 'node:crypto';
import { DEFAULT_JSON_LIMITS, jsonLimitBreach } from '../json-limits';

/** The claims of a Supabase access token that this API reads. */
export interface TokenClaims {
  sub?: string;
  email?: string;
  role?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  iss?: string;
  [claim: string]: unknown;
}

export class TokenError extends Error {}

/** The service that verifies tokens could not be reached: the caller is not at fault (503, not 401). */
export class TokenServiceUnavailable extends Error {}

/** Clock skew tolerated between the token issuer and this server. */
export const CLOCK_LEEWAY_SECONDS = 30;

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

/**
 * Claims nest three or four levels in any real token; user_metadata, which a
 * Supabase user edits, could nest thousands, and every later walk of the
 * claims (JSON.stringify for the database included) would overflow the stack.
 */
export const MAX_CLAIMS_DEPTH = 32;

function decodeJson(segment: string): Record<string, unknown> {
  const bytes = Buffer.from(segment, 'base64url');
  if (jsonLimitBreach(bytes, { maxDepth: MAX_CLAIMS_DEPTH, maxValues: DEFAULT_JSON_LIMITS.maxValues })) {
    throw new TokenError(`the token nests more than ${MAX_CLAIMS_DEPTH} levels deep or holds too many values`);
  }
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TokenError('the token is not a well-formed JWT');
}

/** Splits a compact JWT without trusting anything in it. */
export function decodeUnverified(token: string): { header: Record<string, unknown>; payload: TokenClaims } {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => part.length === 0)) {
    throw new TokenError('the token is not a well-formed JWT');
  }
  return { header: decodeJson(parts[0]!), payload: decodeJson(parts[1]!) as TokenClaims };
}

/** Signs claims as an HS256 JWT, the way Supabase's legacy JWT secret does. */
export function signHs256(claims: TokenClaims, secret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/**
 * Supabase's legacy `service_role` key: an HS256 JWT signed with the
 * project's JWT secret, with `iss: "supabase"`, the project's `ref`, and
 * neither `sub` nor `aud` (it names no user and no audience). Only that exact
 * shape skips the audience and issuer checks; its signature and expiry are
 * checked like any token's, and an `anon` key (same shape, role anon) is not
 * it. With the project known, its ref must be this project's.
 */
export function isLegacyServiceKey(claims: TokenClaims, issuer?: string): boolean {
  if (claims.role !== 'service_role' || claims.iss !== 'supabase') return false;
  if (claims.aud !== undefined || claims.sub !== undefined || typeof claims.ref !== 'string' || claims.ref === '') return false;
  if (issuer === undefined) return true;
  try {
    return new URL(issuer).hostname.startsWith(`${claims.ref}.`);
  } catch {
    return false;
  }
}

/** Checks the time window and audience that every accepted token must satisfy. */
export function checkStandardClaims(claims: TokenClaims, options: { issuer?: string; now?: number }): void {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const leeway = CLOCK_LEEWAY_SECONDS;
  if (typeof claims.exp !== 'number') throw new TokenError('the token has no expiry');
  if (claims.exp + leeway < now) throw new TokenError('the token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw new TokenError('the token is not valid yet');
  if (isLegacyServiceKey(claims, options.issuer)) return;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes('authenticated')) throw new TokenError('the token is not meant for this API (aud)');
  if (options.issuer !== undefined && claims.iss !== options.issuer) {
    throw new TokenError('the token was issued by another project (iss)');
  }
}

/** Verifies an HS256 token with the shared secret; any other algorithm is refused. */
export function verifyHs256(token: string, secret: string, options: { issuer?: string } = {}): TokenClaims {
  const { header, payload } = decodeUnverified(token);
  if (header.alg !== 'HS256') throw new TokenError('the token is not signed with HS256');
  const [encodedHeader, encodedPayload, signature] = token.split('.') as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${encodedHeader}.${encodedPayload}`).digest();
  // Only the canonical spelling: Buffer.from() would skip stray characters,
  // letting many strings pass for one token.
  const given = Buffer.from(signature, 'base64url');
  if (!/^[A-Za-z0-9_-]{43}$/.test(signature) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TokenError('the token signature is not valid');
  }
  checkStandardClaims(payload, options);
  return payload;
}
