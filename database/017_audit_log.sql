-- The audit log: who changed what in an organization, when, and from where.
--
-- Entries are written by triggers (and, for events that are not a row change,
-- by app.record_audit_event) in the same transaction as the change they
-- record: a change that rolls back leaves no entry, and a committed change
-- always has one. Nobody edits an entry:
--   * no role the API uses (authenticated, service_role, the login role) has
--     an UPDATE, DELETE or TRUNCATE grant, and none has INSERT either: entries
--     come only from the SECURITY DEFINER functions below;
--   * a trigger refuses every UPDATE, and every DELETE except of an entry past
--     its plan's retention (app.purge_audit_log) or of an organization that
--     is being deleted; another refuses TRUNCATE. They hold for the table's
--     owner too, who is the only role that could otherwise write.
-- Readers: the organization's owners and admins, for the organization the
-- request acts in (the select policy), and the back office (service_role).
--
-- Saved filters (audit_saved_filters): an owner's or admin's named filters,
-- their own or shared with the organization's other owners and admins.
--
-- What the request's transaction sets for the entries (transaction-local, in
-- the same round trip as the caller's identity): app.client_ip and
-- app.user_agent. The actor is auth.uid(), their email snapshotted from their
-- profile (the entry keeps it after the account is gone), and the session id
-- is the token's session_id claim where there is one.

-- migrate:up

create type public.audit_event_category as enum ('user', 'context', 'team', 'security', 'integration', 'system');

create table public.audit_log (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- No foreign key: an entry outlives its actor's account.
  actor_user_id uuid,
  actor_email text check (char_length(actor_email) <= 320),
  -- The request role the change came through (authenticated, service_role), or the database role.
  actor_role text check (char_length(actor_role) <= 64),
  category public.audit_event_category not null,
  event_type text not null,
  target_type text not null check (target_type ~ '^[a-z][a-z_]{0,39}$'),
  target_id uuid,
  target_name text check (char_length(target_name) <= 500),
  -- For updates, the changed columns only: {"column": {"old": ..., "new": ...}}; never a secret.
  changes jsonb not null default '{}' check (jsonb_typeof(changes) = 'object' and octet_length(changes::text) <= 65536),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object' and octet_length(metadata::text) <= 16384),
  ip_address inet,
  user_agent text check (char_length(user_agent) <= 512),
  session_id text check (char_length(session_id) <= 128),
  -- The moment of the change (clock time: entries of one transaction keep their order).
  created_at timestamptz not null default clock_timestamp(),
  check (split_part(event_type, '.', 1) = category::text),
  check (event_type = any (array[
    'user.login', 'user.logout', 'user.profile_updated', 'user.password_changed', 'user.2fa_enabled', 'user.2fa_disabled',
    'context.created', 'context.updated', 'context.deleted', 'context.shared', 'context.exported',
    'context.skill_shared', 'context.skill_unshared',
    'team.member_invited', 'team.member_joined', 'team.member_removed', 'team.role_changed',
    'team.member_status_changed', 'team.invitation_resent', 'team.invitation_cancelled',
    'team.settings_updated', 'team.plan_changed', 'team.subscription_updated', 'team.billing_details_updated',
    'security.login_failed', 'security.session_terminated', 'security.api_key_created', 'security.api_key_revoked',
    'security.payment_method_added', 'security.payment_method_removed', 'security.reflex_secret_regenerated',
    'integration.connected', 'integration.disconnected', 'integration.webhook_triggered',
    'system.export_completed', 'system.backup_created'
  ]))
);

-- The list (newest first) and its filters by user, event type and category.
create index audit_log_organization_created_idx on public.audit_log (organization_id, created_at desc, id desc);
create index audit_log_organization_actor_idx on public.audit_log (organization_id, actor_user_id, created_at desc);
create index audit_log_organization_event_idx on public.audit_log (organization_id, event_type, created_at desc);
create index audit_log_organization_category_idx on public.audit_log (organization_id, category, created_at desc);
-- Free-text search over target name, actor email and event type.
create index audit_log_search_trgm_idx on public.audit_log using gin (
  (coalesce(target_name, '') || ' ' || coalesce(actor_email, '') || ' ' || event_type) extensions.gin_trgm_ops
);
-- The retention purge walks the oldest entries first.
create index audit_log_created_idx on public.audit_log (created_at);

