import type { Identity } from '../../auth/caller';
import { problems } from '../../problems';
import { notImplemented } from '../problems';
import type { Client } from '../keeper';
import { recordSessionEvent } from './audit';
import { newFlow, problemOf, unexpected } from './client';
import { requireSessionUser, type SupabaseDeps } from './operations';

/** The caller's own Supabase session, or nothing to end (a minted token without one). */
async function signOutOf(deps: SupabaseDeps, identity: Identity, accessToken: string, scope: 'local' | 'others'): Promise<void> {
  requireSessionUser(identity);
  if (typeof identity.claims.session_id !== 'string') return;
  const flow = newFlow(deps.settings);
  let error;
  try {
    ({ error } = await flow.auth.admin.signOut(accessToken, scope));
  } catch (thrown) {
    throw unexpected(thrown);
  }
  // 401/403/404: Supabase has no such session any more, which is what was asked.
  if (error && ![401, 403, 404].includes(error.status ?? 0)) throw problemOf(error, flow, () => problems.unavailable(`Supabase Auth did not sign out: ${error.message}`));
}

export async function signOut(deps: SupabaseDeps, identity: Identity, accessToken: string, client: Client): Promise<void> {
  await signOutOf(deps, identity, accessToken, 'local');
  await recordSessionEvent(deps, client, 'user.logout', identity.claims);
}

/** Supabase's sign-out of scope `others`; it does not say how many sessions that ended. */
export async function endOtherSessions(deps: SupabaseDeps, identity: Identity, accessToken: string, client: Client): Promise<{ endedCount: number }> {
  await signOutOf(deps, identity, accessToken, 'others');
  await recordSessionEvent(deps, client, 'security.session_terminated', identity.claims, { reason: 'ended', scope: 'others' });
  return { endedCount: 0 };
}

export function sessionsNotListed(): never {
  throw notImplemented(
    'Supabase Auth does not show a user their sessions, so this server cannot list them or end one of them; end all the others with DELETE /api/v1/auth/sessions.',
  );
}
