import { TokenError, TokenServiceUnavailable } from '../auth/jwt';
import type { TokenVerifier } from '../auth/verifier';
import { withAccountKeeper, type KeeperDeps } from './keeper';
import { uuidClaim } from './rules';
import { SESSION_LIVE } from './sql';

/** Sessions remembered at most; the oldest is forgotten first. */
const REMEMBERED_SESSIONS = 10_000;

export interface SessionLiveness {
  /** Whether the session has not ended, known at most `checkSeconds` ago (an ended session never comes back). */
  isLive(sessionId: string): Promise<boolean>;
  /** This process ended the session: its access tokens stop at once here. */
  ended(sessionId: string): void;
}

/**
 * Access tokens of an ended session (logout, ended from the sessions screen, a
 * reused refresh token) stop working before they expire: each request asks
 * whether its session is live, answered from memory and refreshed from the
 * database at most every `checkSeconds` per session, so another instance's
 * revocation takes effect within that time, and this instance's at once.
 */
export function sessionLiveness(deps: KeeperDeps, checkSeconds: number): SessionLiveness {
  const known = new Map<string, { live: boolean; checkedAt: number }>();
  const remember = (sessionId: string, live: boolean) => {
    known.delete(sessionId);
    if (known.size >= REMEMBERED_SESSIONS) known.delete(known.keys().next().value!);
    known.set(sessionId, { live, checkedAt: Date.now() });
  };
  return {
    async isLive(sessionId) {
      const entry = known.get(sessionId);
      if (entry && (!entry.live || Date.now() - entry.checkedAt < checkSeconds * 1000)) return entry.live;
      const row = await withAccountKeeper(deps, (tx) => tx.query<{ live: boolean }>(SESSION_LIVE, [sessionId]));
      const live = row.rows[0]?.live === true;
      remember(sessionId, live);
      return live;
    },
    ended(sessionId) {
      remember(sessionId, false);
    },
  };
}

/** The verifier, refusing tokens whose session (the `session_id` claim of our own tokens) has ended. */
export function refusingEndedSessions(verify: TokenVerifier, liveness: SessionLiveness): TokenVerifier {
  return async (token) => {
    const claims = await verify(token);
    const sessionId = uuidClaim(claims.session_id);
    if (!sessionId) return claims;
    let live: boolean;
    try {
      live = await liveness.isLive(sessionId);
    } catch {
      throw new TokenServiceUnavailable('The database could not be asked whether this session is still signed in.');
    }
    if (!live) throw new TokenError('the session of this token has ended (signed out); sign in again');
    return claims;
  };
}