-- How long an entry is kept, by the organization's plan (as the frontend says).
create function app.audit_retention_days(p_plan public.plan_tier) returns integer
  language sql immutable
  set search_path = ''
  as $$
    select case p_plan when 'free' then 7 when 'pro' then 30 when 'teams' then 90 else 365 end
  $$;

-- Append-only, for every role, the owner included.
create function app.guard_audit_log() returns trigger
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
  -- The organization itself is being deleted: its entries go with it.
  if not found then
    return old;
  end if;
  if old.created_at < now() - make_interval(days => app.audit_retention_days(v_plan)) then
    return old;
  end if;
  raise exception 'audit log entries cannot be deleted before their retention period ends' using errcode = '42501';
end
$$;
create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function app.guard_audit_log();

create function app.refuse_audit_log_truncate() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception 'the audit log cannot be truncated' using errcode = '42501';
end
$$;
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function app.refuse_audit_log_truncate();

-- The client address the API put in the transaction; an unparsable value is
-- no address rather than a failed change.
create function app.audit_client_ip() returns inet
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return nullif(current_setting('app.client_ip', true), '')::inet;
exception when invalid_text_representation then
  return null;
end
$$;

-- The columns of p_columns whose values differ, as {"column": {"old", "new"}}.
create function app.audit_changes(p_old jsonb, p_new jsonb, p_columns text[]) returns jsonb
  language sql immutable
  set search_path = ''
  as $$
    select coalesce(jsonb_object_agg(c, jsonb_build_object('old', p_old -> c, 'new', p_new -> c)), '{}'::jsonb)
    from unnest(p_columns) c
    where (p_old -> c) is distinct from (p_new -> c)
  $$;

-- Writes one entry, with the actor and the request's address from the
-- transaction. Nothing is written for an organization that no longer exists
-- (its deletion cascades through the tables whose triggers call this).
create function app.write_audit_entry(
  p_organization_id uuid, p_event_type text, p_target_type text, p_target_id uuid, p_target_name text,
  p_changes jsonb, p_metadata jsonb, p_actor_user_id uuid default null
) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_actor uuid := coalesce(p_actor_user_id, auth.uid());
  v_email text;
begin
  if not exists (select 1 from public.organizations o where o.id = p_organization_id) then
    return 0;
  end if;
  select p.email into v_email from public.profiles p where p.id = v_actor;
  if v_email is null and p_actor_user_id is null then
    v_email := auth.email();
  end if;
  insert into public.audit_log (
    organization_id, actor_user_id, actor_email, actor_role, category, event_type,
    target_type, target_id, target_name, changes, metadata, ip_address, user_agent, session_id
  ) values (
    p_organization_id, v_actor, left(v_email, 320), left(coalesce(auth.role(), current_user), 64),
    split_part(p_event_type, '.', 1)::public.audit_event_category, p_event_type,
    p_target_type, p_target_id, left(p_target_name, 500), coalesce(p_changes, '{}'), coalesce(p_metadata, '{}'),
    app.audit_client_ip(), left(nullif(current_setting('app.user_agent', true), ''), 512),
    left(auth.jwt() ->> 'session_id', 128)
  );
  return 1;
end
$$;

-- ---------------------------------------------------------------------------
-- What is recorded, table by table
-- ---------------------------------------------------------------------------

