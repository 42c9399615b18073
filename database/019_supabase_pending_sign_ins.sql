-- migrate:up

-- Sign-ins through Supabase Auth that span two requests: a password sign-in
-- waiting for its second factor (the aal1 session it will upgrade) and an
-- OAuth sign-in waiting for the provider (its PKCE code verifier). Kept in the
-- database so that any instance can finish what another started.
--
-- The client holds a random 256-bit token; a row is found by its sha256 and
-- its payload is sealed (AES-256-GCM) with a key derived from the token
-- itself, so a reader of this table learns neither the session nor the
-- verifier. Only account_keeper touches it, like the tables of 014.
create table app.pending_sign_ins (
  token_hash bytea primary key check (length(token_hash) = 32),
  kind text not null check (kind in ('mfa', 'oauth')),
  sealed bytea not null check (length(sealed) between 29 and 65536),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index pending_sign_ins_expiry on app.pending_sign_ins (expires_at);

revoke all on app.pending_sign_ins from public;
grant select, insert, delete on app.pending_sign_ins to account_keeper;

-- migrate:down

drop table app.pending_sign_ins;
