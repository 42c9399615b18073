-- Organization API keys, and what a request made with one may do:
--   * a key belongs to an organization and acts as the member who created it,
--     pinned to that organization, with the member's role capped by the key's
--     scope (read and write: member; admin: up to admin). The API puts the key
--     in the request's claims (request.jwt.claims -> 'api_key'); the
--     membership helpers below honour it, so the database sees the capped role
--     whatever a handler does. A claim can only narrow what the user may do.
--   * begin_request refuses a revoked or expired key, and a key whose creator
--     is no longer an active member (28000, a 401), on every request.
--   * only calls made with a key count against the plan's monthly API calls.
--   * ingestion workers claim pending ingestions with a lease; only the holder
--     of a live claim reports progress.
-- Only a hash of each secret is stored; nobody can read it back.

-- migrate:up

create type public.api_key_scope as enum ('read', 'write', 'admin');

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  created_by uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  name text not null constraint api_keys_name_check
    check (char_length(name) between 1 and 100 and btrim(name) <> '' and name !~ '[[:cntrl:]]'),
  -- The public part of the secret, shown in lists as its prefix.
  public_id text not null constraint api_keys_public_id_key unique constraint api_keys_public_id_check check (public_id ~ '^[a-z0-9]{12}$'),
  -- sha256 of the whole secret: 32 random bytes make a slow hash unnecessary.
  secret_hash bytea not null constraint api_keys_secret_hash_key unique constraint api_keys_secret_hash_check check (octet_length(secret_hash) = 32),
  scopes public.api_key_scope[] not null constraint api_keys_scopes_check
    check (cardinality(scopes) between 1 and 3 and array_position(scopes, null) is null),
  expires_at timestamptz,
  revoked_at timestamptz,
  -- Kept by the API in batches (never one write per request).
  last_used_at timestamptz,
  usage_count bigint not null default 0 check (usage_count >= 0),
  created_at timestamptz not null default now(),
  constraint api_keys_expiry_check check (expires_at is null or (expires_at > created_at and expires_at < '10000-01-01 00:00:00Z'))
);
create index api_keys_organization_created_idx on public.api_keys (organization_id, created_at desc, id desc);

-- The strongest of a key's scopes decides what it may do.
create function app.api_key_scope_of(p_scopes public.api_key_scope[]) returns public.api_key_scope
  language sql immutable
  set search_path = ''
  as $$ select max(s) from unnest(p_scopes) s $$;

-- The API key a request is made with (its claim), or null for any other caller.
create function app.api_key_claim() returns jsonb
  language sql stable
  set search_path = ''
  as $$ select nullif(current_setting('request.jwt.claims', true), '')::jsonb -> 'api_key' $$;

-- A key is created as it is (no usage, not revoked) and only ever changes by
-- being revoked, once, at the moment it happens.
create function app.guard_api_key() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    if current_user = 'authenticated' then
      new.created_at := now();
      new.revoked_at := null;
      new.last_used_at := null;
      new.usage_count := 0;
    end if;
    return new;
  end if;
  if new.organization_id <> old.organization_id or new.created_by <> old.created_by or new.secret_hash <> old.secret_hash
     or new.public_id <> old.public_id or new.created_at <> old.created_at then
    raise exception 'an API key cannot move or change its secret' using errcode = '23514';
  end if;
  if old.revoked_at is not null and new.revoked_at is distinct from old.revoked_at then
    raise exception 'This API key is already revoked.' using errcode = '55000';
  end if;
  if old.revoked_at is null and new.revoked_at is not null then
    new.revoked_at := now();
  end if;
  return new;
end
$$;
create trigger api_keys_guard before insert or update on public.api_keys
  for each row execute function app.guard_api_key();

alter table public.api_keys enable row level security;
alter table public.api_keys force row level security;

-- Owners and admins manage the organization's keys (a key itself only with
-- the admin scope: organization_role caps the others to member).
create policy api_keys_select on public.api_keys for select to authenticated
  using (app.organization_role(organization_id) in ('owner', 'admin'));
create policy api_keys_insert on public.api_keys for insert to authenticated
  with check (app.organization_role(organization_id) in ('owner', 'admin') and created_by = (select auth.uid()));