-- Projects: created, deleted, and updated in a setting people edit (status,
-- counters and token totals follow ingestions and are not recorded).
create function app.audit_project() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_changes jsonb;
begin
  if tg_op = 'INSERT' then
    perform app.write_audit_entry(new.organization_id, 'context.created', 'project', new.id, new.name, '{}',
      jsonb_build_object('type', new.type, 'privacy', new.privacy));
  elsif tg_op = 'UPDATE' then
    v_changes := app.audit_changes(to_jsonb(old), to_jsonb(new), array[
      'name', 'description', 'type', 'privacy', 'chunking_strategy', 'include_metadata', 'anonymize_secrets', 'custom_settings']);
    if v_changes <> '{}' then
      perform app.write_audit_entry(new.organization_id, 'context.updated', 'project', new.id, new.name, v_changes, '{}');
    end if;
  else
    perform app.write_audit_entry(old.organization_id, 'context.deleted', 'project', old.id, old.name, '{}', '{}');
  end if;
  return null;
end
$$;
create trigger projects_audit after insert or delete or update of
    name, description, type, privacy, chunking_strategy, include_metadata, anonymize_secrets, custom_settings
  on public.projects
  for each row execute function app.audit_project();

-- Organization members: joined, removed, role or status changed (not the activity stamp).
create function app.audit_organization_member() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_email text;
begin
  select p.email into v_email from public.profiles p where p.id = coalesce(new.user_id, old.user_id);
  if tg_op = 'INSERT' then
    perform app.write_audit_entry(new.organization_id, 'team.member_joined', 'organization_member', new.user_id, v_email, '{}',
      jsonb_build_object('role', new.role));
  elsif tg_op = 'DELETE' then
    perform app.write_audit_entry(old.organization_id, 'team.member_removed', 'organization_member', old.user_id, v_email, '{}',
      jsonb_build_object('role', old.role));
  else
    if new.role is distinct from old.role then
      perform app.write_audit_entry(new.organization_id, 'team.role_changed', 'organization_member', new.user_id, v_email,
        app.audit_changes(to_jsonb(old), to_jsonb(new), array['role']), '{}');
    end if;
    if new.status is distinct from old.status then
      perform app.write_audit_entry(new.organization_id, 'team.member_status_changed', 'organization_member', new.user_id, v_email,
        app.audit_changes(to_jsonb(old), to_jsonb(new), array['status']), '{}');
    end if;
  end if;
  return null;
end
$$;
create trigger organization_members_audit after insert or delete or update of role, status on public.organization_members
  for each row execute function app.audit_organization_member();

-- Project members: joined (the creator, added with the project, is not
-- another event), removed (not when the project itself goes), role changed.
create function app.audit_project_member() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_project public.projects;
  v_row public.project_members := case when tg_op = 'DELETE' then old else new end;
begin
  select * into v_project from public.projects p where p.id = v_row.project_id;
  if not found then
    return null;
  end if;
  if tg_op = 'INSERT' then
    if new.user_id is not distinct from v_project.user_id then
      return null;
    end if;
    perform app.write_audit_entry(new.organization_id, 'team.member_joined', 'project_member', new.id, new.email, '{}',
      jsonb_build_object('projectId', v_project.id, 'projectName', v_project.name, 'role', new.role, 'userId', new.user_id));
  elsif tg_op = 'DELETE' then
    perform app.write_audit_entry(old.organization_id, 'team.member_removed', 'project_member', old.id, old.email, '{}',
      jsonb_build_object('projectId', v_project.id, 'projectName', v_project.name, 'role', old.role, 'userId', old.user_id));
  elsif new.role is distinct from old.role then
    perform app.write_audit_entry(new.organization_id, 'team.role_changed', 'project_member', new.id, new.email,
      app.audit_changes(to_jsonb(old), to_jsonb(new), array['role']),
      jsonb_build_object('projectId', v_project.id, 'projectName', v_project.name, 'userId', new.user_id));
  end if;
  return null;
end
$$;
create trigger project_members_audit after insert or delete or update of role on public.project_members
  for each row execute function app.audit_project_member();

