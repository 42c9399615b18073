/**
 * How this deployment signs people in. `local`: the embedded account store
 * (no Supabase project), which issues HS256 access tokens with the JWT secret
 * the verifier already trusts. `supabase`: Supabase Auth owns the accounts and
 * the endpoints sign in through it (src/accounts/supabase/).
 */
export type AccountsSettings =
  | {
      mode: 'local';
      jwtSecret: string;
      /** The `iss` claim: `<PUBLIC_BASE_URL or http://localhost:PORT>/auth/v1`, as Supabase names its own. */
      issuer: string;
      accessTokenTtlSeconds: number;
      refreshTokenTtlDays: number;
      /** How stale the knowledge that a session is still live may be (revocation from another instance). */
      sessionCheckSeconds: number;
    }
  | {
      mode: 'supabase';
      /** The project's URL (SUPABASE_URL), without /auth/v1. */
      url: string;
      anonKey: string;
      /** Origins an OAuth sign-in may return to (CORS_ORIGINS and PUBLIC_BASE_URL's); nothing else, or it is an open redirect. */
      redirectOrigins: readonly string[];
      /** SUPABASE_SERVICE_ROLE_KEY: an erased account is deleted from Supabase Auth too (its admin API). */
      serviceRoleKey?: string;
    };

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
export const DEFAULT_REFRESH_TOKEN_TTL_DAYS = 30;
export const DEFAULT_SESSION_CHECK_SECONDS = 5;

export function localAccounts(jwtSecret: string, issuer: string, overrides: Partial<Extract<AccountsSettings, { mode: 'local' }>> = {}): AccountsSettings {
  return {
    mode: 'local',
    jwtSecret,
    issuer,
    accessTokenTtlSeconds: DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: DEFAULT_REFRESH_TOKEN_TTL_DAYS,
    sessionCheckSeconds: DEFAULT_SESSION_CHECK_SECONDS,
    ...overrides,
  };
}

/** The origins of CORS_ORIGINS (unless it is `*`, which names none) and of PUBLIC_BASE_URL. */
export function redirectOriginsOf(corsOrigins: readonly string[] | '*', publicBaseUrl: string | undefined): string[] {
  const origins = new Set(corsOrigins === '*' ? [] : corsOrigins);
  if (publicBaseUrl) origins.add(new URL(publicBaseUrl).origin);
  return [...origins];
}
