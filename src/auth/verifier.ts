import { AuthClient } from '@supabase/supabase-js';
import {
  checkStandardClaims,
  CLOCK_LEEWAY_SECONDS,
  decodeUnverified,
  TokenError,
  TokenServiceUnavailable,
  verifyHs256,
  type TokenClaims,
} from './jwt';

const ASYMMETRIC_ALGORITHMS = new Set(['RS256', 'ES256']);

/** Verified tokens remembered at most; the oldest is forgotten first. */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
/** Longer tokens are verified every time, so the cache stays small (10,000 x 4 KB at most). */
const MAX_CACHED_TOKEN_LENGTH = 4096;

export type TokenVerifier = (token: string) => Promise<TokenClaims>;

export interface VerifierOptions {
  jwtSecret?: string;
  supabaseUrl?: string;
  supabaseAnonKey?: string;
}

/**
 * Builds the verifier the configuration asks for. HS256 tokens are checked
 * locally when the secret is known (no network round trip); with a Supabase
 * project configured, every other token goes through supabase-js, which
 * verifies asymmetric tokens against the project's JWKS. The issuer is checked
 * only when the project is known.
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const issuer = options.supabaseUrl ? `${options.supabaseUrl}/auth/v1` : undefined;
  let supabase: InstanceType<typeof AuthClient> | undefined;
  if (options.supabaseUrl && options.supabaseAnonKey) {
    // Only Supabase Auth is needed. createClient() would also build a Realtime
    // client, which throws on Node 20 (no native WebSocket).
    supabase = new AuthClient({
      url: `${options.supabaseUrl}/auth/v1`,
      headers: { apikey: options.supabaseAnonKey, Authorization: `Bearer ${options.supabaseAnonKey}` },
      persistSession: false,
      autoRefreshToken: false,
      detectSessionInUrl: false,
    });
  }
  if (!options.jwtSecret && !supabase) {
    throw new Error('No way to verify tokens: set SUPABASE_JWT_SECRET, or SUPABASE_URL with SUPABASE_ANON_KEY');
  }

  // A client sends the same token on every request until it expires; its
  // verified claims are kept (by the exact token text) so the signature is
  // checked once, not on every call. Expiry is still checked on every use.
  const verified = new Map<string, TokenClaims>();
  const remember = (token: string, claims: TokenClaims): TokenClaims => {
    if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(token, claims);
    return claims;
  };

  return async (token) => {
    const known = verified.get(token);
    if (known) {
      if ((known.exp ?? 0) + CLOCK_LEEWAY_SECONDS >= Math.floor(Date.now() / 1000)) return known;
      verified.delete(token);
    }
    const claims = await verifyUncached(token);
    return token.length <= MAX_CACHED_TOKEN_LENGTH ? remember(token, claims) : claims;
  };

  async function verifyUncached(token: string): Promise<TokenClaims> {
    const { header } = decodeUnverified(token);
    if (header.alg === 'HS256' && options.jwtSecret) {
      return verifyHs256(token, options.jwtSecret, { issuer });
    }
    if (!supabase) throw new TokenError('the token is not signed with HS256');
    // Supabase signs with RS256 or ES256 and names the key, or (legacy
    // projects) HS256, which only Supabase can check when the secret is not
    // configured here. Anything else is refused without calling Supabase.
    const asymmetric = ASYMMETRIC_ALGORITHMS.has(String(header.alg));
    if (!(header.alg === 'HS256' || (asymmetric && typeof header.kid === 'string' && header.kid.length > 0))) {
      throw new TokenError('the token is not signed the way Supabase signs access tokens');
    }
    let result: Awaited<ReturnType<typeof supabase.getClaims>>;
    try {
      result = await supabase.getClaims(token);
    } catch (error) {
      throw new TokenError(error instanceof Error ? error.message : 'the token could not be verified');
    }
    const { data, error } = result;
    if (error && (error.name === 'AuthRetryableFetchError' || (error.status ?? 0) >= 500 || error.status === 0)) {
      throw new TokenServiceUnavailable(`Supabase Auth could not be reached to verify the token: ${error.message}`);
    }
    if (error || !data) throw new TokenError(error?.message ?? 'the token could not be verified');
    const claims = data.claims as TokenClaims;
    checkStandardClaims(claims, { issuer });
    return claims;
  }
}
