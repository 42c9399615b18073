-- migrate:up

-- The sessions screen when people sign in through Supabase Auth. GoTrue keeps
-- each session in auth.sessions (with the user agent and address it saw) but
-- offers users no way to list theirs; these two functions read and end the
-- caller's own, and nobody else's.
--
-- Where the auth schema is ours (000_supabase_compat: embedded mode, a plain
-- PostgreSQL) there is no GoTrue and no auth.sessions: a table of the same
-- shape is made, so the same functions exist everywhere (nothing writes it
-- unless a Supabase Auth server is pointed at this database).
do $$
begin
  if to_regclass('auth.sessions') is null and exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth' and pg_catalog.obj_description(n.oid, 'pg_namespace') = 'created by 000_supabase_compat'
  ) then
    create table auth.sessions (
      id uuid primary key,
      user_id uuid not null references auth.users (id) on delete cascade,
      created_at timestamptz,
      updated_at timestamptz,
      factor_id uuid,
      aal text,
      not_after timestamptz,
      refreshed_at timestamp,
      user_agent text,
      ip inet,
      tag text
    );
    create index sessions_user_id_idx on auth.sessions (user_id);
    comment on table auth.sessions is 'created by 021_supabase_auth_sessions';
  end if;
end
$$;

-- Whether this database lets us read (and delete) Supabase's sessions: on a
-- Supabase project the migration owner normally may; where it may not, the
-- functions say so (0A000, which the API answers as 501) instead of failing.
create function app.auth_sessions_reachable(p_privilege text) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select to_regclass('auth.sessions') is not null
      and pg_catalog.has_table_privilege('auth.sessions', p_privilege)
  $$;

-- The caller's live sessions: created, last refreshed, user agent, address.
create function app.my_auth_sessions()
  returns table (id uuid, user_agent text, ip_address text, created_at timestamptz, last_active_at timestamptz)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  if not app.auth_sessions_reachable('select') then
    raise exception 'this database does not let the API read Supabase Auth sessions' using errcode = '0A000';
  end if;
  return query
    select s.id, s.user_agent, host(s.ip), s.created_at, greatest(s.created_at, s.updated_at, s.refreshed_at at time zone 'utc')
    from auth.sessions s
    where s.user_id = (select auth.uid()) and (s.not_after is null or s.not_after > now());
end
$$;

-- Ends one of the caller's sessions (GoTrue's refresh tokens of it go with
-- it, by their foreign key); false when the caller has no such session.
create function app.end_my_auth_session(p_session uuid) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_ended integer;
begin
  if not app.auth_sessions_reachable('delete') then
    raise exception 'this database does not let the API end Supabase Auth sessions' using errcode = '0A000';
  end if;
  delete from auth.sessions s where s.id = p_session and s.user_id = (select auth.uid());
  get diagnostics v_ended = row_count;
  if v_ended > 0 then
    -- In the audit log of the caller's organizations, in this transaction (as 018 does for local sessions).
    perform app.record_audit_event('security', 'security.session_terminated', 'session', p_session, null,
      '{"reason": "ended"}'::jsonb, null, (select auth.uid()));
  end if;
  return v_ended > 0;
end
$$;

revoke execute on function app.auth_sessions_reachable(text), app.my_auth_sessions(), app.end_my_auth_session(uuid) from public;
grant execute on function app.my_auth_sessions(), app.end_my_auth_session(uuid) to authenticated, service_role;

-- migrate:down

drop function app.end_my_auth_session(uuid);
drop function app.my_auth_sessions();
drop function app.auth_sessions_reachable(text);
do $$
begin
  if pg_catalog.obj_description(to_regclass('auth.sessions'), 'pg_class') = 'created by 021_supabase_auth_sessions' then
    drop table auth.sessions;
  end if;
end
$$;