-- Invitations: sent, sent again (a new token), cancelled. Acceptance is the
-- project membership it creates. The token hash is never recorded.
create function app.audit_project_invitation() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_project_name text;
begin
  select p.name into v_project_name from public.projects p where p.id = new.project_id;
  if tg_op = 'INSERT' then
    perform app.write_audit_entry(new.organization_id, 'team.member_invited', 'project_invitation', new.id, new.email, '{}',
      jsonb_build_object('projectId', new.project_id, 'projectName', v_project_name, 'role', new.role, 'expiresAt', new.expires_at));
  elsif new.status = 'cancelled' and old.status <> 'cancelled' then
    perform app.write_audit_entry(new.organization_id, 'team.invitation_cancelled', 'project_invitation', new.id, new.email,
      app.audit_changes(to_jsonb(old), to_jsonb(new), array['status']),
      jsonb_build_object('projectId', new.project_id, 'projectName', v_project_name));
  elsif new.token_hash <> old.token_hash and new.status = 'pending' then
    perform app.write_audit_entry(new.organization_id, 'team.invitation_resent', 'project_invitation', new.id, new.email,
      app.audit_changes(to_jsonb(old), to_jsonb(new), array['status', 'expires_at']),
      jsonb_build_object('projectId', new.project_id, 'projectName', v_project_name));
  end if;
  return null;
end
$$;
create trigger project_invitations_audit after insert or update on public.project_invitations
  for each row execute function app.audit_project_invitation();

-- Organization settings (the plan tier follows the subscription and is recorded there).
create function app.audit_organization() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_changes jsonb := app.audit_changes(to_jsonb(old), to_jsonb(new), array['name']);
begin
  if v_changes <> '{}' then
    perform app.write_audit_entry(new.id, 'team.settings_updated', 'organization', new.id, new.name, v_changes, '{}');
  end if;
  return null;
end
$$;
create trigger organizations_audit after update of name on public.organizations
  for each row execute function app.audit_organization();

-- Subscriptions: the plan or interval changed, or a change was scheduled,
-- cancelled or resumed, or the status moved. The period's roll-over and the
-- provider's bookkeeping are not recorded.
create function app.audit_subscription() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_changes jsonb := app.audit_changes(to_jsonb(old), to_jsonb(new), array[
    'plan_id', 'billing_interval', 'status', 'cancel_at_period_end', 'scheduled_plan_id', 'scheduled_interval', 'trial_end']);
begin
  if v_changes ? 'plan_id' or v_changes ? 'billing_interval' then
    perform app.write_audit_entry(new.organization_id, 'team.plan_changed', 'subscription', new.id, new.plan_id::text, v_changes, '{}');
  elsif v_changes <> '{}' then
    perform app.write_audit_entry(new.organization_id, 'team.subscription_updated', 'subscription', new.id, new.plan_id::text, v_changes, '{}');
  end if;
  return null;
end
$$;
create trigger subscriptions_audit after update of
    plan_id, billing_interval, status, cancel_at_period_end, scheduled_plan_id, scheduled_interval, trial_end
  on public.subscriptions
  for each row execute function app.audit_subscription();

create function app.audit_billing_details() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_changes jsonb := app.audit_changes(case when tg_op = 'UPDATE' then to_jsonb(old) else '{}'::jsonb end, to_jsonb(new), array[
    'company_name', 'btw_number', 'kvk_number', 'address_line1', 'address_line2', 'city', 'postal_code', 'country', 'email']);
begin
  if v_changes <> '{}' then
    perform app.write_audit_entry(new.organization_id, 'team.billing_details_updated', 'billing_details', new.organization_id,
      new.company_name, v_changes, '{}');
  end if;
  return null;
end
$$;
create trigger billing_details_audit after insert or update on public.billing_details
  for each row execute function app.audit_billing_details();

-- Payment methods: added and removed (what identifies them to a person, never more).
create function app.audit_payment_method() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_row public.payment_methods := case when tg_op = 'DELETE' then old else new end;
  v_name text := case when v_row.type = 'card' then coalesce(v_row.card_brand::text, 'card') else 'SEPA debit' end || ' ending ' || v_row.last4;
