-- migrate:up

-- An inactive member's requests are refused (begin_request counts active
-- memberships only since 009), so they must not use up the organization's
-- API calls either: metering picks the organization the same way.
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

-- migrate:down

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
