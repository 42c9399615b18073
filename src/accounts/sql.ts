import { registerUniqueConstraints } from '../db/errors';

registerUniqueConstraints({
  password_credentials_email_key: { detail: 'An account with this email address already exists.', field: '/body/email', code: 'unique', problemCode: 'email_taken' },
});

// ---- signing in (as account_keeper) ----

export interface AccountRow {
  user_id: string;
  email: string;
  password_hash: string;
  raw_user_meta_data: Record<string, unknown>;
  raw_app_meta_data: Record<string, unknown>;
  mfa_enabled: boolean;
}

const ACCOUNT_COLUMNS = `c.user_id, c.email, c.password_hash, u.raw_user_meta_data, u.raw_app_meta_data,
  exists (select 1 from app.mfa_factors f where f.user_id = c.user_id and f.confirmed_at is not null) as mfa_enabled`;

/** $1 email (lower-cased). */
export const ACCOUNT_BY_EMAIL = `select ${ACCOUNT_COLUMNS}
  from app.password_credentials c join auth.users u on u.id = c.user_id where c.email = $1`;

/** $1 user. */
export const ACCOUNT_BY_USER = `select ${ACCOUNT_COLUMNS}
  from app.password_credentials c join auth.users u on u.id = c.user_id where c.user_id = $1`;

/** $1 keys: one transaction at a time counts and reserves a key's attempts (in one order, so two never wait on each other). */
export const LOCK_FAILURE_KEYS = `select pg_advisory_xact_lock(hashtextextended(k, 14))
  from (select k from unnest($1::text[]) k order by k) keys`;

export interface FailureCountRow {
  key: string;
  failures: number;
  oldest_ms: number;
}

/** $1 keys, $2 window in seconds. */
export const RECENT_FAILURES = `select key, count(*)::int as failures, (extract(epoch from min(failed_at)) * 1000)::float8 as oldest_ms
  from app.sign_in_failures where key = any($1::text[]) and failed_at > now() - make_interval(secs => $2)
  group by key`;

/** $1 keys: an attempt counts as failed from its start, until it succeeds. */
export const RESERVE_ATTEMPT = 'insert into app.sign_in_failures (key) select unnest($1::text[]) returning id';

/** $1 ids. */
export const RELEASE_ATTEMPT = 'delete from app.sign_in_failures where id = any($1::bigint[])';

/** Old rows go a few at a time, on the way. */
export const PURGE_OLD_FAILURES = `delete from app.sign_in_failures where id in (
  select id from app.sign_in_failures where failed_at < now() - interval '10 minutes' order by failed_at limit 100)`;

/** $1 email (lower-cased): any user with it, with or without a password (a token's first request provisions one). */
export const EMAIL_IN_USE = 'select exists (select 1 from auth.users u where lower(u.email) = $1) as taken';

/** $1 email, $2 user metadata, $3 app metadata. */
export const INSERT_USER = `insert into auth.users (id, email, raw_user_meta_data, raw_app_meta_data)
  values (gen_random_uuid(), $1, $2, $3) returning id`;

/** $1 user, $2 email, $3 hash. */
export const INSERT_CREDENTIAL = 'insert into app.password_credentials (user_id, email, password_hash) values ($1, $2, $3)';

/** $1 user, $2 aal, $3 amr, $4 ip, $5 user agent. */
export const INSERT_SESSION = `insert into app.auth_sessions (user_id, aal, amr, ip_address, user_agent)
  values ($1, $2, $3, $4, $5) returning id`;

/** $1 token hash, $2 session, $3 days valid. */
export const INSERT_REFRESH_TOKEN = `insert into app.refresh_tokens (token_hash, session_id, expires_at)
  values ($1, $2, now() + make_interval(days => $3))`;

export interface RefreshRow {
  session_id: string;
  used: boolean;
  expired: boolean;
  revoked: boolean;
  user_id: string;
  aal: 'aal1' | 'aal2';
  amr: Array<{ method: string; timestamp: number }>;
  email: string;
  raw_user_meta_data: Record<string, unknown>;
  raw_app_meta_data: Record<string, unknown>;
}

/** $1 token hash: locked, so that two exchanges of one token are one rotation and one reuse. */
export const REFRESH_TOKEN = `select t.session_id, t.used_at is not null as used, t.expires_at < now() as expired,
    s.revoked_at is not null as revoked, s.user_id, s.aal, s.amr, c.email, u.raw_user_meta_data, u.raw_app_meta_data
  from app.refresh_tokens t
  join app.auth_sessions s on s.id = t.session_id
  join app.password_credentials c on c.user_id = s.user_id
  join auth.users u on u.id = s.user_id
  where t.token_hash = $1
  for update of t, s`;

/** $1 token hash. */
export const USE_REFRESH_TOKEN = 'update app.refresh_tokens set used_at = now() where token_hash = $1';

/** $1 session, $2 ip, $3 user agent. */
export const TOUCH_SESSION = 'update app.auth_sessions set last_active_at = now(), ip_address = $2, user_agent = $3 where id = $1';

/**
 * $1 session, $2 reason. Every refresh token of the session dies with it: an
 * exchange looks at the session first.
 */
export const REVOKE_SESSION = `update app.auth_sessions set revoked_at = now(), revoked_reason = $2
  where id = $1 and revoked_at is null`;

