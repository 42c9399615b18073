-- Least privilege: the rules a signed-in role could break by writing SQL of its
-- own (an injection, a new RPC function, Supabase's Data API) are enforced
-- here, and the API logs in as a role that can do nothing but switch into the
-- request roles.
--
-- Who may call what is decided by the database role in force: grants (checked
-- against current_user), and current_user itself in triggers that run as the
-- caller. Never by a claim: request.jwt.claims is a setting, and any session
-- can write its own settings. (auth.uid() still reads the claims, as on
-- Supabase: only the API and PostgREST, which verify a token first, set them;
-- see SECURITY.md.)
--
-- The audit this migration answers, one line per grant to `authenticated` and
-- per SECURITY DEFINER function that a signed-in role can reach. "as the API"
-- means the policy and grant allow exactly the write the API itself makes.
--
-- Column grants to authenticated
--   organizations update (name)                       owners/admins (policy); as the API.
--   profiles update (full_name, avatar_url)           one's own profile (policy); as the API.
--   organization_members insert                       REVOKED here: members are added by
--                                                     app.add_organization_member (by email, no user
--                                                     ids handed out) or by accepting an invitation.
--   organization_members update (role), delete        owners all, admins plain members (policies), the
--                                                     last owner kept (trigger); as the API.
--   projects insert/update (settings columns), delete creator/editors (policies); counters, status and
--                                                     token totals have no grant; as the API.
--   project_members insert                            editors (policy); NEW: the person must be a member
--                                                     of the project's organization and the email theirs
--                                                     (trigger below), as the API checks.
--   project_members update (role, notify_*, last_active_at)
--                                                     guard_project_member_change (001); as the API.
--   project_repositories insert/update, delete        editors (policies); sync state is editable by
--                                                     editors through the API too.
--   project_invitations insert                        editors (policy); NEW: invited_by is the caller and
--                                                     a pending invitation lives at most 30 days (trigger).
--   project_invitations update (status, token_hash, expires_at, cancelled_at)
--                                                     NEW: never to 'accepted' (only
--                                                     app.accept_project_invitation does that), and the
--                                                     same 30-day bound.
--   ingestion_progress insert (project_id, message, started_by)
--                                                     editors (policy); NEW: started_by is the caller.
--   project_files insert, delete                      editors (policy); storage metered by trigger; NEW:
--                                                     a path check (relative, no '.' or '..' segments, no
--                                                     control characters).
--   skills insert/update, delete                      owner or org owner/admin (policies); counters have
--                                                     no grant; as the API.
--   reflexes insert/update (incl. consecutive_failures, last_error_message), delete
--                                                     whoever manages the reflex may reset its streak, as
--                                                     the API's reactivation does.
--   skill_executions insert                           NEW: only execution_type manual or api, no
--                                                     reference_id, for oneself (policy + trigger). Habit
--                                                     and reflex runs are created by the scheduler, by
--                                                     app.fire_reflex / app.start_reflex_run, or by the
--                                                     API as service_role after its own checks.
--   skill_executions update (status)                  only to cancelled (guard_execution_status, 002).
--   habits insert/update (incl. next_run_at, consecutive_failures, last_error_message), delete
--                                                     whoever manages the habit; an early next_run_at only
--                                                     moves that habit's own metered runs forward.
--   subscriptions update (cancel_at_period_end, scheduled_plan_id, scheduled_interval)
--                                                     billing managers (policy); NEW: a scheduled change is
--                                                     only a downgrade to a cheaper self-service plan or
--                                                     interval (trigger below), never Enterprise or an
--                                                     upgrade.
--   payment_methods insert/update (is_default), delete
--                                                     billing managers (policy); no card number can be
--                                                     stored (checks); as the API.
--   billing_details insert/update                     billing managers (policy); as the API.
--   plans, usage_counters, usage_daily, invoices, invoice_lines: select only.
--
-- SECURITY DEFINER functions callable by authenticated (everything else is a
-- trigger function, which nobody can call directly)
--   organization_role, current_organization_role, is_organization_member, shares_organization_with,
--   project_member_role, my_project_ids, can_read_project, can_edit_project, can_delete_project,
--   can_remove_project_members, can_manage_owned, is_billing_manager
--                                   answer about the caller (auth.uid()) only.
--   project_name_taken, search_project_ids, search_skill_ids
--                                   the selected organization, members only.
--   create_organization, provision_current_user, begin_request
--                                   act for the caller only.
--   accept_project_invitation       needs the invitation's secret token and the invitee's email.
--   can_manage_reflex, store_reflex_secret, drop_reflex_secret, reflex_secret_created_at
--                                   CHANGED: no longer trust auth.role() = 'service_role'; members who
--                                   manage the reflex (or, for the date, see it) in the selected
--                                   organization only.
--   fire_reflex                     CHANGED: members' event and file_change reflexes only; service work
--                                   calls app.start_reflex_run, which authenticated cannot execute.
--   billing_usage                   CHANGED: members of that organization only.
--   meter_api_call                  counts one call for the caller's own organization.
--   plan_limit                      REVOKED from the request roles (it answered for any organization);
--                                   app.limit_in_plan reads the public catalogue instead.
--   member_candidate                DROPPED (it turned any email into a user id).
--   add_organization_member         NEW: owners add anyone by email, admins plain members; returns the
--                                   outcome, never an id of someone who was not added.
--
-- Quotas: app.quotas_enabled (a session setting any role could turn off) is
-- gone. Quotas are enforced for every session except the database owner's and
-- superusers' (migrations, seeds, operators), unless app.deployment_settings
-- (which only the owner can change) says otherwise.

-- migrate:up

-- ---------------------------------------------------------------------------
-- The login role of the API and workers
-- ---------------------------------------------------------------------------

-- As PostgREST and Supabase do: a role that can log in (the server gives it a
-- password; see SECURITY.md for Supabase) and has no privileges of its own
-- (NOINHERIT), only the right to SET ROLE to the request roles. A request that
-- resets its role is left with nothing, never with the owner's rights.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator noinherit nologin;
  end if;
end
$$;
do $$
begin
  grant authenticated, service_role to authenticator;
exception when insufficient_privilege then
  raise notice 'could not grant the API roles to authenticator (%): grant them by hand', sqlerrm;
end
$$;

-- /ready reads which migrations are applied, as service_role.
grant select on public.schema_migrations to service_role;

-- ---------------------------------------------------------------------------
-- Quotas: the switch lives where no request can reach it
-- ---------------------------------------------------------------------------

-- One row. No grant to any API role: only the owner (migrations, the server's
-- start-up with the migration URL, an operator) changes it.
create table app.deployment_settings (
  singleton boolean primary key default true check (singleton),
  quotas_enforced boolean not null default true,
  updated_at timestamptz not null default now()
);
insert into app.deployment_settings default values;
revoke all on app.deployment_settings from public;

-- Quotas refuse for every session except the owner's and superusers'. The
-- session user is the role that logged in; SET ROLE does not change it, so a
-- request cannot make itself exempt.
create or replace function app.quotas_enforced() returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select s.quotas_enforced from app.deployment_settings s), true)
       and not exists (
         select 1 from pg_catalog.pg_roles r
         where r.rolname = session_user
           and (r.rolsuper or r.oid = (select n.nspowner from pg_catalog.pg_namespace n where n.nspname = 'app'))
       )
  $$;

