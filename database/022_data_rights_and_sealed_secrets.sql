-- Data rights and secrets at rest.
--
-- Export (GET /me/export): most of what we hold about a person is readable to
-- them under row level security, organization by organization. What is not
-- (their sessions, the audit entries about them, their analytics events, the
-- API keys they made where they are no longer an admin, their account's
-- sign-in settings) comes from the app.export_my_* functions below: each is
-- SECURITY DEFINER, scoped to auth.uid(), refused to API keys, and granted to
-- authenticated only.
--
-- Erasure (POST /me/erase): app.erase_current_user(confirm email) in the caller's transaction.
-- The rule for an organization the person is the only owner of:
--   1. handed over to the longest-standing active admin, else to the
--      longest-standing active member, else to the longest-standing inactive
--      member (reactivated, since an owner is always active);
--   2. with nobody left: deleted with all its data, unless it has invoices,
--      which the law keeps: then everything but its billing records
--      (invoices, their lines, billing details, the subscription, cancelled)
--      and its audit log is deleted, and the organization stays, memberless.
-- Billing records keep their amounts; only the fields that name the person
-- (an email or name equal to theirs) are replaced. Audit entries keep the
-- fact (organization, event, target type, time) and lose the identity: actor,
-- address, user agent, session, and any mention of their id, email or name.
-- Then the profile goes, and with it (foreign keys) memberships, project
-- memberships, stars, ratings, analytics events, saved filters and API keys;
-- projects, skills, habits, reflexes and executions they made stay with their
-- organization, without their creator. Where the auth schema is ours (local
-- accounts) the auth.users row goes too, taking password, sessions, refresh
-- tokens and two-factor with it; with Supabase Auth the API deletes the user
-- through Supabase's admin API when it has the service role key.
-- app.erased_accounts remembers the erased ids (an id, no more), so a token
-- issued before the erasure cannot provision the account again.
--
-- Secrets at rest: webhook secrets and TOTP secrets must be recoverable (an
-- HMAC or a code is computed from them), so the API stores them sealed with
-- AES-256-GCM under a key from its environment: 'enc:v1:<key id>:<base64url>'.
-- Rows written before this migration hold the plain secret; the API reads
-- both and seals the plain ones (and those under a retired key) on start.

-- migrate:up

-- ---------------------------------------------------------------------------
-- Sealed secrets
-- ---------------------------------------------------------------------------

alter table public.reflex_secrets drop constraint reflex_secrets_secret_check;
alter table public.reflex_secrets add constraint reflex_secrets_secret_check
  check (secret ~ '^whsec_[A-Za-z0-9_-]{43}$' or (secret ~ '^enc:v1:[0-9a-f]{8}:[A-Za-z0-9_-]{40,}$' and char_length(secret) <= 400));

alter table app.mfa_factors drop constraint mfa_factors_secret_check;
alter table app.mfa_factors add constraint mfa_factors_secret_check
  check (secret ~ '^[A-Z2-7]{16,128}$' or (secret ~ '^enc:v1:[0-9a-f]{8}:[A-Za-z0-9_-]{40,}$' and char_length(secret) <= 400));

-- Sealing a secret again under the current key (rotation) rewrites the column
-- but is no new secret: only a regeneration, which always stamps created_at,
-- is recorded.
create or replace function app.audit_reflex_secret() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_skill_name text;
begin
  if new.secret is distinct from old.secret and new.created_at is distinct from old.created_at then
    select s.name into v_skill_name from public.reflexes r join public.skills s on s.id = r.skill_id where r.id = new.reflex_id;
    perform app.write_audit_entry(new.organization_id, 'security.reflex_secret_regenerated', 'reflex', new.reflex_id,
      v_skill_name, '{}', '{}');
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------
-- Erased accounts
-- ---------------------------------------------------------------------------

create table app.erased_accounts (
  user_id uuid primary key,
  erased_at timestamptz not null default now()
);
alter table app.erased_accounts enable row level security;
alter table app.erased_accounts force row level security;
revoke all on app.erased_accounts from public;

-- As in 001, and an erased account is never provisioned again (28000: a 401).
create or replace function app.provision_current_user() returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_email text := lower(auth.email());
  v_org uuid;
  v_handle text;
