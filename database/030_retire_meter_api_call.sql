-- app.meter_api_call counted one API-key call per request on the
-- organization's counter row. Since 024 the API leases calls in blocks
-- (app.lease_api_calls / app.return_api_calls) and nothing calls it any more;
-- left in place it would be one more function a signed-in caller can reach
-- through the Data API. Its replacement keeps the same rules: API-key calls
-- only, the caller's own organization, refused past the plan's limit.

-- migrate:up

drop function app.meter_api_call(uuid);

-- migrate:down

-- The function as 015 left it, for a rollback to a release that still calls it.
create function app.meter_api_call(p_requested uuid)
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
revoke all on function app.meter_api_call(uuid) from public;
grant execute on function app.meter_api_call(uuid) to authenticated, service_role;
