-- Makes a plain PostgreSQL look like a Supabase project where this schema needs it:
-- the API roles, the auth schema with its claim helpers and a minimal users table.
-- On a real Supabase project every object below already exists, and each step is a no-op.

-- migrate:up

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    -- As on Supabase: trusted back-office callers skip row level security.
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- The session user (the one migrations and the API connect as) must be able to
-- switch into the request roles with SET LOCAL ROLE.
do $$
begin
  execute format('grant anon, authenticated, service_role to %I', session_user);
exception when others then
  -- On Supabase the connecting role already holds these; a refusal there is harmless.
  raise notice 'could not grant API roles to %: %', session_user, sqlerrm;
end
$$;

do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'auth') then
    create schema auth;
    -- Remembered so that the down section removes only what this migration made.
    comment on schema auth is 'created by 000_supabase_compat';
  end if;
end
$$;

do $$
begin
  grant usage on schema auth to anon, authenticated, service_role;
exception when insufficient_privilege then
  raise notice 'schema auth is managed by its owner (Supabase); usage grants left as they are';
end
$$;

-- Checked first rather than CREATE TABLE IF NOT EXISTS: on Supabase the
-- migrating role may not create objects in schema auth at all, and IF NOT
-- EXISTS still asks for that privilege.
do $$
begin
  if to_regclass('auth.users') is null then
    create table auth.users (
      id uuid primary key,
      email text,
      raw_user_meta_data jsonb not null default '{}'::jsonb,
      raw_app_meta_data jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
  end if;
end
$$;

-- The claim helpers read the request's claims the way PostgREST sets them
-- (request.jwt.claims, with the older per-claim settings as a fallback).
do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $fn$;
  end if;
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $fn$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
      $fn$;
  end if;
  if to_regprocedure('auth.email()') is null then
    create function auth.email() returns text
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim.email', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
        )::text
      $fn$;
  end if;
end
$$;

do $$
begin
  grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email() to anon, authenticated, service_role;
exception when insufficient_privilege then
  raise notice 'auth functions are managed by their owner (Supabase); grants left as they are';
end
$$;

-- migrate:down

-- Only a schema this migration created is removed; Supabase's own auth schema
-- is never touched. Roles are cluster-wide and may serve other databases, so
-- they stay.
do $$
begin
  if exists (
    select 1 from pg_namespace
    where nspname = 'auth'
      and obj_description(oid, 'pg_namespace') = 'created by 000_supabase_compat'
  ) then
    drop schema auth cascade;
  end if;
end
$$;