-- A plan's limit for a metric, from the public catalogue (-1 unlimited;
-- storage in bytes, decimal gigabytes).
create function app.limit_in_plan(p_plan public.plan_tier, p_metric public.usage_metric_type) returns bigint
  language sql stable
  set search_path = ''
  as $$
    select case p_metric
             when 'api_calls' then p.api_calls::bigint
             when 'ingestions' then p.ingestions::bigint
             when 'oracle_queries' then p.oracle_queries::bigint
             when 'seats' then p.seats::bigint
             when 'storage' then case when p.storage_gb < 0 then -1 else p.storage_gb::bigint * 1000000000 end
           end
    from public.plans p
    where p.id = p_plan
  $$;

create or replace function app.plan_limit(p_organization_id uuid, p_metric public.usage_metric_type) returns bigint
  language sql stable security definer
  set search_path = ''
  as $$
    select app.limit_in_plan(o.plan_tier, p_metric) from public.organizations o where o.id = p_organization_id
  $$;

-- The per-request meter asks whether quotas are enforced only when the plan's
-- limit is reached (the switch now costs catalogue lookups, and most requests
-- are far from their limit). Otherwise as in 007.
create or replace function app.meter_api_call(p_requested uuid)
  returns table (quota_limit bigint, used bigint, resets_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_organization uuid;
  v_limit bigint;
  v_used bigint;
  v_month date := date_trunc('month', now() at time zone 'utc')::date;
begin
  select m.organization_id, pl.api_calls into v_organization, v_limit
  from public.organization_members m
  join public.profiles p on p.id = m.user_id
  join public.organizations o on o.id = m.organization_id
  join public.plans pl on pl.id = o.plan_tier
  where m.user_id = (select auth.uid()) and (p_requested is null or m.organization_id = p_requested)
  order by (m.organization_id = p.default_organization_id) desc nulls last, m.created_at, m.organization_id
  limit 1;
  if v_organization is null then
    return;
  end if;
  insert into public.usage_counters as c (organization_id, metric, period_start, used)
    select v_organization, 'api_calls', v_month, 1
    where v_limit <> 0
    on conflict (organization_id, metric, period_start)
      do update set used = c.used + 1, updated_at = now()
      where c.used < v_limit or v_limit < 0
    returning c.used into v_used;
  if v_used is null then
    -- At the limit: refused, unless this deployment does not enforce quotas.
    -- app.add_usage counts it either way, and words the refusal.
    return query select * from app.add_usage(v_organization, 'api_calls', 1, app.quotas_enforced());
    return;
  end if;
  insert into public.usage_daily as d (organization_id, metric, day, value)
    values (v_organization, 'api_calls', (now() at time zone 'utc')::date, 1)
    on conflict (organization_id, metric, day) do update set value = d.value + 1;
  return query select v_limit, v_used, (v_month + interval '1 month')::timestamp at time zone 'utc';
end
$$;

-- ---------------------------------------------------------------------------
-- Billing: a scheduled change is a downgrade, and nothing more
-- ---------------------------------------------------------------------------

-- Runs as the caller, so current_user is the role in force: the back office
-- (service_role) and the owner schedule anything; a signed-in manager only a
-- move to a cheaper self-service plan, or from annual to monthly billing on
-- the same plan. Upgrades are applied at once with an invoice, as service_role.
create function app.guard_scheduled_plan() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_from public.plans;
  v_to public.plans;
begin
  if current_user <> 'authenticated' or new.scheduled_plan_id is null
     or (new.scheduled_plan_id, new.scheduled_interval) is not distinct from (old.scheduled_plan_id, old.scheduled_interval) then
    return new;
  end if;
  select * into v_from from public.plans p where p.id = old.plan_id;
  select * into v_to from public.plans p where p.id = new.scheduled_plan_id;
  if v_to.monthly_price < 0 then
    raise exception 'The % plan is arranged with sales, not scheduled.', v_to.name using errcode = '42501';
  end if;
  if new.scheduled_interval = 'annually' and v_to.annual_monthly_price is null then
    raise exception 'The % plan has no annual billing.', v_to.name using errcode = '23514';
  end if;
  if not (v_to.sort_order < v_from.sort_order
          or (v_to.sort_order = v_from.sort_order and old.billing_interval = 'annually' and new.scheduled_interval = 'monthly')) then
    raise exception 'Only a downgrade can be scheduled; an upgrade is applied at once with its invoice.' using errcode = '42501';
  end if;
  return new;
end
$$;
create trigger subscriptions_guard_scheduled_plan before update of scheduled_plan_id, scheduled_interval on public.subscriptions
  for each row execute function app.guard_scheduled_plan();

create or replace function app.billing_usage(p_organization_id uuid)
  returns table (seats integer, storage_bytes bigint)
  language sql stable security definer
  set search_path = ''
  as $$
    select
      (select count(*)::integer from public.organization_members m where m.organization_id = p_organization_id),
      (select coalesce(sum(f.size_bytes), 0)::bigint from public.project_files f where f.organization_id = p_organization_id)
    where app.is_organization_member(p_organization_id)
  $$;

-- ---------------------------------------------------------------------------
-- Executions: signed-in users run skills for themselves, nothing more
-- ---------------------------------------------------------------------------

create or replace function app.guard_execution_status() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    -- A habit or reflex run moves that habit's or reflex's counters; only the
    -- scheduler, the reflex functions and the API's own checked paths (all
    -- other roles than authenticated) create them.
    if current_user = 'authenticated' then
      if new.execution_type not in ('manual', 'api') or new.reference_id is not null then
        raise exception 'signed-in users start manual or api executions only' using errcode = '42501';
      end if;
      if new.status <> 'pending' then
        raise exception 'an execution starts pending' using errcode = '42501';
      end if;
    end if;
    if new.status in ('completed', 'failed', 'cancelled') then
      new.completed_at := coalesce(new.completed_at, now());
    end if;
    if new.status <> 'pending' then
      new.executed_at := coalesce(new.executed_at, now());
    end if;
    return new;
  end if;
  if new.status is distinct from old.status then
    if old.status in ('completed', 'failed', 'cancelled') then
      raise exception 'execution % has already ended (%)', old.id, old.status using errcode = '55000';
    end if;
    if old.status = 'running' and new.status = 'pending' then
      raise exception 'a running execution cannot return to pending' using errcode = '55000';
    end if;
    if current_user = 'authenticated' and new.status <> 'cancelled' then
      raise exception 'executions can only be cancelled' using errcode = '42501';
    end if;
    if new.status = 'running' then
      new.executed_at := coalesce(new.executed_at, now());
    elsif new.status in ('completed', 'failed', 'cancelled') then
      new.completed_at := coalesce(new.completed_at, now());
    end if;
  elsif old.status in ('completed', 'failed', 'cancelled') and current_user = 'authenticated' then
    raise exception 'execution % has already ended (%)', old.id, old.status using errcode = '55000';
  end if;
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- Reflexes: no function trusts a claimed role
-- ---------------------------------------------------------------------------

