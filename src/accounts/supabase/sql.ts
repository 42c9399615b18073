// Pending Supabase sign-ins (database/019), as account_keeper.

export type PendingKind = 'mfa' | 'oauth';

/** $1 token hash, $2 kind, $3 sealed payload, $4 seconds valid. Expired rows go a few at a time, on the way. */
export const INSERT_PENDING = `with purged as (
    delete from app.pending_sign_ins where token_hash in (
      select token_hash from app.pending_sign_ins where expires_at < now() order by expires_at limit 100))
  insert into app.pending_sign_ins (token_hash, kind, sealed, expires_at)
  values ($1, $2, $3, now() + make_interval(secs => $4))`;

export interface PendingRow {
  sealed: Buffer;
}

/** $1 token hash, $2 kind: a pending sign-in that has not expired. */
export const PENDING = 'select sealed from app.pending_sign_ins where token_hash = $1 and kind = $2 and expires_at > now()';

/** $1 token hash: used once. */
export const DROP_PENDING = 'delete from app.pending_sign_ins where token_hash = $1 returning token_hash';

// Supabase Auth's own sessions (database/021), as the signed-in caller.

/** FROM of the caller's live Supabase Auth sessions. */
export const MY_AUTH_SESSIONS = 'app.my_auth_sessions() s';

/** $1 session: ends one of the caller's Supabase Auth sessions; false when they have no such session. */
export const END_MY_AUTH_SESSION = 'select app.end_my_auth_session($1) as ended';
