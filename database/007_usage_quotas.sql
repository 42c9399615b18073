-- Usage metering and plan quotas, and the rules for organization members.
--
-- Every metered action adds to a per-organization counter row: API calls and
-- ingestions per calendar month (UTC), oracle queries (skill executions) per
-- day (UTC), storage (bytes of project files) and seats (members) as running
-- levels. A counter row is the lock that makes a quota exact: the increment is
-- a single INSERT ... ON CONFLICT DO UPDATE ... WHERE used + n <= limit, so two
-- transactions can never both take the last unit. Over the limit the statement
-- raises SQLSTATE QUOTA (detail: JSON with metric, limit, used, remaining and
-- reset), the API answers 429 and the transaction rolls back.
--
-- Triggers meter ingestions, skill executions, project files and memberships,
-- so no handler can forget a quota. API calls are metered by the API itself,
-- in a short transaction of its own ahead of the request's (same round trip),
-- so that counter row is never held for the length of a request. (The other
-- counters are, on purpose: the insert they count may still roll back.)
--
-- Quotas are checked for writes made under a request identity
-- (request.jwt.claims: API requests, background workers, Supabase's Data API)
-- unless the transaction says app.quotas_enabled = off. Writes by the
-- database owner (migrations, seeds, operators) are counted but never refused.
-- usage_daily keeps one row per organization, metric and day, so the 30-day
-- trend of GET /billing/usage reads at most 30 rows per metric.

-- migrate:up

create table public.usage_counters (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  metric public.usage_metric_type not null,
  -- First day of the month (api_calls, ingestions), the day (oracle_queries),
  -- or 1970-01-01 for the running levels (storage in bytes, seats).
  period_start date not null,
  used bigint not null default 0 check (used >= 0),
  updated_at timestamptz not null default now(),
  primary key (organization_id, metric, period_start)
);

create table public.usage_daily (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  metric public.usage_metric_type not null,
  day date not null,
  -- Units used that day (api_calls, ingestions, oracle_queries), or the level
  -- at the day's last change (storage in bytes, seats).
  value bigint not null default 0 check (value >= 0),
  primary key (organization_id, metric, day)
);

alter table public.usage_counters enable row level security;
alter table public.usage_counters force row level security;
alter table public.usage_daily enable row level security;
alter table public.usage_daily force row level security;

-- Every member of the selected organization reads its usage; only the
-- metering functions (running as their owner) write it.
create policy usage_counters_select on public.usage_counters for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
  );
create policy usage_daily_select on public.usage_daily for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
  );
grant select on public.usage_counters, public.usage_daily to authenticated;
grant select, insert, update, delete on public.usage_counters, public.usage_daily to service_role;

-- ---------------------------------------------------------------------------
-- Metering
-- ---------------------------------------------------------------------------

-- Quotas apply to writes under a request identity, unless the API runs with
-- QUOTAS_ENABLED=false (it then sets app.quotas_enabled = off).
create function app.quotas_enforced() returns boolean
  language sql stable
  set search_path = ''
  as $$
    select coalesce(current_setting('request.jwt.claims', true), '') <> ''
       and coalesce(nullif(current_setting('app.quotas_enabled', true), ''), 'on') <> 'off'
  $$;

-- The counting period of a metric and when it ends. Storage and seats never
-- reset by time; their reset is the end of the billing month, when a plan
-- change takes effect at the latest.
create function app.usage_period(p_metric public.usage_metric_type)
  returns table (period_start date, resets_at timestamptz)
  language sql stable
  set search_path = ''
  as $$
    select
      case p_metric
        when 'oracle_queries' then (now() at time zone 'utc')::date
        when 'api_calls' then date_trunc('month', now() at time zone 'utc')::date
        when 'ingestions' then date_trunc('month', now() at time zone 'utc')::date
        else date '1970-01-01'
      end,
      case p_metric
        when 'oracle_queries' then ((now() at time zone 'utc')::date + 1)::timestamp at time zone 'utc'
        else (date_trunc('month', now() at time zone 'utc') + interval '1 month') at time zone 'utc'
      end
  $$;

-- The limit of the organization's plan for a metric (-1 unlimited); storage in
-- bytes (decimal gigabytes: 10^9 bytes). Null when the organization is gone.
create function app.plan_limit(p_organization_id uuid, p_metric public.usage_metric_type) returns bigint
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

-- Adds p_amount (negative to give back) to a counter, refusing past the
-- plan's limit when p_enforce. SECURITY INVOKER on purpose: the usage tables
-- grant no writes to authenticated, so a direct call fails; the metering
-- triggers and app.meter_api_call run it as the owner.
create function app.add_usage(p_organization_id uuid, p_metric public.usage_metric_type, p_amount bigint, p_enforce boolean)
  returns table (quota_limit bigint, used bigint, resets_at timestamptz)
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_limit bigint := app.plan_limit(p_organization_id, p_metric);
  v_period date;
  v_reset timestamptz;
  v_used bigint;
  v_today date := (now() at time zone 'utc')::date;
  v_plan text;