create or replace function app.can_manage_reflex(p_reflex_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.reflexes r
      where r.id = p_reflex_id
        and r.organization_id = (select app.current_organization_id())
        and app.can_manage_owned(r.organization_id, r.user_id)
    )
  $$;

create or replace function app.reflex_secret_created_at(p_reflex_id uuid) returns timestamptz
  language sql stable security definer
  set search_path = ''
  as $$
    select s.created_at
    from public.reflex_secrets s
    join public.reflexes r on r.id = s.reflex_id
    where s.reflex_id = p_reflex_id
      and r.organization_id = (select app.current_organization_id())
      and app.is_organization_member(r.organization_id)
  $$;

-- The one way a reflex starts its skill: an execution of type reflex, owned
-- by the reflex's owner, pending for the worker; null when the reflex or its
-- skill is inactive. Back-office work (signed webhooks) calls it directly; the
-- request roles cannot (no grant), and reach it through app.fire_reflex.
create function app.start_reflex_run(p_reflex_id uuid, p_input jsonb) returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_reflex public.reflexes;
  v_skill_active boolean;
  v_execution uuid;
begin
  select * into v_reflex from public.reflexes where id = p_reflex_id;
  if not found then
    raise exception 'there is no such reflex' using errcode = '42501';
  end if;
  select s.is_active into v_skill_active from public.skills s where s.id = v_reflex.skill_id;
  if not v_reflex.is_active or not coalesce(v_skill_active, false) then
    return null;
  end if;
  insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, input)
    values (v_reflex.organization_id, v_reflex.skill_id, v_reflex.user_id, 'reflex', v_reflex.id, coalesce(p_input, '{}'::jsonb))
    returning id into v_execution;
  return v_execution;
