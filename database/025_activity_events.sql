-- Activity events: the outbox behind live updates, outbound webhooks and notifications.
--
-- A change someone waits for (an execution's status, an ingestion's progress,
-- a habit or reflex switched off, an invoice issued or paid, a member joining)
-- writes one row here from a trigger on the changed table, in the transaction
-- that makes the change. So an event exists exactly when its change committed,
-- whichever instance or back-office job made it, and nothing in the API can
-- forget to announce one.
--
-- Each insert also calls pg_notify('activity_events', <organization id>):
-- PostgreSQL delivers it at commit, to every listening session, in commit
-- order, and folds repeats within one transaction into one. A listener reads
-- the new rows from the table; the notification carries no data of its own.
--
-- Ordering: `id` comes from a sequence, so ids are handed out at insert, not
-- at commit, and a reader that only asks for "ids above the last one seen" can
-- miss a row whose transaction committed late. `xact_id` (the inserting
-- transaction) lets a reader ask instead for exactly the rows that became
-- visible between two snapshots:
--   xact_id >= pg_snapshot_xmin(previous snapshot)
--   and not pg_visible_in_snapshot(xact_id, previous snapshot)
-- which neither misses nor repeats a committed row.
--
-- Who may read an event is decided by the row level security of its subject:
-- the policy asks whether the caller can see the execution, ingestion (its
-- project, private projects included), habit, reflex, invoice (billing
-- managers only) or membership the event is about. When the subject is
-- deleted its events become unreadable to requests (only back-office work,
-- which delivers webhooks, still reads them).
--
-- `data` is the subject as the API names its fields (camelCase, money as
-- decimal strings, times as ISO-8601 UTC); large fields (an execution's
-- output, an invoice's lines) are left out: a consumer that wants them asks
-- the API.

-- migrate:up

create table public.activity_events (
  id bigint generated always as identity primary key,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  type text not null check (type in (
    'execution.queued', 'execution.running', 'execution.completed', 'execution.failed', 'execution.cancelled',
    'ingestion.started', 'ingestion.phase_started', 'ingestion.progress', 'ingestion.completed', 'ingestion.failed',
    'habit.deactivated', 'reflex.deactivated',
    'invoice.issued', 'invoice.paid',
    'member.joined', 'member.left'
  )),
  subject_type text not null check (subject_type in ('execution', 'ingestion', 'habit', 'reflex', 'invoice', 'member')),
  -- The execution, ingestion, habit, reflex or invoice; for a member, the user.
  subject_id uuid not null,
  -- The project an ingestion belongs to (its visibility is the project's).
  project_id uuid,
  -- Who caused it, when a signed-in user did (null for the worker and back-office jobs).
  actor_id uuid references public.profiles (id) on delete set null,
  data jsonb not null check (jsonb_typeof(data) = 'object'),
  xact_id xid8 not null default pg_current_xact_id(),
  created_at timestamptz not null default now(),
  check (type like subject_type || '.%'),
  check ((subject_type = 'ingestion') = (project_id is not null))
);
-- An organization's stream and a subject's stream, in order; snapshot reads by transaction.
create index activity_events_organization_idx on public.activity_events (organization_id, id);
create index activity_events_subject_idx on public.activity_events (subject_id, id);
create index activity_events_xact_idx on public.activity_events (xact_id);
create index activity_events_created_idx on public.activity_events (created_at);

alter table public.activity_events enable row level security;
alter table public.activity_events force row level security;

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

-- Requests only read; events are written by the triggers below and pruned by back-office work.
grant select on public.activity_events to authenticated;
grant select, delete on public.activity_events to service_role;

-- The one writer. SECURITY DEFINER: the changed row may be written by a
-- signed-in user, who has no insert right on this table.
create function app.record_activity(
  p_organization_id uuid, p_type text, p_subject_id uuid, p_project_id uuid, p_data jsonb
) returns void
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_actor uuid := nullif(current_setting('request.jwt.claim.sub', true), '')::uuid;
begin
  -- A token's subject may name no profile yet (a first request provisions it) or one already gone.
  if v_actor is not null and not exists (select 1 from public.profiles p where p.id = v_actor) then
    v_actor := null;
  end if;
  insert into public.activity_events (organization_id, type, subject_type, subject_id, project_id, actor_id, data)
  values (p_organization_id, p_type, split_part(p_type, '.', 1), p_subject_id, p_project_id, v_actor, p_data);
  perform pg_notify('activity_events', p_organization_id::text);
end;
$$;
revoke all on function app.record_activity(uuid, text, uuid, uuid, jsonb) from public;

create function app.iso_utc(p_at timestamptz) returns text
  language sql immutable
  set search_path = ''
  as $$ select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
revoke all on function app.iso_utc(timestamptz) from public;

-- Executions -----------------------------------------------------------------

create function app.execution_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'UPDATE' and new.status = old.status then
    return null;
  end if;
  perform app.record_activity(
    new.organization_id,
    'execution.' || case new.status when 'pending' then 'queued' else new.status::text end,
    new.id,
    null,
    jsonb_build_object(
      'id', new.id,
      'skillId', new.skill_id,
      'userId', new.user_id,
      'executionType', new.execution_type,
      'referenceId', new.reference_id,
      'status', new.status,
      'tokensUsed', new.tokens_used,
      'costCents', new.cost_cents::text,
      'durationMs', new.duration_ms,
      'errorCode', new.error_code,
      'errorMessage', new.error_message,
      'createdAt', app.iso_utc(new.created_at),
      'startedAt', app.iso_utc(new.executed_at),
      'completedAt', app.iso_utc(new.completed_at)
    )
  );
  return null;
end;
$$;
revoke all on function app.execution_activity() from public;
create trigger skill_executions_activity after insert or update of status on public.skill_executions
  for each row execute function app.execution_activity();

-- Ingestions -----------------------------------------------------------------

create function app.ingestion_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  if tg_op = 'INSERT' then
    v_type := 'ingestion.started';
  elsif new.completed_at is not null and old.completed_at is null then
    v_type := 'ingestion.completed';
  elsif new.error_message is not null and old.error_message is null then
    v_type := 'ingestion.failed';
  elsif new.phase is distinct from old.phase then
    v_type := 'ingestion.phase_started';
  elsif (new.progress_percent, new.message, new.metrics, new.estimated_completion_at)
        is distinct from (old.progress_percent, old.message, old.metrics, old.estimated_completion_at) then
    v_type := 'ingestion.progress';
  else
    return null;
  end if;
  perform app.record_activity(
    new.organization_id,
    v_type,
    new.id,
    new.project_id,
    jsonb_build_object(
      'id', new.id,
      'projectId', new.project_id,
      'phase', new.phase,
      'progressPercent', new.progress_percent,
      'message', coalesce(new.message, ''),
      'metrics', new.metrics,
      'startedAt', app.iso_utc(new.started_at),
      'estimatedCompletionAt', app.iso_utc(new.estimated_completion_at),
      'completedAt', app.iso_utc(new.completed_at),
      'errorMessage', new.error_message,
      'errorCode', new.error_code
    )
  );
  return null;
end;
$$;
revoke all on function app.ingestion_activity() from public;
create trigger ingestion_progress_activity after insert or update on public.ingestion_progress
  for each row execute function app.ingestion_activity();

-- Habits and reflexes switched off ---------------------------------------------

create function app.automation_deactivated_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  perform app.record_activity(
    new.organization_id,
    tg_argv[0] || '.deactivated',
    new.id,
    null,
    jsonb_build_object(
      'id', new.id,
      'skillId', new.skill_id,
      'consecutiveFailures', new.consecutive_failures,
      -- Switched off by a person, or by the runner after repeated failures.
      'reason', case when nullif(current_setting('request.jwt.claim.sub', true), '') is null then 'failures' else 'manual' end
    )
  );
  return null;
end;
$$;
revoke all on function app.automation_deactivated_activity() from public;
create trigger habits_deactivated_activity after update of is_active on public.habits
  for each row when (old.is_active and not new.is_active)
  execute function app.automation_deactivated_activity('habit');
create trigger reflexes_deactivated_activity after update of is_active on public.reflexes
  for each row when (old.is_active and not new.is_active)
  execute function app.automation_deactivated_activity('reflex');

-- Invoices -------------------------------------------------------------------

create function app.invoice_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_type text;
begin
  if tg_op = 'INSERT' and new.status <> 'draft' then
    v_type := 'invoice.issued';
  elsif tg_op = 'UPDATE' and old.status = 'draft' and new.status in ('open', 'paid') then
    v_type := 'invoice.issued';
  else
    v_type := null;
  end if;
  if v_type is not null then
    perform app.record_activity(new.organization_id, v_type, new.id, null, app.invoice_activity_data(new));
  end if;
  -- A paid invoice is announced as paid as well (an invoice issued already paid gets both).
  if new.status = 'paid' and (tg_op = 'INSERT' or old.status <> 'paid') then
    perform app.record_activity(new.organization_id, 'invoice.paid', new.id, null, app.invoice_activity_data(new));
  end if;
  return null;
end;
$$;
revoke all on function app.invoice_activity() from public;

create function app.invoice_activity_data(p_invoice public.invoices) returns jsonb
  language sql stable
  set search_path = ''
  as $$
  select jsonb_build_object(
    'id', p_invoice.id,
    'invoiceNumber', p_invoice.invoice_number,
    'status', p_invoice.status,
    'currency', p_invoice.currency,
    'total', p_invoice.total::text,
    'amountDue', p_invoice.amount_due::text,
    'amountPaid', p_invoice.amount_paid::text,
    'issuedAt', app.iso_utc(p_invoice.issued_at),
    'dueDate', p_invoice.due_date,
    'paidAt', app.iso_utc(p_invoice.paid_at)
  )
$$;
revoke all on function app.invoice_activity_data(public.invoices) from public;

create trigger invoices_activity after insert or update of status on public.invoices
  for each row execute function app.invoice_activity();

-- Members --------------------------------------------------------------------

create function app.member_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_row public.organization_members := case when tg_op = 'DELETE' then old else new end;
  v_type text;
begin
  if tg_op = 'INSERT' and new.status = 'active' then
    v_type := 'member.joined';
  elsif tg_op = 'UPDATE' and old.status = 'inactive' and new.status = 'active' then
    v_type := 'member.joined';
  elsif tg_op = 'DELETE' then
    v_type := 'member.left';
  else
    return null;
  end if;
  -- An organization deleted with its members announces nothing: it is gone.
  if not exists (select 1 from public.organizations o where o.id = v_row.organization_id) then
    return null;
  end if;
  perform app.record_activity(
    v_row.organization_id,
    v_type,
    v_row.user_id,
    null,
    jsonb_build_object('userId', v_row.user_id, 'role', v_row.role)
  );
  return null;
end;
$$;
revoke all on function app.member_activity() from public;
create trigger organization_members_activity after insert or update of status or delete on public.organization_members
  for each row execute function app.member_activity();

-- An erased account leaves no event naming it: its membership events go, and
-- the events about what it did keep the fact without the id (actor_id is
-- cleared by its foreign key). Erasure is rare, so a scan is acceptable here.
create function app.forget_member_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  delete from public.activity_events a where a.subject_type = 'member' and a.subject_id = old.id;
  update public.activity_events a set data = jsonb_set(a.data, '{userId}', 'null'::jsonb)
  where a.data->>'userId' = old.id::text;
  return null;
end;
$$;
revoke all on function app.forget_member_activity() from public;
create trigger profiles_forget_member_activity after delete on public.profiles
  for each row execute function app.forget_member_activity();

-- migrate:down

drop trigger profiles_forget_member_activity on public.profiles;
drop trigger organization_members_activity on public.organization_members;
drop trigger invoices_activity on public.invoices;
drop trigger reflexes_deactivated_activity on public.reflexes;
drop trigger habits_deactivated_activity on public.habits;
drop trigger ingestion_progress_activity on public.ingestion_progress;
drop trigger skill_executions_activity on public.skill_executions;
drop function app.forget_member_activity();
drop function app.member_activity();
drop function app.invoice_activity();
drop function app.invoice_activity_data(public.invoices);
drop function app.ingestion_activity();
drop function app.automation_deactivated_activity();
drop function app.execution_activity();
drop function app.iso_utc(timestamptz);
drop function app.record_activity(uuid, text, uuid, uuid, jsonb);
drop table public.activity_events;
