-- migrate:up

-- Product events the web app reports about itself (POST /analytics/events):
-- append-only. A signed-in user adds rows as themselves, for an organization
-- they belong to or for none; nobody changes or deletes a row through a
-- request role, and nobody reads them through the API (they are for the
-- operators, as the owner). Old rows are removed by
-- app.purge_analytics_events, which the back office calls in batches.

create table public.analytics_events (
  id bigint generated always as identity primary key,
  user_id uuid not null references public.profiles (id) on delete cascade,
  organization_id uuid references public.organizations (id) on delete cascade,
  type text not null check (type ~ '^[a-z][a-z0-9_.:-]*$' and length(type) <= 64),
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  session_id text check (length(session_id) between 1 and 128),
  persona text check (persona in ('alex', 'maya', 'sam')),
  -- The API keeps properties to 50 keys, 5 levels and 8 KiB; the bound here
  -- holds for writers that skip the API (Supabase's Data API).
  properties jsonb not null default '{}' check (jsonb_typeof(properties) = 'object' and octet_length(properties::text) <= 16384)
);

-- Retention deletes the oldest rows first; the identity follows arrival order,
-- so the primary key serves the purge's scan and this index its cut-off.
create index analytics_events_received_idx on public.analytics_events (received_at);
create index analytics_events_user_idx on public.analytics_events (user_id);
create index analytics_events_organization_idx on public.analytics_events (organization_id) where organization_id is not null;

alter table public.analytics_events enable row level security;
alter table public.analytics_events force row level security;

-- One's own events, in an organization one belongs to or in none. The policy
-- is the only rule: no select, update or delete policy exists, and no request
-- role has those grants.
create policy analytics_events_insert_own on public.analytics_events
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and (organization_id is null or app.is_organization_member(organization_id))
  );

revoke all on public.analytics_events from anon, authenticated, service_role;
-- received_at and id are the server's: not writable.
grant insert (user_id, organization_id, type, occurred_at, session_id, persona, properties) on public.analytics_events to authenticated;

-- Deletes at most p_batch events received more than p_retention_days days
-- ago, oldest first, as the table's owner; returns how many went. The back
-- office (service_role) calls it again while a full batch went.
create function app.purge_analytics_events(p_retention_days integer, p_batch integer) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_deleted integer;
begin
  if p_retention_days is null or p_retention_days < 1 then
    raise exception 'retention must be at least one day' using errcode = '22023';
  end if;
  if p_batch is null or p_batch < 1 or p_batch > 100000 then
    raise exception 'a batch is 1 to 100000 rows' using errcode = '22023';
  end if;
  with old as (
    select e.id from public.analytics_events e
    where e.received_at < now() - make_interval(days => p_retention_days)
    order by e.received_at
    limit p_batch
  )
  delete from public.analytics_events e using old where e.id = old.id;
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

revoke execute on function app.purge_analytics_events(integer, integer) from public, anon, authenticated;
grant execute on function app.purge_analytics_events(integer, integer) to service_role;

-- migrate:down

drop function if exists app.purge_analytics_events(integer, integer);
drop table if exists public.analytics_events;
