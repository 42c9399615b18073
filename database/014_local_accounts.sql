-- Local accounts for the embedded mode (no Supabase project): password
-- credentials, sign-in sessions with rotating refresh tokens, the failed
-- sign-ins the brute-force limit counts, and TOTP two-factor authentication.
--
-- Who can reach these tables: nobody who sends SQL through a request role.
-- They live in schema app (never exposed by a Data API), and neither
-- authenticated nor service_role has any grant on them, so even a service_role
-- key in Supabase's Data API cannot read a password hash. Only account_keeper
-- may, a role without login that the API's login role switches into
-- (SET LOCAL ROLE) for the few statements of signing in; a token cannot name
-- it (the API only takes authenticated and service_role from a token).
--
-- What account_keeper may do:
--   app.password_credentials   select, insert, update          argon2id hashes, one row per user
--   app.auth_sessions          select, insert, update          a sign-in, until it is revoked
--   app.refresh_tokens         select, insert, update          sha256 of each token, rotated on use
--   app.sign_in_failures       select, insert, delete          the brute-force window (one minute)
--   app.mfa_factors            select, insert, update, delete  the TOTP secret of a user
--   app.mfa_backup_codes       select, insert, update, delete  sha256 of each backup code
--   app.mfa_challenges         select, insert, update          a password sign-in waiting for its code
--   auth.users                 select, insert                  only where 000_supabase_compat made the table;
--                                                               Supabase Auth owns its own users.

-- migrate:up

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'account_keeper') then
    create role account_keeper nologin noinherit;
  end if;
end
$$;
grant usage on schema app to account_keeper;
-- Local accounts need the auth schema 000_supabase_compat makes (on Supabase,
-- Supabase Auth owns the users, and its authenticator, PostgREST's, is given
-- nothing here). The API's login role (authenticator, 008) may switch into
-- account_keeper; other login roles get it from src/db/roles.ts (enableLogin)
-- or by hand.
do $$
begin
  if exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth' and pg_catalog.obj_description(n.oid, 'pg_namespace') = 'created by 000_supabase_compat'
  ) then
    begin
      grant account_keeper to authenticator;
    exception when insufficient_privilege then
      raise notice 'could not grant account_keeper to authenticator (%): grant it by hand', sqlerrm;
    end;
    grant usage on schema auth to account_keeper;
    grant select, insert on auth.users to account_keeper;
  end if;
end
$$;

create table app.password_credentials (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- Lower-cased by the API; one account per address.
  email text not null constraint password_credentials_email_key unique check (email = lower(email) and length(email) <= 320),
  -- PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash
  password_hash text not null check (password_hash like '$argon2id$%'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table app.auth_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  aal text not null default 'aal1' check (aal in ('aal1', 'aal2')),
  -- The authentication methods of the sign-in, as the access token's amr claim.
  amr jsonb not null default '[]'::jsonb check (jsonb_typeof(amr) = 'array'),
  ip_address text check (length(ip_address) <= 64),
  user_agent text check (length(user_agent) <= 512),
  created_at timestamptz not null default now(),
  last_active_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_reason text check (revoked_reason in ('logout', 'ended', 'refresh_token_reused'))
);
create index auth_sessions_user_live on app.auth_sessions (user_id, last_active_at desc) where revoked_at is null;

create table app.refresh_tokens (
  -- sha256 of the token: the token itself is 32 random bytes, so no salt or slow hash is needed.
  token_hash bytea primary key check (length(token_hash) = 32),
  session_id uuid not null references app.auth_sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- Set when the token is exchanged for the next one; a second exchange is a reuse.
  used_at timestamptz
);
create index refresh_tokens_session on app.refresh_tokens (session_id);

-- One row per failed (or still running) sign-in attempt, per key ('email:...'
-- and 'ip:...'); the limit counts the last minute. Shared by every instance.
create table app.sign_in_failures (
  id bigint generated always as identity primary key,
  key text not null check (length(key) <= 400),
  failed_at timestamptz not null default now()
);
create index sign_in_failures_key_time on app.sign_in_failures (key, failed_at);
create index sign_in_failures_time on app.sign_in_failures (failed_at);

create table app.mfa_factors (
  user_id uuid primary key references auth.users (id) on delete cascade,
  -- Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
  secret text not null check (secret ~ '^[A-Z2-7]{16,128}$'),
  created_at timestamptz not null default now(),
  -- Null while enrolment waits for its first code.
  confirmed_at timestamptz,
  -- The last time step a code was accepted for: a code is never accepted twice.
  last_used_step bigint not null default 0
);

create table app.mfa_backup_codes (
  user_id uuid not null references auth.users (id) on delete cascade,
  code_hash bytea not null check (length(code_hash) = 32),
  used_at timestamptz,
  primary key (user_id, code_hash)
);

create table app.mfa_challenges (
  token_hash bytea primary key check (length(token_hash) = 32),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index mfa_challenges_user on app.mfa_challenges (user_id);

revoke all on app.password_credentials, app.auth_sessions, app.refresh_tokens, app.sign_in_failures,
  app.mfa_factors, app.mfa_backup_codes, app.mfa_challenges from public;
grant select, insert, update on app.password_credentials, app.auth_sessions, app.refresh_tokens, app.mfa_challenges to account_keeper;
grant select, insert, delete on app.sign_in_failures to account_keeper;
grant select, insert, update, delete on app.mfa_factors, app.mfa_backup_codes to account_keeper;

-- migrate:down

drop table app.mfa_challenges;
drop table app.mfa_backup_codes;
drop table app.mfa_factors;
drop table app.sign_in_failures;
drop table app.refresh_tokens;
drop table app.auth_sessions;
drop table app.password_credentials;
do $$
begin
  if has_schema_privilege('account_keeper', 'auth', 'usage') and to_regclass('auth.users') is not null then
    revoke select, insert on auth.users from account_keeper;
    revoke usage on schema auth from account_keeper;
  end if;
exception when insufficient_privilege then
  raise notice 'auth grants of account_keeper left as they are';
end
$$;
revoke usage on schema app from account_keeper;
-- The role is cluster-wide and may serve other databases: it stays, as 000's roles do.
