import type { TokenClaims } from '../../auth/jwt';
import { withAccountKeeper, type Client, type KeeperDeps } from '../keeper';
import { uuidClaim } from '../rules';
import { RECORD_FAILED_SIGN_IN, RECORD_SESSION_EVENT } from '../sql';

type SessionEvent = 'user.login' | 'user.logout' | 'security.session_terminated';


/** The authentication methods of a Supabase access token's amr claim (password, totp, oauth...). */
function methodsOf(claims: TokenClaims): string[] {
  const amr = Array.isArray(claims.amr) ? claims.amr : [];
  return amr.flatMap((entry) => (entry && typeof entry === 'object' && typeof (entry as { method?: unknown }).method === 'string' ? [(entry as { method: string }).method] : []));
}

/**
 * A sign-in, sign-out or ended session of Supabase Auth in the audit log.
 * Local sessions are recorded by triggers on app.auth_sessions
 * (database/018); these live in Supabase, where no trigger of ours sees them.
 */
export async function recordSessionEvent(deps: KeeperDeps, client: Client | undefined, event: SessionEvent, claims: TokenClaims, details: Record<string, unknown> = {}): Promise<void> {
  const userId = uuidClaim(claims.sub);
  if (!userId) return;
  const [category] = event.split('.');
  const sessionId = event === 'security.session_terminated' ? null : uuidClaim(claims.session_id);
  const recorded = event === 'user.login' ? { aal: claims.aal ?? 'aal1', methods: methodsOf(claims), ...details } : details;
  await withAccountKeeper(deps, (tx) => tx.query(RECORD_SESSION_EVENT, [category, event, sessionId, recorded, userId]), client);
}

/** A failed password sign-in: recorded for the email's owner, if anyone has it. */
export async function recordFailedSignIn(deps: KeeperDeps, client: Client, email: string): Promise<void> {
  await withAccountKeeper(deps, (tx) => tx.query(RECORD_FAILED_SIGN_IN, [email]), client);
}