begin
  if v_limit is null then
    -- The organization is being deleted (cascade): nothing left to count.
    return;
  end if;
  select u.period_start, u.resets_at into v_period, v_reset from app.usage_period(p_metric) u;

  if p_amount > 0 and p_enforce and v_limit >= 0 then
    -- One statement takes the unit or refuses it: a concurrent increment waits
    -- on the row and re-checks the condition against the committed value.
    insert into public.usage_counters as c (organization_id, metric, period_start, used)
      select p_organization_id, p_metric, v_period, p_amount where p_amount <= v_limit
      on conflict (organization_id, metric, period_start)
        do update set used = c.used + excluded.used, updated_at = now()
        where c.used + excluded.used <= v_limit
      returning c.used into v_used;
    if v_used is null then
      select c.used into v_used from public.usage_counters c
        where c.organization_id = p_organization_id and c.metric = p_metric and c.period_start = v_period;
      v_used := coalesce(v_used, 0);
      select o.plan_tier::text into v_plan from public.organizations o where o.id = p_organization_id;
      raise exception '%', case p_metric
          when 'seats' then format(
            'The %s plan has %s seat(s) and all are taken; remove a member or upgrade the plan.', v_plan, v_limit)
          when 'storage' then format(
            'The %s plan allows %s GB of project files and %s bytes are in use; delete files or upgrade the plan.',
            v_plan, v_limit / 1000000000, v_used)
          else format(
            'The %s plan allows %s %s; the quota resets at %s.',
            v_plan, v_limit,
            case p_metric
              when 'api_calls' then 'API calls per month'
              when 'ingestions' then 'ingestions per month'
              else 'oracle queries (skill executions) per day'
            end,
            to_char(v_reset at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
        end
        using errcode = 'QUOTA',
              detail = json_build_object(
                'metric', p_metric,
                'limit', v_limit,
                'used', v_used,
                'remaining', greatest(v_limit - v_used, 0),
                'reset', extract(epoch from v_reset)::bigint
              )::text;
    end if;
  elsif p_amount > 0 then
    insert into public.usage_counters as c (organization_id, metric, period_start, used)
      values (p_organization_id, p_metric, v_period, p_amount)
      on conflict (organization_id, metric, period_start)
        do update set used = c.used + excluded.used, updated_at = now()
      returning c.used into v_used;
  elsif p_amount < 0 then
    update public.usage_counters c
      set used = greatest(c.used + p_amount, 0), updated_at = now()
      where c.organization_id = p_organization_id and c.metric = p_metric and c.period_start = v_period
      returning c.used into v_used;
  end if;

  if p_metric in ('storage', 'seats') then
    insert into public.usage_daily as d (organization_id, metric, day, value)
      values (p_organization_id, p_metric, v_today, coalesce(v_used, 0))
      on conflict (organization_id, metric, day) do update set value = excluded.value;
  elsif p_amount > 0 then
    insert into public.usage_daily as d (organization_id, metric, day, value)
      values (p_organization_id, p_metric, v_today, p_amount)
      on conflict (organization_id, metric, day) do update set value = d.value + excluded.value;
  end if;
  return query select v_limit, v_used, v_reset;
end
$$;

-- API calls: one per authenticated request, for the organization the request
-- resolves to (X-Organization-Id or the caller's default, chosen exactly as
-- app.begin_request chooses it). The API runs it in a short transaction of its
-- own, committed before the request's begins. It runs on every request, so the
-- usual path is two statements: one lookup (organization and plan limit) and
-- one upsert, plus the day's row for the trend; app.add_usage only words the
-- refusal. Returns nothing for a caller without a profile or organization yet.
create function app.meter_api_call(p_requested uuid)
  returns table (quota_limit bigint, used bigint, resets_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_organization uuid;
  v_limit bigint;
  v_used bigint;
  v_month date := date_trunc('month', now() at time zone 'utc')::date;
  v_enforced boolean := app.quotas_enforced();
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
    where v_limit <> 0 or not v_enforced
    on conflict (organization_id, metric, period_start)
      do update set used = c.used + 1, updated_at = now()
      where c.used < v_limit or v_limit < 0 or not v_enforced
    returning c.used into v_used;
  if v_used is null then
    -- Refused: app.add_usage tries once more and raises the worded QUOTA error.
    return query select * from app.add_usage(v_organization, 'api_calls', 1, true);
    return;
  end if;
  insert into public.usage_daily as d (organization_id, metric, day, value)
    values (v_organization, 'api_calls', (now() at time zone 'utc')::date, 1)
    on conflict (organization_id, metric, day) do update set value = d.value + 1;
  return query select v_limit, v_used, (v_month + interval '1 month')::timestamp at time zone 'utc';
end
$$;

create function app.meter_seats() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform app.add_usage(new.organization_id, 'seats', 1, app.quotas_enforced());
  else
    perform app.add_usage(old.organization_id, 'seats', -1, false);
  end if;
  return null;
end
$$;

create function app.meter_storage() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform app.add_usage(new.organization_id, 'storage', new.size_bytes, app.quotas_enforced());
  elsif tg_op = 'DELETE' then
    perform app.add_usage(old.organization_id, 'storage', -old.size_bytes, false);
  elsif new.size_bytes <> old.size_bytes then
    perform app.add_usage(new.organization_id, 'storage', new.size_bytes - old.size_bytes, app.quotas_enforced());
  end if;
  return null;
end
$$;

create function app.meter_ingestions() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  perform app.add_usage(new.organization_id, 'ingestions', 1, app.quotas_enforced());
  return null;
end
$$;

create function app.meter_oracle_queries() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  perform app.add_usage(new.organization_id, 'oracle_queries', 1, app.quotas_enforced());
  return null;
end
$$;

-- AFTER triggers: an INSERT ... ON CONFLICT DO NOTHING that inserts nothing
-- (accepting an invitation as an existing member) takes no seat.
create trigger organization_members_meter_seats after insert or delete on public.organization_members
  for each row execute function app.meter_seats();
create trigger project_files_meter_storage after insert or delete or update of size_bytes on public.project_files
  for each row execute function app.meter_storage();
create trigger ingestion_progress_meter after insert on public.ingestion_progress
  for each row execute function app.meter_ingestions();
create trigger skill_executions_meter after insert on public.skill_executions
  for each row execute function app.meter_oracle_queries();

-- The running levels start from what exists.
insert into public.usage_counters (organization_id, metric, period_start, used)
  select m.organization_id, 'seats', date '1970-01-01', count(*) from public.organization_members m group by m.organization_id;
insert into public.usage_counters (organization_id, metric, period_start, used)
  select f.organization_id, 'storage', date '1970-01-01', sum(f.size_bytes) from public.project_files f group by f.organization_id;
insert into public.usage_daily (organization_id, metric, day, value)
  select c.organization_id, c.metric, (now() at time zone 'utc')::date, c.used
  from public.usage_counters c where c.metric in ('seats', 'storage');

-- ---------------------------------------------------------------------------
-- Organization members
-- ---------------------------------------------------------------------------

-- An organization always keeps an owner: the last one can neither leave nor be
-- demoted. Owner changes of one organization are serialized on its row, so two
-- owners demoting each other at once cannot both succeed. Deleting the
-- organization, or the owner's account, takes the membership with it.
create function app.keep_an_owner() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner') then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  if not exists (select 1 from public.organizations o where o.id = old.organization_id)
     or (tg_op = 'DELETE' and not exists (select 1 from public.profiles p where p.id = old.user_id)) then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  perform 1 from public.organizations o where o.id = old.organization_id for no key update;
  if not exists (
    select 1 from public.organization_members m
    where m.organization_id = old.organization_id and m.role = 'owner' and m.user_id <> old.user_id
  ) then
    raise exception 'An organization needs an owner: make another member an owner first.' using errcode = '55000';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end
$$;
create trigger organization_members_keep_an_owner before update of role or delete on public.organization_members
  for each row execute function app.keep_an_owner();

-- The member list's order (oldest membership first).
create index organization_members_organization_created_idx
  on public.organization_members (organization_id, created_at, user_id);

-- Anyone may leave an organization (the last owner excepted, above).
create policy organization_members_delete_self on public.organization_members for delete to authenticated
  using (user_id = (select auth.uid()));

-- Adding a member by email: profiles of people outside the caller's
-- organizations are hidden, so owners and admins of the organization look the
-- address up here. Everyone else learns nothing (null).
create function app.member_candidate(p_organization_id uuid, p_email text) returns uuid
  language sql stable security definer
  set search_path = ''
  as $$
    select p.id from public.profiles p
    where lower(p.email) = lower(p_email)
      and app.organization_role(p_organization_id) in ('owner', 'admin')
  $$;

revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;

-- migrate:down

drop function if exists app.member_candidate(uuid, text);
drop policy if exists organization_members_delete_self on public.organization_members;
drop index if exists public.organization_members_organization_created_idx;
drop trigger if exists organization_members_keep_an_owner on public.organization_members;
drop function if exists app.keep_an_owner();
drop trigger if exists skill_executions_meter on public.skill_executions;
drop trigger if exists ingestion_progress_meter on public.ingestion_progress;
drop trigger if exists project_files_meter_storage on public.project_files;
drop trigger if exists organization_members_meter_seats on public.organization_members;
drop function if exists app.meter_oracle_queries();
drop function if exists app.meter_ingestions();
drop function if exists app.meter_storage();
drop function if exists app.meter_seats();
drop function if exists app.meter_api_call(uuid);
drop function if exists app.add_usage(uuid, public.usage_metric_type, bigint, boolean);
drop function if exists app.plan_limit(uuid, public.usage_metric_type);
drop function if exists app.usage_period(public.usage_metric_type);
drop function if exists app.quotas_enforced();
drop table if exists public.usage_daily;
drop table if exists public.usage_counters;