/** $1 session, $2 user, $3 reason: one of the user's own sessions, or nothing. */
export const END_OWN_SESSION = `update app.auth_sessions set revoked_at = now(), revoked_reason = $3
  where id = $1 and user_id = $2 and revoked_at is null returning id`;

/** $1 user, $2 the session to keep (null: none). */
export const END_OTHER_SESSIONS = `update app.auth_sessions set revoked_at = now(), revoked_reason = 'ended'
  where user_id = $1 and revoked_at is null and id is distinct from $2 returning id`;

/** $1 session. */
export const SESSION_LIVE = 'select revoked_at is null as live from app.auth_sessions where id = $1';

export interface SessionRow {
  id: string;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
  last_active_at: string;
}

/** FROM and WHERE of a user's live sessions: $1 user, $2 days a session lives without a refresh. */
export const LIVE_SESSIONS_OF_USER = `app.auth_sessions s
  where s.user_id = $1 and s.revoked_at is null and s.last_active_at > now() - make_interval(days => $2)`;

// ---- two-factor (as account_keeper) ----

export interface FactorRow {
  secret: string;
  confirmed_at: string | null;
  last_used_step: number;
  backup_codes_left: number;
}

/** $1 user. */
export const FACTOR_OF_USER = `select f.secret, f.confirmed_at, f.last_used_step,
    (select count(*)::int from app.mfa_backup_codes b where b.user_id = f.user_id and b.used_at is null) as backup_codes_left
  from app.mfa_factors f where f.user_id = $1 for update`;

/** $1 user, $2 secret: a new secret, unless one is confirmed (no row then). */
export const START_ENROLMENT = `insert into app.mfa_factors (user_id, secret) values ($1, $2)
  on conflict (user_id) do update set secret = excluded.secret, created_at = now(), last_used_step = 0
  where app.mfa_factors.confirmed_at is null
  returning user_id`;

/** $1 user, $2 step of the first code. */
export const CONFIRM_FACTOR = `update app.mfa_factors set confirmed_at = now(), last_used_step = $2
  where user_id = $1 and confirmed_at is null returning confirmed_at`;

/** $1 user, $2 step: a later step only, so one code is never accepted twice. */
export const USE_TOTP_STEP = 'update app.mfa_factors set last_used_step = $2 where user_id = $1 and last_used_step < $2 returning user_id';

/** $1 user. */
export const DROP_BACKUP_CODES = 'delete from app.mfa_backup_codes where user_id = $1';

/** $1 user, $2 code hashes. */
export const INSERT_BACKUP_CODES = 'insert into app.mfa_backup_codes (user_id, code_hash) select $1, unnest($2::bytea[])';

/** $1 user, $2 code hash. */
export const USE_BACKUP_CODE = `update app.mfa_backup_codes set used_at = now()
  where user_id = $1 and code_hash = $2 and used_at is null returning user_id`;

/** $1 user. */
export const DROP_FACTOR = 'delete from app.mfa_factors where user_id = $1';

/** $1 token hash, $2 user, $3 seconds valid. */
export const INSERT_CHALLENGE = `insert into app.mfa_challenges (token_hash, user_id, expires_at)
  values ($1, $2, now() + make_interval(secs => $3))`;

export interface ChallengeRow {
  user_id: string;
  usable: boolean;
}

/** $1 token hash. */
export const CHALLENGE = `select c.user_id, (c.used_at is null and c.expires_at > now()) as usable
  from app.mfa_challenges c where c.token_hash = $1 for update`;

/** $1 token hash. */
export const USE_CHALLENGE = 'update app.mfa_challenges set used_at = now() where token_hash = $1';

// ---- as the user (request transaction) ----

export interface ProfileNameRow {
  full_name: string | null;
  created_at: string;
}

/** $1 user. */
export const PROFILE_NAME = 'select full_name, created_at from public.profiles where id = $1';

/** $1 user, $2 full name: set at sign-up, never over a name the user chose. */
export const SET_PROFILE_NAME = 'update public.profiles set full_name = $2 where id = $1 and full_name is null';

/**
 * $1 the email tried: a failed sign-in in the audit log of each organization
 * its owner is an active member of, nothing when nobody has that email
 * (database/020_audit_supabase_sign_ins.sql). The same work either way.
 */
export const RECORD_FAILED_SIGN_IN = "select app.record_failed_sign_in($1, 'invalid_credentials')";

/**
 * $1 category, $2 event type, $3 session id (null: none), $4 details, $5 the
 * user: a sign-in event the database cannot see itself (Supabase Auth's
 * sessions live in Supabase), for each organization the user is an active
 * member of.
 */
export const RECORD_SESSION_EVENT = `select app.record_audit_event($1::public.audit_event_category, $2, 'session', $3::uuid, null, $4::jsonb, null, $5::uuid)`;

/** $1 LIKE pattern of the current sealing key: a batch of TOTP secrets stored otherwise (plain, or under an older key). */
export const FACTORS_TO_RESEAL = `select user_id, secret from app.mfa_factors
  where secret not like $1 order by user_id limit 200 for update skip locked`;

/** $1 user, $2 the secret as read, $3 the same secret sealed under the current key. */
export const RESEAL_FACTOR = 'update app.mfa_factors set secret = $3 where user_id = $1 and secret = $2';
