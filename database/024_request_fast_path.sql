-- migrate:up

-- A request whose organization and role this API instance already knows
-- (app.begin_request answered them for the same caller moments ago) confirms
-- them instead of resolving them again: one index lookup in the transaction
-- that then runs the request's statement, in the same round trip. When they no
-- longer hold (the member was removed, deactivated or given another role; the
-- API key was revoked or has expired), it raises CTXCH, nothing after it runs,
-- and the API resolves the request afresh through app.begin_request, which
-- also says why an API key is refused. p_default: the request named no
-- organization and acts in the caller's default one, which must still be it.
create function app.confirm_request(p_organization uuid, p_role public.organization_role, p_default boolean) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
  v_user uuid := auth.uid();
  v_seen timestamptz;
  v_holds boolean := false;
begin
  if p_organization is null then
    -- A caller of no organization is resolved afresh, never predicted.
    raise exception 'The request''s organization or role has changed.' using errcode = 'CTXCH';
  end if;
  if v_key is null then
    select true, m.last_active_at into v_holds, v_seen from public.organization_members m
    where m.organization_id = p_organization and m.user_id = v_user and m.status = 'active' and m.role = p_role;
    if v_holds and p_default then
      v_holds := exists (select 1 from public.profiles p where p.id = v_user and p.default_organization_id = p_organization);
    end if;
  else
    v_holds := exists (
      select 1 from public.api_keys k
      join public.organization_members m on m.organization_id = k.organization_id and m.user_id = k.created_by
      where k.id = (v_key ->> 'id')::uuid and k.organization_id = p_organization
        and (v_key ->> 'organization_id')::uuid = p_organization
        and k.created_by = v_user and app.api_key_scope_of(k.scopes)::text = v_key ->> 'scope'
        and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
        and m.status = 'active'
        -- The role a key acts with, capped by its scope (as app.organization_role gives it).
        and case
              when v_key ->> 'scope' = 'admin' and m.role = 'owner' then 'admin'::public.organization_role
              when v_key ->> 'scope' = 'admin' then m.role
              else 'member'::public.organization_role
            end = p_role
    );
  end if;
  if not coalesce(v_holds, false) then
    raise exception 'The request''s organization or role has changed.' using errcode = 'CTXCH';
  end if;
  if v_key is null and (v_seen is null or v_seen < now() - interval '5 minutes') then
    -- As app.begin_request does: a member's activity, at most every five minutes.
    update public.organization_members m set last_active_at = now()
    where (m.organization_id, m.user_id) in (
      select s.organization_id, s.user_id from public.organization_members s
      where s.organization_id = p_organization and s.user_id = v_user
      for update skip locked
    );
  end if;
  perform set_config('app.organization_id', p_organization::text, true);
  return true;
end
$$;