begin
  if v_user is null or v_email is null then
    raise exception 'a token with sub and email is needed' using errcode = '42501';
  end if;
  if exists (select 1 from app.erased_accounts e where e.user_id = v_user) then
    raise exception 'the account of this token has been erased' using errcode = '28000';
  end if;
  if exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth' and pg_catalog.obj_description(n.oid, 'pg_namespace') = 'created by 000_supabase_compat'
  ) then
    insert into auth.users (id, email) values (v_user, v_email) on conflict (id) do nothing;
  elsif not exists (select 1 from auth.users u where u.id = v_user) then
    raise exception 'the account of this token no longer exists' using errcode = '28000';
  end if;
  insert into public.profiles (id, email) values (v_user, v_email) on conflict do nothing;
  if not found then
    return;
  end if;
  v_handle := left(split_part(v_email, '@', 1), 80);
  insert into public.organizations (name, is_personal, created_by)
    values (v_handle || '''s workspace', true, v_user)
    returning id into v_org;
  insert into public.organization_members (organization_id, user_id, role) values (v_org, v_user, 'owner');
  update public.profiles set default_organization_id = v_org where id = v_user;
end
$$;

-- ---------------------------------------------------------------------------
-- The audit log: anonymizing, the one change an entry allows
-- ---------------------------------------------------------------------------

-- As in 017, plus one kind of UPDATE: during an erasure (app.erasing set by
-- app.erase_current_user, the only writer: no request role has UPDATE), an
-- entry may lose identity fields, never its facts.
create or replace function app.guard_audit_log() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_plan public.plan_tier;
begin
  if tg_op = 'UPDATE' then
    if coalesce(current_setting('app.erasing', true), '') = 'on'
       and new.id = old.id and new.organization_id = old.organization_id
       and new.actor_role is not distinct from old.actor_role and new.category = old.category
       and new.event_type = old.event_type and new.target_type = old.target_type and new.created_at = old.created_at
       and (new.actor_user_id is null or new.actor_user_id = old.actor_user_id)
       and (new.actor_email is null or new.actor_email = old.actor_email)
       and (new.target_id is null or new.target_id = old.target_id)
       and (new.ip_address is null or new.ip_address = old.ip_address)
       and (new.user_agent is null or new.user_agent = old.user_agent)
       and (new.session_id is null or new.session_id = old.session_id) then
      return new;
    end if;
    raise exception 'audit log entries cannot be changed' using errcode = '42501';
  end if;
  select o.plan_tier into v_plan from public.organizations o where o.id = old.organization_id;
  if not found then
    return old;
  end if;
  if old.created_at < now() - make_interval(days => app.audit_retention_days(v_plan)) then
    return old;
  end if;
  raise exception 'audit log entries cannot be deleted before their retention period ends' using errcode = '42501';
end
$$;

-- p_text with every mention of the person replaced; p_mentions are the JSON
-- string forms (quoted) of their id, email and name.
create function app.erase_mentions(p_text text, p_mentions text[]) returns text
  language plpgsql immutable
  set search_path = ''
  as $$
declare
  v_mention text;
begin
  if p_text is null then
    return null;
  end if;
  foreach v_mention in array p_mentions loop
    if v_mention is not null and length(v_mention) > 2 then
      -- Inside JSON the value is matched without its quotes, case-insensitively (emails).
      p_text := regexp_replace(p_text, regexp_replace(substr(v_mention, 2, length(v_mention) - 2), '([.*+?^${}()|\[\]\\])', '\\\1', 'g'),
        '[erased]', 'gi');
    end if;
  end loop;
  return p_text;
end
$$;

-- ---------------------------------------------------------------------------
-- Export: what the person cannot read under row level security
-- ---------------------------------------------------------------------------

-- The caller, when they are a signed-in person: never an API key (which acts
-- for its creator but is not them) nor a back-office token.
create function app.data_subject() returns uuid
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
begin
  if v_user is null or app.api_key_claim() is not null or auth.role() is distinct from 'authenticated' then
    raise exception 'only the signed-in person may do this with their own account' using errcode = '42501';
  end if;
  return v_user;
end
$$;

-- Their account's sign-in settings: when the password was set (never the
-- hash), whether two-factor is on (never the secret); and their memberships.
create function app.export_my_account() returns jsonb
  language sql stable security definer
  set search_path = ''
  as $$
    select jsonb_build_object(
      'password', (select jsonb_build_object('email', c.email, 'createdAt', c.created_at, 'updatedAt', c.updated_at)
                   from app.password_credentials c where c.user_id = app.data_subject()),
      'twoFactor', (select jsonb_build_object('enrolledAt', f.created_at, 'confirmedAt', f.confirmed_at,
                      'unusedBackupCodes', (select count(*) from app.mfa_backup_codes b where b.user_id = f.user_id and b.used_at is null))
                    from app.mfa_factors f where f.user_id = app.data_subject()),
      -- Every membership, inactive ones too (row level security shows only active ones).
      'memberships', (select coalesce(jsonb_agg(jsonb_build_object('organizationId', m.organization_id, 'organizationName', o.name,
                        'role', m.role, 'status', m.status, 'joinedAt', m.created_at, 'lastActiveAt', m.last_active_at)
                        order by m.created_at, m.organization_id), '[]'::jsonb)
                      from public.organization_members m join public.organizations o on o.id = m.organization_id
                      where m.user_id = app.data_subject())
    )
  $$;

-- Their sessions, live and ended: local accounts' and, where this database
-- lets us read it, Supabase Auth's.
create function app.export_my_sessions() returns setof jsonb
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_user uuid := app.data_subject();
begin
  return query
    select jsonb_build_object('id', s.id, 'kind', 'local', 'ipAddress', s.ip_address, 'userAgent', s.user_agent,
      'authenticationLevel', s.aal, 'createdAt', s.created_at, 'lastActiveAt', s.last_active_at,
      'endedAt', s.revoked_at, 'endedBecause', s.revoked_reason)
    from app.auth_sessions s where s.user_id = v_user order by s.created_at, s.id;
  if app.auth_sessions_reachable('select') then
    return query
      select jsonb_build_object('id', s.id, 'kind', 'supabase', 'ipAddress', host(s.ip), 'userAgent', s.user_agent,
        'authenticationLevel', s.aal, 'createdAt', s.created_at, 'lastActiveAt', greatest(s.created_at, s.updated_at),
        'endedAt', s.not_after, 'endedBecause', null)
      from auth.sessions s where s.user_id = v_user order by s.created_at, s.id;
  end if;
end
$$;

-- Audit entries about them: as the actor, or as the subject (the target).
create function app.export_my_audit_entries() returns setof jsonb
  language sql stable security definer
  set search_path = ''
  as $$
    select jsonb_build_object('id', a.id, 'organizationId', a.organization_id, 'eventType', a.event_type,
      'role', case when a.actor_user_id = u.id then 'actor' else 'subject' end,
      'actorEmail', a.actor_email, 'targetType', a.target_type, 'targetId', a.target_id, 'targetName', a.target_name,
      'changes', a.changes, 'metadata', a.metadata, 'ipAddress', host(a.ip_address), 'userAgent', a.user_agent,
      'sessionId', a.session_id, 'createdAt', a.created_at)
    from (select app.data_subject() as id) u
    join public.audit_log a on a.actor_user_id = u.id or a.target_id = u.id
    order by a.created_at, a.id
  $$;

-- The product events the web app reported about them (nobody reads these through the API).
create function app.export_my_analytics_events() returns setof jsonb
  language sql stable security definer
  set search_path = ''
  as $$
    select jsonb_build_object('id', e.id, 'organizationId', e.organization_id, 'type', e.type, 'occurredAt', e.occurred_at,
      'receivedAt', e.received_at, 'sessionId', e.session_id, 'persona', e.persona, 'properties', e.properties)
    from public.analytics_events e where e.user_id = app.data_subject()
    order by e.id
  $$;

-- The API keys they made, in every organization (admins alone list keys): metadata, never the hash.
create function app.export_my_api_keys() returns setof jsonb
  language sql stable security definer
  set search_path = ''
  as $$
    select jsonb_build_object('id', k.id, 'organizationId', k.organization_id, 'name', k.name, 'prefix', k.public_id,
      'scopes', to_jsonb(k.scopes), 'createdAt', k.created_at, 'expiresAt', k.expires_at, 'revokedAt', k.revoked_at,
      'lastUsedAt', k.last_used_at, 'usageCount', k.usage_count)
    from public.api_keys k where k.created_by = app.data_subject()
    order by k.created_at, k.id
  $$;

-- ---------------------------------------------------------------------------
-- Erasure
-- ---------------------------------------------------------------------------

-- An organization nobody is left in but whose invoices the law keeps: every
-- row of it goes except its billing records and audit log.
create function app.close_organization(p_organization_id uuid) returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_table text;
begin
  for v_table in
    select c.relname::text
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' and a.attname = 'organization_id' and not a.attisdropped
      and c.relname not in ('invoices', 'invoice_lines', 'billing_details', 'subscriptions', 'audit_log', 'organization_members')
    order by c.relname
  loop
    execute pg_catalog.format('delete from public.%I where organization_id = $1', v_table) using p_organization_id;
  end loop;
  update public.subscriptions set status = 'canceled', cancel_at_period_end = false, scheduled_plan_id = null, scheduled_interval = null
    where organization_id = p_organization_id;
end
$$;

-- Erases the caller's account (see the top of this file for the rule).
-- Returns the ids of the local sessions that were live, so the API stops
-- honouring their access tokens at once.
create function app.erase_current_user(p_confirm_email text) returns table (ended_session_id uuid)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := app.data_subject();
  v_profile public.profiles;
  v_org record;
  v_heir public.organization_members;
  v_ours_auth boolean;
  v_mentions text[];
begin
  select * into v_profile from public.profiles p where p.id = v_user for update;
  if not found then
    raise exception 'there is no account to erase' using errcode = 'P0002';
  end if;
  -- The person confirms with their own address: a slip (or a borrowed token) typed into the wrong form erases nothing.
  if lower(coalesce(p_confirm_email, '')) <> lower(v_profile.email) then
    raise exception 'confirmEmail is not the address of this account' using errcode = '22023';
  end if;
  v_mentions := array[to_json(v_user::text)::text, to_json(v_profile.email)::text, to_json(v_profile.full_name)::text];

  -- Organizations they are the only owner of.
  for v_org in
    select m.organization_id, o.is_personal, o.name from public.organization_members m
    join public.organizations o on o.id = m.organization_id
    where m.user_id = v_user and m.role = 'owner'
      and not exists (select 1 from public.organization_members x
                      where x.organization_id = m.organization_id and x.role = 'owner' and x.user_id <> v_user)
    order by m.organization_id
    for update of o
  loop
    select * into v_heir from public.organization_members h
    where h.organization_id = v_org.organization_id and h.user_id <> v_user
    order by (h.status = 'active') desc, (h.role = 'admin') desc, h.created_at, h.user_id
    limit 1;
    if found then
      update public.organization_members set role = 'owner', status = 'active'
        where organization_id = v_org.organization_id and user_id = v_heir.user_id;
      if v_org.is_personal then
        -- A personal workspace is named after its owner's address.
        update public.organizations set name = 'Handed-over workspace', is_personal = false where id = v_org.organization_id;
      end if;
    elsif exists (select 1 from public.invoices i where i.organization_id = v_org.organization_id) then
      perform app.close_organization(v_org.organization_id);
      update public.organizations set name = 'Closed organization' where id = v_org.organization_id;
    else
      delete from public.organizations where id = v_org.organization_id;
    end if;
  end loop;

  update public.organizations set created_by = null where created_by = v_user;

  -- Billing records stay; what names the person in them does not.
  update public.billing_details set email = null where lower(email) = lower(v_profile.email);
  update public.invoices i set customer = (
      select coalesce(jsonb_object_agg(f.key, case
        when jsonb_typeof(f.value) = 'string' and (lower(f.value #>> '{}') = lower(v_profile.email) or f.value #>> '{}' = v_profile.full_name)
          then to_jsonb('[erased]'::text) else f.value end), '{}'::jsonb)
      from jsonb_each(i.customer) f)
    where i.customer::text ilike '%' || v_profile.email || '%'
       or (v_profile.full_name is not null and i.customer::text like '%' || to_json(v_profile.full_name)::text || '%');

  -- What else names them without a foreign key to their profile.
  delete from public.project_invitations where lower(email) = lower(v_profile.email);
  delete from public.idempotency_keys where user_id = v_user;
  delete from app.sign_in_failures where key = 'email:' || lower(v_profile.email);

  -- Their sessions end: local ones with the auth.users row below, Supabase's here when we may.
  return query select s.id from app.auth_sessions s where s.user_id = v_user and s.revoked_at is null;
  if app.auth_sessions_reachable('delete') then
    delete from auth.sessions s where s.user_id = v_user;
  end if;

  insert into app.erased_accounts (user_id) values (v_user) on conflict do nothing;
  delete from public.profiles where id = v_user;
  v_ours_auth := exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth' and pg_catalog.obj_description(n.oid, 'pg_namespace') = 'created by 000_supabase_compat'
  );
  if v_ours_auth then
    delete from auth.users where id = v_user;
  end if;

  -- Last, so that the entries the steps above wrote lose the identity too.
  perform set_config('app.erasing', 'on', true);
  update public.audit_log a set
      actor_user_id = case when a.actor_user_id = v_user then null else a.actor_user_id end,
      actor_email = case when a.actor_user_id = v_user or lower(a.actor_email) = lower(v_profile.email) then null else a.actor_email end,
      ip_address = case when a.actor_user_id = v_user then null else a.ip_address end,
      user_agent = case when a.actor_user_id = v_user then null else a.user_agent end,
      session_id = case when a.actor_user_id = v_user then null else a.session_id end,
      target_id = case when a.target_id = v_user then null else a.target_id end,
      target_name = app.erase_mentions(a.target_name, v_mentions),
      changes = app.erase_mentions(a.changes::text, v_mentions)::jsonb,
      metadata = app.erase_mentions(a.metadata::text, v_mentions)::jsonb
    where a.actor_user_id = v_user or a.target_id = v_user or lower(a.actor_email) = lower(v_profile.email)
       or (coalesce(a.target_name, '') || a.changes::text || a.metadata::text) ilike any (array[
            '%' || v_user::text || '%', '%' || v_profile.email || '%']);
  perform set_config('app.erasing', '', true);
end
$$;

-- Only the person reaches these, through a signed-in request (never the back office).
revoke execute on function app.data_subject(), app.export_my_account(), app.export_my_sessions(), app.export_my_audit_entries(),
  app.export_my_analytics_events(), app.export_my_api_keys(), app.erase_current_user(text), app.close_organization(uuid),
  app.erase_mentions(text, text[]) from public;
grant execute on function app.export_my_account(), app.export_my_sessions(), app.export_my_audit_entries(),
  app.export_my_analytics_events(), app.export_my_api_keys(), app.erase_current_user(text) to authenticated;

-- migrate:down

drop function app.erase_current_user(text);
drop function app.close_organization(uuid);
drop function app.export_my_api_keys();
drop function app.export_my_analytics_events();
drop function app.export_my_audit_entries();
drop function app.export_my_sessions();
drop function app.export_my_account();
drop function app.data_subject();
drop function app.erase_mentions(text, text[]);

create or replace function app.guard_audit_log() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_plan public.plan_tier;
begin
  if tg_op = 'UPDATE' then
    raise exception 'audit log entries cannot be changed' using errcode = '42501';
  end if;
  select o.plan_tier into v_plan from public.organizations o where o.id = old.organization_id;
  if not found then
    return old;
  end if;
  if old.created_at < now() - make_interval(days => app.audit_retention_days(v_plan)) then
    return old;
  end if;
  raise exception 'audit log entries cannot be deleted before their retention period ends' using errcode = '42501';
end
$$;

create or replace function app.provision_current_user() returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_email text := lower(auth.email());
  v_org uuid;
  v_handle text;
begin
  if v_user is null or v_email is null then
    raise exception 'a token with sub and email is needed' using errcode = '42501';
  end if;
  if exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth' and pg_catalog.obj_description(n.oid, 'pg_namespace') = 'created by 000_supabase_compat'
  ) then
    insert into auth.users (id, email) values (v_user, v_email) on conflict (id) do nothing;
  elsif not exists (select 1 from auth.users u where u.id = v_user) then
    raise exception 'the account of this token no longer exists' using errcode = '28000';
  end if;
  insert into public.profiles (id, email) values (v_user, v_email) on conflict do nothing;
  if not found then
    return;
  end if;
  v_handle := left(split_part(v_email, '@', 1), 80);
  insert into public.organizations (name, is_personal, created_by)
    values (v_handle || '''s workspace', true, v_user)
    returning id into v_org;
  insert into public.organization_members (organization_id, user_id, role) values (v_org, v_user, 'owner');
  update public.profiles set default_organization_id = v_org where id = v_user;
end
$$;

drop table app.erased_accounts;

create or replace function app.audit_reflex_secret() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_skill_name text;
begin
  if new.secret is distinct from old.secret then
    select s.name into v_skill_name from public.reflexes r join public.skills s on s.id = r.skill_id where r.id = new.reflex_id;
    perform app.write_audit_entry(new.organization_id, 'security.reflex_secret_regenerated', 'reflex', new.reflex_id,
      v_skill_name, '{}', '{}');
  end if;
  return null;
end
$$;

-- Sealed rows cannot go back to plain text here (the key is the API's): the
-- down migration refuses while any is left, rather than drop secrets.
alter table app.mfa_factors drop constraint mfa_factors_secret_check;
alter table app.mfa_factors add constraint mfa_factors_secret_check check (secret ~ '^[A-Z2-7]{16,128}$');
alter table public.reflex_secrets drop constraint reflex_secrets_secret_check;
alter table public.reflex_secrets add constraint reflex_secrets_secret_check check (secret ~ '^whsec_[A-Za-z0-9_-]{43}$');
