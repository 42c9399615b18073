import { AuthClient, type AuthError } from '@supabase/supabase-js';
import { Problem, problems } from '../../problems';
import type { AccountsSettings } from '../settings';

export type SupabaseSettings = Extract<AccountsSettings, { mode: 'supabase' }>;
export type GoTrue = InstanceType<typeof AuthClient>;

/** Where a flow's supabase-js keeps its session and PKCE verifier. */
export const STORAGE_KEY = 'api.auth';
export const VERIFIER_KEY = `${STORAGE_KEY}-code-verifier`;

export interface Flow {
  auth: GoTrue;
  /** What supabase-js stored during the flow (a session, a code verifier); it lives and dies with the flow. */
  storage: Map<string, string>;
  /** Supabase Auth's Retry-After of its last 429, to pass on. */
  retryAfter(): string | undefined;
}

/**
 * One supabase-js Auth client per request or sign-in step, never shared: each
 * acts for one user, with a storage of its own (a Map), so nothing of one
 * person's session can reach another's request. AuthClient rather than
 * createClient(), which would also build a Realtime client that throws on
 * Node 20. No refresh timers, nothing read from URLs.
 */
export function newFlow(settings: SupabaseSettings, flowType: 'implicit' | 'pkce' = 'implicit', stored: Record<string, string> = {}): Flow {
  const storage = new Map(Object.entries(stored));
  let retryAfter: string | undefined;
  const recordingFetch: typeof fetch = async (input, init) => {
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch {
      // Unreachable: answered as a 503 of Supabase's, which supabase-js takes as retryable without
      // printing the network error to the console on every request of an outage.
      return new Response(JSON.stringify({ code: 503, error_code: 'unreachable', msg: 'Supabase Auth could not be reached' }), {
        status: 503,
        headers: { 'Content-Type': 'application/json' },
      });
    }
    if (response.status === 429) retryAfter = response.headers.get('retry-after') ?? undefined;
    return response;
  };
  const auth = new AuthClient({
    url: `${settings.url}/auth/v1`,
    headers: { apikey: settings.anonKey, Authorization: `Bearer ${settings.anonKey}` },
    storageKey: STORAGE_KEY,
    // "Persisted" only into this flow's own Map: a PKCE verifier must be readable between two calls.
    persistSession: true,
    storage: {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
      removeItem: (key: string) => void storage.delete(key),
    },
    autoRefreshToken: false,
    detectSessionInUrl: false,
    flowType,
    fetch: recordingFetch,
  });
  return { auth, storage, retryAfter: () => retryAfter };
}

/** The caller's session as supabase-js keeps one, so its MFA calls act with the caller's access token. */
export function flowAs(settings: SupabaseSettings, session: { access_token: string; refresh_token?: string; expires_at: number; user?: unknown }): Flow {
  const stored = { token_type: 'bearer', refresh_token: '', expires_in: Math.max(0, session.expires_at - Math.floor(Date.now() / 1000)), user: null, ...session };
  return newFlow(settings, 'implicit', { [STORAGE_KEY]: JSON.stringify(stored) });
}

/** Supabase Auth could not be reached, or failed (5xx); a problem of ours, not of the request. */
export function isUnavailable(error: AuthError): boolean {
  const status = error.status ?? 0;
  return error.name === 'AuthRetryableFetchError' || status === 0 || status >= 500;
}

/**
 * The problem an error of Supabase Auth becomes when no more exact one
 * applies: unreachable or failing is 503, its rate limit 429 with its
 * Retry-After; anything else is `fallback`.
 */
export function problemOf(error: AuthError, flow: Flow, fallback: () => Problem): Problem {
  if (isUnavailable(error)) return problems.unavailable('Supabase Auth cannot be reached right now; try again shortly.');
  if (error.status === 429) {
    return new Problem(429, 'rate-limited', `Supabase Auth is limiting requests: ${error.message}`, undefined, { 'Retry-After': flow.retryAfter() ?? '60' });
  }
  return fallback();
}

/** A thrown error of supabase-js that is not an AuthError (a bug, or a network failure it did not wrap). */
export function unexpected(error: unknown): Problem {
  if (error instanceof Problem) return error;
  return problems.unavailable(`Supabase Auth answered in a way this server does not understand: ${error instanceof Error ? error.message : String(error)}`);
}