begin
  perform app.write_audit_entry(v_row.organization_id,
    case when tg_op = 'INSERT' then 'security.payment_method_added' else 'security.payment_method_removed' end,
    'payment_method', v_row.id, v_name, '{}',
    jsonb_build_object('type', v_row.type, 'isDefault', v_row.is_default));
  return null;
end
$$;
create trigger payment_methods_audit after insert or delete on public.payment_methods
  for each row execute function app.audit_payment_method();

-- A webhook reflex's secret replaced (its first secret comes with the reflex). Never the secret.
create function app.audit_reflex_secret() returns trigger
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
create trigger reflex_secrets_audit after update of secret on public.reflex_secrets
  for each row execute function app.audit_reflex_secret();

-- A skill shared with everyone, or taken back.
create function app.audit_skill_sharing() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.is_public is distinct from (case when tg_op = 'UPDATE' then old.is_public else false end) then
    perform app.write_audit_entry(new.organization_id,
      case when new.is_public then 'context.skill_shared' else 'context.skill_unshared' end,
      'skill', new.id, new.name,
      case when tg_op = 'UPDATE' then app.audit_changes(to_jsonb(old), to_jsonb(new), array['is_public']) else '{}'::jsonb end, '{}');
  end if;
  return null;
end
$$;
create trigger skills_audit_sharing after insert or update of is_public on public.skills
  for each row execute function app.audit_skill_sharing();

-- ---------------------------------------------------------------------------
-- Events that are not a row change of these tables (sign-ins, API keys ...)
-- ---------------------------------------------------------------------------

-- For the back office (service_role) and the owner only: a signed-in role
-- could otherwise write entries of its own choosing. p_details becomes the
-- entry's metadata; a "changes" object in it becomes the entry's changes.
-- The organization is p_organization_id, else the one the transaction acts
-- in (X-Organization-Id); with neither, the entry goes to every organization
-- the actor is an active member of (a sign-in concerns all of them), and
-- with no actor either, nowhere. The actor is p_actor_user_id, else
-- auth.uid(). Returns the number of entries written.
create function app.record_audit_event(
  p_category public.audit_event_category, p_event_type text, p_target_type text, p_target_id uuid, p_target_name text,
  p_details jsonb, p_organization_id uuid default null, p_actor_user_id uuid default null
) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_org uuid := coalesce(p_organization_id, app.current_organization_id());
  v_actor uuid := coalesce(p_actor_user_id, auth.uid());
  v_details jsonb := coalesce(p_details, '{}');
  v_changes jsonb;
  v_written integer := 0;
  v_member uuid;
begin
  if split_part(p_event_type, '.', 1) is distinct from p_category::text then
    raise exception 'event type % is not of category %', p_event_type, p_category using errcode = '22023';
  end if;
  if jsonb_typeof(v_details) <> 'object' then
    raise exception 'details must be a JSON object' using errcode = '22023';
  end if;
  v_changes := case when jsonb_typeof(v_details -> 'changes') = 'object' then v_details -> 'changes' else '{}'::jsonb end;
  v_details := v_details - 'changes';
  if v_org is not null then
    return app.write_audit_entry(v_org, p_event_type, p_target_type, p_target_id, p_target_name, v_changes, v_details, v_actor);
  end if;
  for v_member in
    select m.organization_id from public.organization_members m where m.user_id = v_actor and m.status = 'active'
  loop
    v_written := v_written + app.write_audit_entry(v_member, p_event_type, p_target_type, p_target_id, p_target_name, v_changes, v_details, v_actor);
  end loop;
  return v_written;
end
$$;