end
$$;

-- Members fire the event and file_change reflexes of their selected organization.
create or replace function app.fire_reflex(p_reflex_id uuid, p_input jsonb) returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_reflex public.reflexes;
begin
  select * into v_reflex from public.reflexes where id = p_reflex_id;
  if not found
     or v_reflex.organization_id is distinct from (select app.current_organization_id())
     or not app.is_organization_member(v_reflex.organization_id)
     or v_reflex.trigger_type not in ('event', 'file_change') then
    raise exception 'you may not fire this reflex' using errcode = '42501';
  end if;
  return app.start_reflex_run(p_reflex_id, p_input);
end
$$;

-- ---------------------------------------------------------------------------
-- Organization members: added by email, without handing out user ids
-- ---------------------------------------------------------------------------

drop function app.member_candidate(uuid, text);
revoke insert on public.organization_members from authenticated;

-- outcome: added | already_member | no_account | forbidden. The seats quota
-- is checked by the membership trigger (QUOTA error).
create function app.add_organization_member(p_organization_id uuid, p_email text, p_role public.organization_role)
  returns table (outcome text, user_id uuid)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_caller_role public.organization_role := app.organization_role(p_organization_id);
  v_user uuid;
begin
  if v_caller_role is null or not (v_caller_role = 'owner' or (v_caller_role = 'admin' and p_role = 'member')) then
    return query select 'forbidden'::text, null::uuid;
    return;
  end if;
  select p.id into v_user from public.profiles p where lower(p.email) = lower(p_email);
  if v_user is null then
    return query select 'no_account'::text, null::uuid;
    return;
  end if;
  insert into public.organization_members (organization_id, user_id, role)
    values (p_organization_id, v_user, p_role)
    on conflict do nothing;
  if not found then
    return query select 'already_member'::text, null::uuid;
    return;
  end if;
  return query select 'added'::text, v_user;
