-- Outbound webhooks: an organization's owners and admins register endpoints
-- that receive its activity events (025), signed per Standard Webhooks.
--
-- Deliveries are queued in the database by a trigger on activity_events, in
-- the transaction that records the event: a change that committed has its
-- deliveries queued, and a crash between the change and the HTTP call loses
-- nothing. A background loop claims due deliveries (FOR UPDATE SKIP LOCKED,
-- with a lease that expires when its worker dies), posts them, and records
-- each attempt; failures are retried on a schedule for about a day, then the
-- delivery is failed. An endpoint whose deliveries keep failing is paused, with
-- a reason, an audit entry and a `webhook.paused` event.
--
-- Row level security: only the organization's owners and admins see or change
-- its endpoints and their deliveries. Requests never write deliveries
-- directly: a test event or a redelivery is written by the API as the back
-- office after the endpoint was read under the caller's policies.

-- migrate:up

create table public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  created_by uuid references public.profiles (id) on delete set null,
  name text not null check (char_length(btrim(name)) between 1 and 100),
  endpoint_url text not null check (char_length(endpoint_url) <= 2048 and endpoint_url ~* '^https?://'),
  events text[] not null check (
    cardinality(events) between 1 and 32
    and events <@ array[
      'execution.queued', 'execution.running', 'execution.completed', 'execution.failed', 'execution.cancelled',
      'ingestion.started', 'ingestion.phase_started', 'ingestion.progress', 'ingestion.completed', 'ingestion.failed',
      'habit.deactivated', 'reflex.deactivated',
      'invoice.issued', 'invoice.paid',
      'member.joined', 'member.left',
      'webhook.paused'
    ]::text[]
  ),
  status text not null default 'active' check (status in ('active', 'paused')),
  -- Why it is paused (by a person, or automatically after failing for days); null while active.
  status_reason text check (char_length(status_reason) <= 500),
  paused_at timestamptz,
  -- The signing secret, sealed (src/db/secret-box.ts); never readable by a request role.
  secret text not null check (char_length(secret) <= 400),
  -- Deliveries that failed for good in a row, and since when attempts have failed without a success between.
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  failing_since timestamptz,
  last_triggered_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status = 'paused') = (paused_at is not null))
);
create index webhook_endpoints_organization_idx on public.webhook_endpoints (organization_id, created_at desc, id desc);
-- The enqueue trigger's lookup: the organization's active endpoints.
create index webhook_endpoints_active_idx on public.webhook_endpoints (organization_id) where status = 'active';
create trigger webhook_endpoints_updated_at before update on public.webhook_endpoints
  for each row execute function app.set_updated_at();

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  webhook_id uuid not null references public.webhook_endpoints (id) on delete cascade,
  -- The activity event delivered (none for a test event); no foreign key: events are pruned before deliveries.
  event_id bigint,
  -- The Standard Webhooks message id (webhook-id header): the same for every attempt and every redelivery.
  message_id text not null check (char_length(message_id) between 1 and 100),
  event_type text not null check (char_length(event_type) <= 100),
  payload jsonb not null check (jsonb_typeof(payload) = 'object'),
  status text not null default 'pending' check (status in ('pending', 'success', 'failed')),
  -- Attempts made so far (0 until the first).
  attempt_number integer not null default 0 check (attempt_number >= 0),
  -- When the next attempt is due; null once the delivery succeeded or failed for good.
  next_attempt_at timestamptz default now(),
  -- A worker's claim on the attempt in progress; an expired one is a worker that died.
  lease_until timestamptz,
  response_status integer check (response_status between 100 and 599),
  response_body text check (char_length(response_body) <= 2048),
  error_message text check (char_length(error_message) <= 500),
  duration_ms integer check (duration_ms >= 0),
  last_attempt_at timestamptz,
  completed_at timestamptz,
  -- The delivery this one sends again (a redelivery asked for by a person).
  redelivery_of uuid references public.webhook_deliveries (id) on delete set null,
  created_at timestamptz not null default now(),
  check ((status = 'pending') = (next_attempt_at is not null)),
  check ((status = 'pending') = (completed_at is null))
);
-- An event is queued once per endpoint, whichever transaction retries.
create unique index webhook_deliveries_event_once_idx on public.webhook_deliveries (webhook_id, event_id)
  where event_id is not null and redelivery_of is null;