create policy api_keys_update on public.api_keys for update to authenticated
  using (app.organization_role(organization_id) in ('owner', 'admin'))
  with check (app.organization_role(organization_id) in ('owner', 'admin'));

-- The hash is never readable by a request role; usage is written by the API as service_role.
grant select (id, organization_id, created_by, name, public_id, scopes, expires_at, revoked_at, last_used_at, usage_count, created_at)
  on public.api_keys to authenticated;
grant insert (organization_id, created_by, name, public_id, secret_hash, scopes, expires_at) on public.api_keys to authenticated;
grant update (revoked_at) on public.api_keys to authenticated;
grant select, insert, update, delete on public.api_keys to service_role;

-- ---------------------------------------------------------------------------
-- The membership helpers, honouring a key (latest definitions: 009)
-- ---------------------------------------------------------------------------

-- As in 009 (active memberships only); with a key, only the key's
-- organization has a role, capped by the key's scope.
create or replace function app.organization_role(p_organization_id uuid) returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$
    select case
      when c.k is null then m.role
      when (c.k ->> 'organization_id')::uuid is distinct from p_organization_id then null
      when c.k ->> 'scope' = 'admin' and m.role = 'owner' then 'admin'::public.organization_role
      when c.k ->> 'scope' = 'admin' then m.role
      else 'member'::public.organization_role
    end
    from public.organization_members m
    cross join (select app.api_key_claim() as k) c
    where m.organization_id = p_organization_id and m.user_id = (select auth.uid()) and m.status = 'active'
  $$;

-- As in 009 for signed-in users. With a key: the key must be live (not
-- revoked, not expired, its claim matching the stored key) and its creator
-- an active member of its organization, else 28000 (401); the request acts in
-- the key's organization only (another one is no organization: 404), with
-- the capped role. Key traffic does not stamp the member's activity: a
-- machine calling is not the person being active.
create or replace function app.begin_request(p_requested uuid)
  returns table (known boolean, organization_id uuid, organization_role public.organization_role)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_key jsonb := app.api_key_claim();
  v_default uuid;
  v_org uuid;
  v_role public.organization_role;
  v_seen timestamptz;
begin
  select p.default_organization_id into v_default from public.profiles p where p.id = v_user;
  if not found then
    if v_key is not null then
      raise exception 'The account that created this API key no longer exists.' using errcode = '28000';
    end if;
    return query select false, null::uuid, null::public.organization_role;
    return;
  end if;
  if v_key is not null then
    perform 1 from public.api_keys k
    where k.id = (v_key ->> 'id')::uuid and k.organization_id = (v_key ->> 'organization_id')::uuid
      and k.created_by = v_user and app.api_key_scope_of(k.scopes)::text = v_key ->> 'scope'
      and k.revoked_at is null and (k.expires_at is null or k.expires_at > now());
    if not found then
      raise exception 'This API key has been revoked or has expired.' using errcode = '28000';
    end if;
    select m.organization_id into v_org
    from public.organization_members m
    where m.organization_id = (v_key ->> 'organization_id')::uuid and m.user_id = v_user and m.status = 'active';
    if v_org is null then
      raise exception 'The member who created this API key is no longer active in its organization.' using errcode = '28000';
    end if;
    if p_requested is not null and p_requested <> v_org then
      perform set_config('app.organization_id', '', true);
      return query select true, null::uuid, null::public.organization_role;
      return;
    end if;
    perform set_config('app.organization_id', v_org::text, true);
    return query select true, v_org, app.organization_role(v_org);
    return;
  end if;
  if p_requested is not null then
    select m.organization_id, m.role, m.last_active_at into v_org, v_role, v_seen
    from public.organization_members m
    where m.organization_id = p_requested and m.user_id = v_user and m.status = 'active';
  else
    select m.organization_id, m.role, m.last_active_at into v_org, v_role, v_seen
    from public.organization_members m
    where m.user_id = v_user and m.status = 'active'
    order by (m.organization_id = v_default) desc nulls last, m.created_at, m.organization_id
    limit 1;
  end if;
  if v_org is not null and (v_seen is null or v_seen < now() - interval '5 minutes') then
    update public.organization_members m set last_active_at = now()
    where (m.organization_id, m.user_id) in (
      select s.organization_id, s.user_id from public.organization_members s
      where s.organization_id = v_org and s.user_id = v_user
      for update skip locked
    );
  end if;
  perform set_config('app.organization_id', coalesce(v_org::text, ''), true);
  return query select true, v_org, v_role;