end
$$;

-- ---------------------------------------------------------------------------
-- Project members, invitations, ingestions and files: what the API fills in
-- ---------------------------------------------------------------------------

-- Runs as the caller; only signed-in users are held to it (the database's own
-- functions, the back office and the owner are trusted). Named to run after
-- project_members_organization, which fills organization_id.
create function app.verify_project_member_person() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user <> 'authenticated' then
    return new;
  end if;
  -- The caller edits the project, so they are a member of its organization and
  -- can read its memberships and those people's profiles.
  if not exists (
    select 1 from public.organization_members m join public.profiles p on p.id = m.user_id
    where m.organization_id = new.organization_id and m.user_id = new.user_id and lower(p.email) = lower(new.email)
  ) then
    raise exception 'a project member must be a member of the organization, with their own email' using errcode = '42501';
  end if;
  return new;
end
$$;
create trigger project_members_verify_person before insert on public.project_members
  for each row execute function app.verify_project_member_person();

create function app.guard_invitation_write() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user <> 'authenticated' then
    return new;
  end if;
  if tg_op = 'INSERT' then
    new.invited_by := (select auth.uid());
  elsif new.status = 'accepted' and old.status is distinct from 'accepted' then
    raise exception 'invitations are accepted by the invitee only' using errcode = '42501';
  end if;
  if new.expires_at > now() + interval '30 days' then
    raise exception 'an invitation is valid for at most 30 days' using errcode = '23514';
  end if;
  return new;