-- An endpoint's deliveries, newest first, all or by status.
create index webhook_deliveries_webhook_idx on public.webhook_deliveries (webhook_id, created_at desc, id desc);
create index webhook_deliveries_webhook_status_idx on public.webhook_deliveries (webhook_id, status, created_at desc, id desc);
-- The worker's queue: due pending deliveries.
create index webhook_deliveries_due_idx on public.webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_organization_idx on public.webhook_deliveries (organization_id);
-- Retention: finished deliveries, oldest first.
create index webhook_deliveries_completed_idx on public.webhook_deliveries (completed_at) where completed_at is not null;

alter table public.webhook_endpoints enable row level security;
alter table public.webhook_endpoints force row level security;
alter table public.webhook_deliveries enable row level security;
alter table public.webhook_deliveries force row level security;

create policy webhook_endpoints_select on public.webhook_endpoints for select to authenticated
  using (app.organization_role(organization_id) in ('owner', 'admin'));
create policy webhook_endpoints_insert on public.webhook_endpoints for insert to authenticated
  with check (app.organization_role(organization_id) in ('owner', 'admin') and created_by = (select auth.uid()));
create policy webhook_endpoints_update on public.webhook_endpoints for update to authenticated
  using (app.organization_role(organization_id) in ('owner', 'admin'))
  with check (app.organization_role(organization_id) in ('owner', 'admin'));
create policy webhook_endpoints_delete on public.webhook_endpoints for delete to authenticated
  using (app.organization_role(organization_id) in ('owner', 'admin'));

create policy webhook_deliveries_select on public.webhook_deliveries for select to authenticated
  using (app.organization_role(organization_id) in ('owner', 'admin'));

-- The secret column is written (create, rotate) but never read back by a request role.
grant select (id, organization_id, created_by, name, endpoint_url, events, status, status_reason, paused_at,
  consecutive_failures, failing_since, last_triggered_at, created_at, updated_at) on public.webhook_endpoints to authenticated;
grant insert (id, organization_id, created_by, name, endpoint_url, events, secret) on public.webhook_endpoints to authenticated;
grant update (name, endpoint_url, events, status, status_reason, paused_at, secret, consecutive_failures, failing_since)
  on public.webhook_endpoints to authenticated;
grant delete on public.webhook_endpoints to authenticated;
grant select, insert, update, delete on public.webhook_endpoints to service_role;
grant select on public.webhook_deliveries to authenticated;
grant select, insert, update, delete on public.webhook_deliveries to service_role;

-- Activity events may now announce a paused endpoint -------------------------------

alter table public.activity_events drop constraint activity_events_type_check;
alter table public.activity_events add constraint activity_events_type_check check (type in (
  'execution.queued', 'execution.running', 'execution.completed', 'execution.failed', 'execution.cancelled',
  'ingestion.started', 'ingestion.phase_started', 'ingestion.progress', 'ingestion.completed', 'ingestion.failed',
  'habit.deactivated', 'reflex.deactivated',
  'invoice.issued', 'invoice.paid',
  'member.joined', 'member.left',
  'webhook.paused'
));
alter table public.activity_events drop constraint activity_events_subject_type_check;
alter table public.activity_events add constraint activity_events_subject_type_check
  check (subject_type in ('execution', 'ingestion', 'habit', 'reflex', 'invoice', 'member', 'webhook'));

-- The same policy as 025's, with webhook events readable where the endpoint is (owners and admins).
drop policy activity_events_select on public.activity_events;
create policy activity_events_select on public.activity_events for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and case subject_type
      when 'execution' then exists (select 1 from public.skill_executions e where e.id = subject_id)
      when 'ingestion' then exists (select 1 from public.projects p where p.id = project_id)
      when 'habit' then exists (select 1 from public.habits h where h.id = subject_id)
      when 'reflex' then exists (select 1 from public.reflexes r where r.id = subject_id)
      when 'invoice' then exists (select 1 from public.invoices i where i.id = subject_id)
      when 'member' then exists (
        select 1 from public.organization_members m where m.organization_id = activity_events.organization_id and m.user_id = subject_id
      ) or type = 'member.left'
      when 'webhook' then exists (select 1 from public.webhook_endpoints w where w.id = subject_id)
      else false
    end
  );

-- Queueing ---------------------------------------------------------------------