end
$$;

-- As in 013, but only calls made with a live API key count: the plan's
-- apiCalls are the public API's. A signed-in user's session traffic is
-- answered by the API's burst limit instead, and returns no row here.
create or replace function app.meter_api_call(p_requested uuid)
  returns table (quota_limit bigint, used bigint, resets_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
  v_organization uuid;
  v_limit bigint;
  v_used bigint;
  v_month date := date_trunc('month', now() at time zone 'utc')::date;
begin
  if v_key is null then
    return;
  end if;
  select m.organization_id, pl.api_calls into v_organization, v_limit
  from public.api_keys k
  join public.organization_members m on m.organization_id = k.organization_id and m.user_id = k.created_by
  join public.organizations o on o.id = m.organization_id
  join public.plans pl on pl.id = o.plan_tier
  where k.id = (v_key ->> 'id')::uuid and k.created_by = (select auth.uid()) and m.status = 'active'
    and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
    and (p_requested is null or m.organization_id = p_requested);
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
-- Ingestion claims: a worker (an API key) holds a pending ingestion under a lease
-- ---------------------------------------------------------------------------

alter table public.ingestion_progress
  add column claimed_by uuid references public.api_keys (id) on delete set null,
  add column claimed_at timestamptz,
  add column lease_seconds integer check (lease_seconds between 10 and 3600),
  add column lease_expires_at timestamptz,
  add constraint ingestion_progress_claim_whole check (
    (claimed_by is null) = (lease_expires_at is null) and (claimed_at is null) = (lease_expires_at is null)
    and (lease_seconds is null) = (lease_expires_at is null)
  ) not valid;
alter table public.ingestion_progress validate constraint ingestion_progress_claim_whole;

-- Unfinished ingestions by organization, for the workers' list and claim.
create index ingestion_progress_unfinished_org_idx on public.ingestion_progress (organization_id, started_at, id)
  where completed_at is null and error_message is null and cancelled_at is null;

-- Claims the given unfinished ingestion, or the oldest one, of the key's
-- organization that nobody holds (or whose lease ran out): exclusive under
-- concurrency (SKIP LOCKED: a row another claim is taking is passed over).
-- Only keys with the write or admin scope claim; no row when none is free.
create function app.claim_ingestion(p_ingestion uuid, p_lease_seconds integer)
  returns table (ingestion_id uuid, project_id uuid, lease_expires_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
  v_org uuid := app.current_organization_id();
begin
  if v_key is null or coalesce(v_key ->> 'scope', '') not in ('write', 'admin') or v_org is null
     or app.organization_role(v_org) is null then
    raise exception 'Only API keys with the write or admin scope claim ingestions.' using errcode = '42501';
  end if;
  if p_lease_seconds is null or p_lease_seconds not between 10 and 3600 then
    raise exception 'A lease lasts between 10 and 3600 seconds.' using errcode = '22023';
  end if;
  return query
  update public.ingestion_progress i
  set claimed_by = (v_key ->> 'id')::uuid, claimed_at = now(), lease_seconds = p_lease_seconds,
      lease_expires_at = now() + make_interval(secs => p_lease_seconds)
  where i.id = (
    select c.id from public.ingestion_progress c
    where c.organization_id = v_org
      and c.completed_at is null and c.error_message is null and c.cancelled_at is null
      and (c.claimed_by is null or c.lease_expires_at <= now())
      and (p_ingestion is null or c.id = p_ingestion)
      and app.can_read_project(c.project_id)
    order by c.started_at, c.id
    limit 1
    for update skip locked
  )
  returning i.id, i.project_id, i.lease_expires_at;
end
$$;

-- A key reports progress only on an ingestion it holds under a live lease;
-- each report renews the lease. Cancelling (an editor's act) and back-office
-- callers (no key) are not held to claims.
create function app.guard_ingestion_claim() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
begin
  if v_key is null then
    return new;
  end if;
  if (new.phase, new.progress_percent, new.message, new.metrics, new.estimated_completion_at, new.completed_at,
      new.error_message, new.error_code, new.original_tokens, new.optimized_tokens)
     is not distinct from
     (old.phase, old.progress_percent, old.message, old.metrics, old.estimated_completion_at, old.completed_at,
      old.error_message, old.error_code, old.original_tokens, old.optimized_tokens) then
    return new;
  end if;
  if old.claimed_by is distinct from (v_key ->> 'id')::uuid then
    raise exception 'Claim this ingestion (POST /ingestions/claim) before reporting its progress: it is not held by this key.'
      using errcode = '55000';
  end if;
  if old.lease_expires_at <= now() then
    raise exception 'The claim on this ingestion expired: claim it again before reporting.' using errcode = '55000';
  end if;
  new.lease_expires_at := now() + make_interval(secs => old.lease_seconds);
  return new;
end
$$;
create trigger ingestion_progress_claim_guard before update on public.ingestion_progress
  for each row execute function app.guard_ingestion_claim();

revoke execute on function app.api_key_scope_of(public.api_key_scope[]), app.api_key_claim(), app.guard_api_key(),
  app.claim_ingestion(uuid, integer), app.guard_ingestion_claim() from public;
grant execute on function app.api_key_scope_of(public.api_key_scope[]), app.api_key_claim(), app.guard_api_key(),
  app.claim_ingestion(uuid, integer), app.guard_ingestion_claim() to authenticated, service_role;

-- migrate:down

drop trigger if exists ingestion_progress_claim_guard on public.ingestion_progress;
drop function if exists app.guard_ingestion_claim();
drop function if exists app.claim_ingestion(uuid, integer);
drop index if exists public.ingestion_progress_unfinished_org_idx;
alter table public.ingestion_progress
  drop constraint if exists ingestion_progress_claim_whole,
  drop column if exists lease_expires_at,
  drop column if exists lease_seconds,
  drop column if exists claimed_at,
  drop column if exists claimed_by;

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
  where m.user_id = (select auth.uid()) and m.status = 'active'
    and (p_requested is null or m.organization_id = p_requested)
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
    return query select * from app.add_usage(v_organization, 'api_calls', 1, app.quotas_enforced());
    return;
  end if;
  insert into public.usage_daily as d (organization_id, metric, day, value)
    values (v_organization, 'api_calls', (now() at time zone 'utc')::date, 1)
    on conflict (organization_id, metric, day) do update set value = d.value + 1;
  return query select v_limit, v_used, (v_month + interval '1 month')::timestamp at time zone 'utc';
end
$$;

create or replace function app.begin_request(p_requested uuid)
  returns table (known boolean, organization_id uuid, organization_role public.organization_role)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_default uuid;
  v_org uuid;
  v_role public.organization_role;
  v_seen timestamptz;
begin
  select p.default_organization_id into v_default from public.profiles p where p.id = v_user;
  if not found then
    return query select false, null::uuid, null::public.organization_role;
    return;
  end if;
  if p_requested is not null then
    select m.organization_id, m.role, m.last_active_at into v_org, v_role, v_seen
    from public.organization_members m
    where m.organization_id = p_requested and m.user_id = v_user and m.status = 'active';
  else
    select m.organization_id, m.role, m.last_active_at into v_org, v_role, v_seen
    from public.organization_members m
    where m.user_id = v_user and m.status = 'active'
    order by (m.organization_id = v_default) desc nulls last, m.created_at, m.organization_id
    limit 1;
  end if;
  if v_org is not null and (v_seen is null or v_seen < now() - interval '5 minutes') then
    update public.organization_members m set last_active_at = now()
    where (m.organization_id, m.user_id) in (
      select s.organization_id, s.user_id from public.organization_members s
      where s.organization_id = v_org and s.user_id = v_user
      for update skip locked
    );
  end if;
  perform set_config('app.organization_id', coalesce(v_org::text, ''), true);
  return query select true, v_org, v_role;
end
$$;

create or replace function app.organization_role(p_organization_id uuid) returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$
    select m.role from public.organization_members m
    where m.organization_id = p_organization_id and m.user_id = (select auth.uid()) and m.status = 'active'
  $$;

drop table if exists public.api_keys;
drop function if exists app.guard_api_key();
drop function if exists app.api_key_claim();
drop function if exists app.api_key_scope_of(public.api_key_scope[]);
drop type if exists public.api_key_scope;
