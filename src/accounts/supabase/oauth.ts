import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { invalidOAuthCode, invalidOAuthState } from '../problems';
import { newSecret } from '../tokens';
import { newFlow, problemOf, VERIFIER_KEY } from './client';
import { allowedRedirect } from './redirects';
import { call, keepPendingSignIn, readPendingSignIn, signedInAs, usePendingSignIn, type SupabaseDeps } from './operations';
import type { Client } from '../keeper';
import type { AuthSession } from '../operations';

export type OAuthProvider = 'github' | 'google';
export const OAUTH_STATE_TTL_SECONDS = 600;

interface OAuthPending {
  verifier: string;
  provider: OAuthProvider;
  redirectTo: string;
}

export async function startOAuth(deps: SupabaseDeps, provider: OAuthProvider, redirectTo: string): Promise<{ url: string; state: string }> {
  const target = allowedRedirect(deps.settings, redirectTo);
  if (!target) {
    throw problems.validation('redirectTo must be a URL on one of this API\'s allowed origins (CORS_ORIGINS or PUBLIC_BASE_URL).', [
      { path: '/query/redirectTo', message: 'is not on an allowed origin' },
    ]);
  }
  const flow = newFlow(deps.settings, 'pkce');
  const { data, error } = await call(() => flow.auth.signInWithOAuth({ provider, options: { redirectTo: target, skipBrowserRedirect: true } }));
  const verifier = flow.storage.get(VERIFIER_KEY);
  if (error || !data.url || !verifier) throw problemOf(error ?? Object.assign(new Error('no URL or verifier'), { status: 500 }) as never, flow, () => problems.unavailable('Supabase Auth could not start this sign-in.'));
  const state = newSecret('oa');
  await keepPendingSignIn(deps, 'oauth', state, { verifier, provider, redirectTo: target } satisfies OAuthPending, OAUTH_STATE_TTL_SECONDS);
  return { url: data.url, state };
}

export async function finishOAuth(deps: SupabaseDeps, body: RequestBody<'finishOAuth'>, client: Client): Promise<AuthSession> {
  const pending = await readPendingSignIn<OAuthPending>(deps, 'oauth', body.state);
  if (!pending) throw invalidOAuthState();
  const flow = newFlow(deps.settings, 'pkce', { [VERIFIER_KEY]: pending.verifier });
  const { data, error } = await call(() => flow.auth.exchangeCodeForSession(body.code));
  if (error || !data.session) throw error ? problemOf(error, flow, invalidOAuthCode) : invalidOAuthCode();
  if (!(await usePendingSignIn(deps, body.state, client))) throw invalidOAuthState();
  return signedInAs(deps, data.session, client, { provider: pending.provider });
}