end
$$;
create trigger project_invitations_guard_write before insert or update on public.project_invitations
  for each row execute function app.guard_invitation_write();

create function app.stamp_ingestion_starter() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user = 'authenticated' then
    new.started_by := (select auth.uid());
  end if;
  return new;
end
$$;
create trigger ingestion_progress_stamp_starter before insert on public.ingestion_progress
  for each row execute function app.stamp_ingestion_starter();

-- The API normalizes paths first; this keeps any other writer to the same
-- rule: relative, no '.' or '..' segments (a backslash counts as a separator
-- here, as it does on Windows), no control characters.
alter table public.project_files add constraint project_files_path_safe check (
  path !~ '^[/\\]'
  and path !~ '(^|[/\\])\.{1,2}([/\\]|$)'
  and path !~ '[[:cntrl:]]'
) not valid;

-- ---------------------------------------------------------------------------
-- Who may execute what
-- ---------------------------------------------------------------------------

-- Functions are executable by PUBLIC by default; the earlier migrations give
-- every function in schema app to both request roles. These are narrower:
-- internal helpers go to nobody (the definer functions and triggers that use
-- them run as the owner), start_reflex_run to the back office only. The
-- security regression suite holds the complete list of what each role may
-- execute, so a later blanket grant cannot widen it unnoticed.
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;
revoke execute on function app.plan_limit(uuid, public.usage_metric_type) from authenticated, service_role;
revoke execute on function app.add_usage(uuid, public.usage_metric_type, bigint, boolean) from authenticated, service_role;
revoke execute on function app.quotas_enforced() from authenticated, service_role;
revoke execute on function app.start_reflex_run(uuid, jsonb) from authenticated;

-- migrate:down

alter table public.project_files drop constraint if exists project_files_path_safe;
drop trigger if exists ingestion_progress_stamp_starter on public.ingestion_progress;
drop function if exists app.stamp_ingestion_starter();
drop trigger if exists project_invitations_guard_write on public.project_invitations;
drop function if exists app.guard_invitation_write();
drop trigger if exists project_members_verify_person on public.project_members;
drop function if exists app.verify_project_member_person();
drop function if exists app.add_organization_member(uuid, text, public.organization_role);
grant insert on public.organization_members to authenticated;
create function app.member_candidate(p_organization_id uuid, p_email text) returns uuid
  language sql stable security definer
  set search_path = ''
  as $$
    select p.id from public.profiles p
    where lower(p.email) = lower(p_email)
      and app.organization_role(p_organization_id) in ('owner', 'admin')
  $$;

create or replace function app.fire_reflex(p_reflex_id uuid, p_input jsonb) returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_reflex public.reflexes;
  v_skill_active boolean;
  v_execution uuid;
begin
  select * into v_reflex from public.reflexes where id = p_reflex_id;
  if not found then
    raise exception 'there is no such reflex' using errcode = '42501';
  end if;
  if not coalesce((select auth.role()) = 'service_role', false) then
    if v_reflex.organization_id is distinct from (select app.current_organization_id())
       or not app.is_organization_member(v_reflex.organization_id)
       or v_reflex.trigger_type not in ('event', 'file_change') then
      raise exception 'you may not fire this reflex' using errcode = '42501';
    end if;
  end if;
  select s.is_active into v_skill_active from public.skills s where s.id = v_reflex.skill_id;
  if not v_reflex.is_active or not coalesce(v_skill_active, false) then
    return null;
  end if;
  insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, input)
    values (v_reflex.organization_id, v_reflex.skill_id, v_reflex.user_id, 'reflex', v_reflex.id, coalesce(p_input, '{}'::jsonb))
    returning id into v_execution;
  return v_execution;
end
$$;
drop function if exists app.start_reflex_run(uuid, jsonb);