-- Deletes at most p_batch entries past their organization's retention
-- (7, 30, 90 or 365 days by plan), oldest first; returns how many went. The
-- back office calls it again while a full batch went.
create function app.purge_audit_log(p_batch integer) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_deleted integer;
begin
  if p_batch is null or p_batch < 1 or p_batch > 100000 then
    raise exception 'a batch is 1 to 100000 rows' using errcode = '22023';
  end if;
  with expired as (
    select a.id from public.audit_log a
    join public.organizations o on o.id = a.organization_id
    where a.created_at < now() - make_interval(days => app.audit_retention_days(o.plan_tier))
    order by a.created_at
    limit p_batch
  )
  delete from public.audit_log a using expired where a.id = expired.id;
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- Ids of the selected organization's entries whose target name, actor email
-- or event type contain p_text (any case, wildcards as themselves); owners
-- and admins only, and the caller's query still applies the policy to what
-- it gets back. Under row level security ILIKE would run row by row after the
-- policy (as with app.search_project_ids), so it runs here: through the
-- trigram index for three characters or more; a shorter text, which trigrams
-- cannot serve, looks through the organization's newest 10,000 entries only.
create function app.search_audit_log_ids(p_text text) returns setof uuid
  language plpgsql stable security definer
  rows 100
  set search_path = ''
  as $$
declare
  v_pattern text := '%' || replace(replace(replace(p_text, '\', '\\'), '%', '\%'), '_', '\_') || '%';
begin
  if p_text is null or p_text = '' or coalesce(app.current_organization_role() not in ('owner', 'admin'), true) then
    return;
  end if;
  if char_length(p_text) >= 3 then
    return query
      select a.id from public.audit_log a
      where a.organization_id = app.current_organization_id()
        and (coalesce(a.target_name, '') || ' ' || coalesce(a.actor_email, '') || ' ' || a.event_type) ilike v_pattern;
  else
    return query
      select newest.id from (
        select a.id, coalesce(a.target_name, '') || ' ' || coalesce(a.actor_email, '') || ' ' || a.event_type as haystack
        from public.audit_log a
        where a.organization_id = app.current_organization_id()
        order by a.created_at desc
        limit 10000
      ) newest
      where newest.haystack ilike v_pattern;
  end if;
end
$$;

alter table public.audit_log enable row level security;
alter table public.audit_log force row level security;

-- The role is read once per statement (initplans), and the organization
-- test lets the list walk its index.
create policy audit_log_select on public.audit_log for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.organization_role(app.current_organization_id())) in ('owner', 'admin')
  );

revoke all on public.audit_log from public, anon, authenticated, service_role;
grant select on public.audit_log to authenticated, service_role;
do $$
begin
  revoke all on public.audit_log from authenticator;
exception when undefined_object then
  null;
end
$$;

-- ---------------------------------------------------------------------------
-- Saved filters
-- ---------------------------------------------------------------------------

create table public.audit_saved_filters (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100 and name = btrim(name)),
  -- The API checks the filter against the contract; the keys are held here too.
  filters jsonb not null default '{}' check (
    jsonb_typeof(filters) = 'object'
    and octet_length(filters::text) <= 8192
    and filters - array['userId', 'eventCategory', 'eventTypes', 'dateFrom', 'dateTo', 'searchQuery'] = '{}'::jsonb
  ),
  is_shared boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index audit_saved_filters_name_key on public.audit_saved_filters (organization_id, user_id, lower(name));
create index audit_saved_filters_shared_idx on public.audit_saved_filters (organization_id, created_at) where is_shared;
create index audit_saved_filters_user_idx on public.audit_saved_filters (user_id);
create trigger audit_saved_filters_updated_at before update on public.audit_saved_filters
  for each row execute function app.set_updated_at();

alter table public.audit_saved_filters enable row level security;
alter table public.audit_saved_filters force row level security;

-- Owners and admins of the selected organization: their own filters, and the shared ones to read.
create policy audit_saved_filters_select on public.audit_saved_filters for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) in ('owner', 'admin')
    and (user_id = (select auth.uid()) or is_shared)
  );
create policy audit_saved_filters_insert on public.audit_saved_filters for insert to authenticated
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) in ('owner', 'admin')
    and user_id = (select auth.uid())
  );
create policy audit_saved_filters_update on public.audit_saved_filters for update to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) in ('owner', 'admin')
    and user_id = (select auth.uid())
  )
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) in ('owner', 'admin')
    and user_id = (select auth.uid())
  );
create policy audit_saved_filters_delete on public.audit_saved_filters for delete to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) in ('owner', 'admin')
    and user_id = (select auth.uid())
  );