-- One delivery per active endpoint of the event's organization that asked for
-- its type. SECURITY DEFINER: the event is written in the transaction of
-- whoever made the change, who may not read the endpoints.
create function app.enqueue_webhook_deliveries() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  insert into public.webhook_deliveries (organization_id, webhook_id, event_id, message_id, event_type, payload)
  select new.organization_id, w.id, new.id, 'msg_evt_' || new.id, new.type,
    jsonb_build_object('type', new.type, 'timestamp', app.iso_utc(new.created_at), 'data', new.data)
  from public.webhook_endpoints w
  where w.organization_id = new.organization_id and w.status = 'active' and new.type = any (w.events)
  on conflict do nothing;
  return null;
end;
$$;
revoke all on function app.enqueue_webhook_deliveries() from public;
create trigger activity_events_webhooks after insert on public.activity_events
  for each row execute function app.enqueue_webhook_deliveries();

-- Pausing: a notice for everyone watching, and the audit log ------------------------

create function app.webhook_endpoint_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform app.write_audit_entry(new.organization_id, 'integration.connected', 'webhook_endpoint', new.id, new.name, '{}',
      jsonb_build_object('endpointUrl', new.endpoint_url, 'events', to_jsonb(new.events)));
  elsif tg_op = 'DELETE' then
    perform app.write_audit_entry(old.organization_id, 'integration.disconnected', 'webhook_endpoint', old.id, old.name, '{}',
      jsonb_build_object('endpointUrl', old.endpoint_url));
  elsif new.status is distinct from old.status then
    -- Paused by a person (a signed-in caller) or by the delivery worker after repeated failures.
    perform app.write_audit_entry(new.organization_id,
      case new.status when 'paused' then 'integration.disconnected' else 'integration.connected' end,
      'webhook_endpoint', new.id, new.name, app.audit_changes(to_jsonb(old), to_jsonb(new), array['status']),
      jsonb_build_object('reason', new.status_reason));
    if new.status = 'paused' then
      perform app.record_activity(new.organization_id, 'webhook.paused', new.id, null, jsonb_build_object(
        'id', new.id,
        'name', new.name,
        'endpointUrl', new.endpoint_url,
        'reason', new.status_reason,
        'automatic', nullif(current_setting('request.jwt.claim.sub', true), '') is null,
        'consecutiveFailures', new.consecutive_failures,
        'pausedAt', app.iso_utc(new.paused_at)
      ));
    end if;
  end if;
  return null;
end;
$$;
revoke all on function app.webhook_endpoint_activity() from public;
create trigger webhook_endpoints_activity after insert or delete or update of status on public.webhook_endpoints
  for each row execute function app.webhook_endpoint_activity();

-- migrate:down

drop trigger webhook_endpoints_activity on public.webhook_endpoints;
drop function app.webhook_endpoint_activity();
drop trigger activity_events_webhooks on public.activity_events;
drop function app.enqueue_webhook_deliveries();
-- The events' policy reads the endpoints: it goes first, and comes back as 025 wrote it.
drop policy activity_events_select on public.activity_events;
drop table public.webhook_deliveries;
drop table public.webhook_endpoints;
delete from public.activity_events where subject_type = 'webhook';
create policy activity_events_select on public.activity_events for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and case subject_type
      when 'execution' then exists (select 1 from public.skill_executions e where e.id = subject_id)
      when 'ingestion' then exists (select 1 from public.projects p where p.id = project_id)
      when 'habit' then exists (select 1 from public.habits h where h.id = subject_id)
      when 'reflex' then exists (select 1 from public.reflexes r where r.id = subject_id)
      when 'invoice' then exists (select 1 from public.invoices i where i.id = subject_id)
      when 'member' then exists (
        select 1 from public.organization_members m where m.organization_id = activity_events.organization_id and m.user_id = subject_id
      ) or type = 'member.left'
      else false
    end
  );
alter table public.activity_events drop constraint activity_events_subject_type_check;
alter table public.activity_events add constraint activity_events_subject_type_check
  check (subject_type in ('execution', 'ingestion', 'habit', 'reflex', 'invoice', 'member'));
alter table public.activity_events drop constraint activity_events_type_check;
alter table public.activity_events add constraint activity_events_type_check check (type in (
  'execution.queued', 'execution.running', 'execution.completed', 'execution.failed', 'execution.cancelled',
  'ingestion.started', 'ingestion.phase_started', 'ingestion.progress', 'ingestion.completed', 'ingestion.failed',
  'habit.deactivated', 'reflex.deactivated',
  'invoice.issued', 'invoice.paid',
  'member.joined', 'member.left'
));