create or replace function app.reflex_secret_created_at(p_reflex_id uuid) returns timestamptz
  language sql stable security definer
  set search_path = ''
  as $$
    select s.created_at
    from public.reflex_secrets s
    join public.reflexes r on r.id = s.reflex_id
    where s.reflex_id = p_reflex_id
      and (
        coalesce((select auth.role()) = 'service_role', false)
        or (r.organization_id = (select app.current_organization_id()) and app.is_organization_member(r.organization_id))
      )
  $$;

create or replace function app.can_manage_reflex(p_reflex_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select auth.role()) = 'service_role', false) or exists (
      select 1 from public.reflexes r
      where r.id = p_reflex_id
        and r.organization_id = (select app.current_organization_id())
        and app.can_manage_owned(r.organization_id, r.user_id)
    )
  $$;

create or replace function app.billing_usage(p_organization_id uuid)
  returns table (seats integer, storage_bytes bigint)
  language sql stable security definer
  set search_path = ''
  as $$
    select
      (select count(*)::integer from public.organization_members m where m.organization_id = p_organization_id),
      (select coalesce(sum(f.size_bytes), 0)::bigint from public.project_files f where f.organization_id = p_organization_id)
    where app.is_organization_member(p_organization_id) or (select auth.role()) = 'service_role'
  $$;

create or replace function app.guard_execution_status() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    if new.status in ('completed', 'failed', 'cancelled') then
      new.completed_at := coalesce(new.completed_at, now());
    end if;
    if new.status <> 'pending' then
      new.executed_at := coalesce(new.executed_at, now());
    end if;
    return new;
  end if;
  if new.status is distinct from old.status then
    if old.status in ('completed', 'failed', 'cancelled') then
      raise exception 'execution % has already ended (%)', old.id, old.status using errcode = '55000';
    end if;
    if old.status = 'running' and new.status = 'pending' then
      raise exception 'a running execution cannot return to pending' using errcode = '55000';
    end if;
    if current_user = 'authenticated' and new.status <> 'cancelled' then
      raise exception 'executions can only be cancelled' using errcode = '42501';
    end if;
    if new.status = 'running' then
      new.executed_at := coalesce(new.executed_at, now());
    elsif new.status in ('completed', 'failed', 'cancelled') then
      new.completed_at := coalesce(new.completed_at, now());
    end if;
  elsif old.status in ('completed', 'failed', 'cancelled') and current_user = 'authenticated' then
    raise exception 'execution % has already ended (%)', old.id, old.status using errcode = '55000';
  end if;
  return new;
end
$$;

drop trigger if exists subscriptions_guard_scheduled_plan on public.subscriptions;
drop function if exists app.guard_scheduled_plan();

create or replace function app.quotas_enforced() returns boolean
  language sql stable
  set search_path = ''
  as $$
    select coalesce(current_setting('request.jwt.claims', true), '') <> ''
       and coalesce(nullif(current_setting('app.quotas_enabled', true), ''), 'on') <> 'off'
  $$;
drop table if exists app.deployment_settings;

create or replace function app.plan_limit(p_organization_id uuid, p_metric public.usage_metric_type) returns bigint
  language sql stable security definer
  set search_path = ''
  as $$
    select case p_metric
             when 'api_calls' then p.api_calls::bigint
             when 'ingestions' then p.ingestions::bigint
             when 'oracle_queries' then p.oracle_queries::bigint
             when 'seats' then p.seats::bigint
             when 'storage' then case when p.storage_gb < 0 then -1 else p.storage_gb::bigint * 1000000000 end
           end
    from public.organizations o join public.plans p on p.id = o.plan_tier
    where o.id = p_organization_id
  $$;
drop function if exists app.limit_in_plan(public.plan_tier, public.usage_metric_type);
revoke select on public.schema_migrations from service_role;

revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;
-- meter_api_call keeps its new body: it answers as before.
-- The authenticator role is cluster-wide and may serve other databases: it stays.