-- Metering without one write per call: an API instance leases a block of the
-- organization's API calls and hands them out in memory. The block shrinks to
-- a tenth of what is left (at least one), so near the limit each call is
-- leased alone and several instances together can never exceed it: the
-- counter row is locked while the grant is computed. The same checks as
-- app.meter_api_call: a valid key, its creator an active member. Returns no
-- row for a caller that is not metered (no API key claim).
create function app.lease_api_calls(p_requested uuid, p_want integer)
  returns table (granted integer, quota_limit bigint, used bigint, resets_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
  v_organization uuid;
  v_limit bigint;
  v_used bigint;
  v_grant integer;
  v_month date := date_trunc('month', now() at time zone 'utc')::date;
  v_reset timestamptz := (date_trunc('month', now() at time zone 'utc') + interval '1 month') at time zone 'utc';
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
  v_grant := greatest(1, least(coalesce(p_want, 1), 1000));

  insert into public.usage_counters (organization_id, metric, period_start, used)
    values (v_organization, 'api_calls', v_month, 0)
    on conflict (organization_id, metric, period_start) do nothing;
  select c.used into v_used from public.usage_counters c
    where c.organization_id = v_organization and c.metric = 'api_calls' and c.period_start = v_month
    for update;
  if v_limit >= 0 then
    if v_used >= v_limit then
      -- At the limit: refused (app.add_usage raises QUOTA), unless this
      -- deployment does not enforce quotas, where the calls are still counted.
      return query select v_grant, a.quota_limit, a.used - v_grant, a.resets_at
        from app.add_usage(v_organization, 'api_calls', v_grant, app.quotas_enforced()) a;
      return;
    end if;
    v_grant := least(v_grant, greatest(1, (v_limit - v_used) / 10))::integer;
  end if;
  update public.usage_counters c set used = c.used + v_grant, updated_at = now()
    where c.organization_id = v_organization and c.metric = 'api_calls' and c.period_start = v_month
    returning c.used into v_used;
  insert into public.usage_daily as d (organization_id, metric, day, value)
    values (v_organization, 'api_calls', (now() at time zone 'utc')::date, v_grant)
    on conflict (organization_id, metric, day) do update set value = d.value + excluded.value;
  -- used is what the organization had used before this block: the API counts
  -- each call it hands out on top of it.
  return query select v_grant, v_limit, v_used - v_grant, v_reset;
end
$$;

-- Calls leased and never handed out (the instance is shutting down) go back,
-- so the organization's usage counts calls made. Only in the period they were
-- leased in, never below zero, and only by a request made with one of the
-- organization's valid keys (the API's own shutdown), never through the Data API.
create function app.return_api_calls(p_organization uuid, p_period_start date, p_unused integer) returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
begin
  if v_key is null or (v_key ->> 'organization_id')::uuid is distinct from p_organization or coalesce(p_unused, 0) <= 0 then
    return;
  end if;
  perform 1 from public.api_keys k
  where k.id = (v_key ->> 'id')::uuid and k.organization_id = p_organization and k.created_by = (select auth.uid());
  if not found then
    return;
  end if;
  update public.usage_counters c set used = greatest(0, c.used - p_unused), updated_at = now()
    where c.organization_id = p_organization and c.metric = 'api_calls' and c.period_start = p_period_start;
  update public.usage_daily d set value = greatest(0, d.value - p_unused)
    where d.organization_id = p_organization and d.metric = 'api_calls'
      and d.day = (select max(x.day) from public.usage_daily x
                   where x.organization_id = p_organization and x.metric = 'api_calls' and x.day >= p_period_start);
end
$$;

-- Row level security asks for the caller's role in the selected organization
-- once per statement. As SQL functions behind SECURITY DEFINER these were
-- parsed and planned anew on every call (0.15 ms of a 0.6 ms request, measured
-- with EXPLAIN ANALYZE); in PL/pgSQL their plans stay cached for the session.
-- The same answers as 015's and 001's: active memberships only; with an API
-- key, only the key's organization has a role, capped by the key's scope.
create or replace function app.organization_role(p_organization_id uuid) returns public.organization_role
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_key jsonb := app.api_key_claim();
  v_role public.organization_role;
begin
  select m.role into v_role from public.organization_members m
  where m.organization_id = p_organization_id and m.user_id = auth.uid() and m.status = 'active';
  if v_role is null or v_key is null then
    return v_role;
  end if;
  if (v_key ->> 'organization_id')::uuid is distinct from p_organization_id then
    return null;
  end if;
  if v_key ->> 'scope' = 'admin' then
    return case when v_role = 'owner' then 'admin'::public.organization_role else v_role end;
  end if;
  return 'member'::public.organization_role;
end
$$;

create or replace function app.current_organization_role() returns public.organization_role
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  return app.organization_role(app.current_organization_id());
end
$$;

revoke execute on function app.confirm_request(uuid, public.organization_role, boolean), app.lease_api_calls(uuid, integer),
  app.return_api_calls(uuid, date, integer) from public;
grant execute on function app.confirm_request(uuid, public.organization_role, boolean), app.lease_api_calls(uuid, integer),
  app.return_api_calls(uuid, date, integer) to authenticated, service_role;

-- migrate:down

create or replace function app.current_organization_role() returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$ select app.organization_role(app.current_organization_id()) $$;

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

drop function if exists app.return_api_calls(uuid, date, integer);
drop function if exists app.lease_api_calls(uuid, integer);
drop function if exists app.confirm_request(uuid, public.organization_role, boolean);