revoke all on public.audit_saved_filters from public, anon, authenticated, service_role;
grant select, delete on public.audit_saved_filters to authenticated;
grant insert (organization_id, user_id, name, filters, is_shared), update (name, filters, is_shared)
  on public.audit_saved_filters to authenticated;
grant select, insert, update, delete on public.audit_saved_filters to service_role;

-- ---------------------------------------------------------------------------
-- Who may call what
-- ---------------------------------------------------------------------------

-- Trigger functions and the search, as every other: nobody calls a trigger function directly.
revoke execute on function
  app.guard_audit_log(), app.refuse_audit_log_truncate(), app.audit_project(), app.audit_organization_member(),
  app.audit_project_member(), app.audit_project_invitation(), app.audit_organization(), app.audit_subscription(),
  app.audit_billing_details(), app.audit_payment_method(), app.audit_reflex_secret(), app.audit_skill_sharing(),
  app.search_audit_log_ids(text)
  from public;
grant execute on function
  app.guard_audit_log(), app.refuse_audit_log_truncate(), app.audit_project(), app.audit_organization_member(),
  app.audit_project_member(), app.audit_project_invitation(), app.audit_organization(), app.audit_subscription(),
  app.audit_billing_details(), app.audit_payment_method(), app.audit_reflex_secret(), app.audit_skill_sharing(),
  app.search_audit_log_ids(text)
  to authenticated, service_role;
-- Internal: the entry writer and its helpers run only inside the functions above.
revoke execute on function
  app.write_audit_entry(uuid, text, text, uuid, text, jsonb, jsonb, uuid), app.audit_changes(jsonb, jsonb, text[]),
  app.audit_client_ip(), app.audit_retention_days(public.plan_tier)
  from public, anon, authenticated, service_role;
-- The back office only.
revoke execute on function
  app.record_audit_event(public.audit_event_category, text, text, uuid, text, jsonb, uuid, uuid), app.purge_audit_log(integer)
  from public, anon, authenticated;
grant execute on function
  app.record_audit_event(public.audit_event_category, text, text, uuid, text, jsonb, uuid, uuid), app.purge_audit_log(integer)
  to service_role;

-- migrate:down

drop table if exists public.audit_saved_filters;
drop trigger if exists skills_audit_sharing on public.skills;
drop trigger if exists reflex_secrets_audit on public.reflex_secrets;
drop trigger if exists payment_methods_audit on public.payment_methods;
drop trigger if exists billing_details_audit on public.billing_details;
drop trigger if exists subscriptions_audit on public.subscriptions;
drop trigger if exists organizations_audit on public.organizations;
drop trigger if exists project_invitations_audit on public.project_invitations;
drop trigger if exists project_members_audit on public.project_members;
drop trigger if exists organization_members_audit on public.organization_members;
drop trigger if exists projects_audit on public.projects;
drop function if exists app.search_audit_log_ids(text);
drop function if exists app.purge_audit_log(integer);
drop function if exists app.record_audit_event(public.audit_event_category, text, text, uuid, text, jsonb, uuid, uuid);
drop function if exists app.audit_skill_sharing();
drop function if exists app.audit_reflex_secret();
drop function if exists app.audit_payment_method();
drop function if exists app.audit_billing_details();
drop function if exists app.audit_subscription();
drop function if exists app.audit_organization();
drop function if exists app.audit_project_invitation();
drop function if exists app.audit_project_member();
drop function if exists app.audit_organization_member();
drop function if exists app.audit_project();
drop function if exists app.write_audit_entry(uuid, text, text, uuid, text, jsonb, jsonb, uuid);
drop function if exists app.audit_changes(jsonb, jsonb, text[]);
drop function if exists app.audit_client_ip();
drop table if exists public.audit_log;
drop function if exists app.refuse_audit_log_truncate();
drop function if exists app.guard_audit_log();
drop function if exists app.audit_retention_days(public.plan_tier);
drop type if exists public.audit_event_category;
