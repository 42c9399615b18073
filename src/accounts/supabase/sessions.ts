import type { Identity } from '../../auth/caller';
import { registerSqlState } from '../../db/errors';
import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import type { Client } from '../keeper';
import { accountHolder, sessionOf, userSessionOf, type UserSession } from '../operations';
import { notImplemented } from '../problems';
import type { SessionRow } from '../sql';
import { recordSessionEvent } from './audit';
import { newFlow, problemOf, unexpected } from './client';
import type { SupabaseDeps } from './operations';
import { END_MY_AUTH_SESSION, MY_AUTH_SESSIONS } from './sql';

/** The caller's own Supabase session, or nothing to end (a minted token without one). */
async function signOutOf(deps: SupabaseDeps, identity: Identity, accessToken: string, scope: 'local' | 'others'): Promise<void> {
  accountHolder(identity);
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

// A database whose owner may not read or end Supabase Auth's sessions
// (database/021) says so with 0A000: the feature is not available there.
registerSqlState('0A000', (error) => notImplemented(`${error.message}.`));

/** The caller's Supabase Auth sessions, newest activity first, read under their own identity. */
export function listSessions(tx: RequestTransaction, query: RequestQuery<'listSessions'>): Promise<Page<UserSession>> {
  accountHolder(tx.identity);
  const current = sessionOf(tx.identity);
  return paginate<SessionRow, UserSession>(
    tx,
    {
      select: 's.id, s.ip_address, s.user_agent, s.created_at, s.last_active_at',
      fromWhere: MY_AUTH_SESSIONS,
      params: [],
      orderBy: 's.last_active_at desc nulls last, s.id',
      page: pageRequest(query),
    },
    (row) => userSessionOf(row, current),
  );
}

/** Ends one of the caller's Supabase Auth sessions; another's, or none, is a 404. */
export async function endSession(tx: RequestTransaction, sessionId: string): Promise<void> {
  accountHolder(tx.identity);
  const { rows } = await tx.query<{ ended: boolean }>(END_MY_AUTH_SESSION, [sessionId]);
  if (!rows[0]?.ended) throw problems.notFound('You have no such session, or it has already ended.');
}
