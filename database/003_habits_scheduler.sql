-- migrate:up

-- Habits: skills run on a cron schedule. The API computes next_run_at from the
-- cron expression and time zone (the database has no cron parser); the
-- scheduler claims due habits with FOR UPDATE SKIP LOCKED and records each run
-- as a skill execution of type 'habit'. Run counts and failure counts are kept
-- here, by triggers on skill_executions, so every writer (scheduler, "run
-- now", the execution worker) keeps them the same way.

create table public.habits (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  skill_id uuid not null,
  -- The owner; null once their account is deleted (the habit stays with the organization).
  user_id uuid references public.profiles (id) on delete set null,
  -- Exactly five fields (minute hour day-of-month month day-of-week); the API
  -- checks the fields themselves, the database their number.
  schedule_cron text not null
    check (char_length(schedule_cron) between 9 and 200
           and array_length(regexp_split_to_array(btrim(schedule_cron), '\s+'), 1) = 5),
  schedule_description text check (char_length(schedule_description) <= 500),
  -- An IANA name, checked by the API against the runtime's time zone database.
  timezone text not null default 'UTC' check (char_length(timezone) between 1 and 64),
  last_run_at timestamptz,
  next_run_at timestamptz,
  run_count integer not null default 0 check (run_count >= 0),
  is_active boolean not null default true,
  -- The skill input each run receives.
  config jsonb not null default '{}'::jsonb check (jsonb_typeof(config) = 'object'),
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  last_error_message text check (char_length(last_error_message) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- An active habit always has its next run; an inactive one never does.
  constraint habits_next_run_when_active check ((next_run_at is not null) = is_active),
  foreign key (skill_id, organization_id) references public.skills (id, organization_id) on delete cascade
);
-- The scheduler's queue, across every organization: due habits, soonest first.
create index habits_due_idx on public.habits (next_run_at, id) where is_active;
create index habits_organization_created_idx on public.habits (organization_id, created_at, id);
-- Serves the list sorted by next run and the upcoming runs (inactive habits have none).
create index habits_organization_next_run_idx on public.habits (organization_id, next_run_at, id);
create index habits_organization_active_idx on public.habits (organization_id, is_active, created_at, id);
create index habits_skill_idx on public.habits (skill_id, created_at, id);
create index habits_user_idx on public.habits (user_id);

create trigger habits_updated_at before update on public.habits
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------
-- Counting runs and outcomes
-- ---------------------------------------------------------------------------

-- Every execution of type 'habit' is one run of its habit, whoever queued it
-- (the scheduler, or a member's "run now"). Runs as the owner: a member may
-- run a habit they may not edit. Only an execution of the habit's own skill in
-- its own organization counts, so a hand-made execution cannot bump another
-- habit.
create function app.count_habit_run() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.execution_type = 'habit' and new.reference_id is not null then
    update public.habits h
    set run_count = h.run_count + 1,
        last_run_at = greatest(h.last_run_at, new.created_at)
    where h.id = new.reference_id
      and h.organization_id = new.organization_id
      and h.skill_id is not distinct from new.skill_id;
  end if;
  return null;
end
$$;

create trigger skill_executions_count_habit_run after insert on public.skill_executions
  for each row execute function app.count_habit_run();

-- A completed run clears the failure streak; a failed one extends it and
-- keeps its error message; the third failure in a row deactivates the habit
-- (next_run_at null), keeping the message so the owner sees why. A cancelled
-- run says nothing about the habit's health (someone stopped it), so it
-- neither extends nor clears the streak. Only the worker (service_role) can
-- complete or fail an execution (see app.guard_execution_status).
create function app.track_habit_outcome() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.execution_type <> 'habit' or new.reference_id is null then
    return null;
  end if;
  if tg_op = 'UPDATE' and old.status is not distinct from new.status then
    return null;
  end if;
  if new.status = 'completed' then
    update public.habits h
    set consecutive_failures = 0
    where h.id = new.reference_id and h.organization_id = new.organization_id
      and h.consecutive_failures <> 0;
  elsif new.status = 'failed' then
    update public.habits h
    set consecutive_failures = h.consecutive_failures + 1,
        last_error_message = coalesce(left(new.error_message, 2000), 'The execution failed without an error message.'),
        is_active = h.is_active and h.consecutive_failures + 1 < 3,
        next_run_at = case when h.consecutive_failures + 1 >= 3 then null else h.next_run_at end
    where h.id = new.reference_id and h.organization_id = new.organization_id;
  end if;
  return null;
end
$$;

create trigger skill_executions_track_habit_outcome after insert or update of status on public.skill_executions
  for each row execute function app.track_habit_outcome();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------

alter table public.habits enable row level security;
alter table public.habits force row level security;

-- Every member of the selected organization sees its habits, nobody else.
create policy habits_select on public.habits for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
  );
create policy habits_insert on public.habits for insert to authenticated
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and user_id = (select auth.uid())
  );
create policy habits_update on public.habits for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id))
  with check (organization_id = (select app.current_organization_id()));
create policy habits_delete on public.habits for delete to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id));

grant select, insert, update, delete on public.habits to service_role;
grant select on public.habits to authenticated;
-- run_count and last_run_at are the database's (count_habit_run); the
-- failure streak may be reset by whoever manages the habit.
grant insert (organization_id, skill_id, user_id, schedule_cron, schedule_description, timezone, next_run_at, is_active, config),
      update (skill_id, schedule_cron, schedule_description, timezone, next_run_at, is_active, config,
              consecutive_failures, last_error_message),
      delete
  on public.habits to authenticated;

-- ---------------------------------------------------------------------------
-- Scheduler views (the caller's row level security applies)
-- ---------------------------------------------------------------------------

-- What runs next: active habits with their schedule and skill.
create view public.upcoming_habit_runs with (security_invoker = true) as
  select h.id as habit_id,
         h.organization_id,
         h.skill_id,
         h.user_id,
         h.schedule_cron,
         h.schedule_description,
         h.timezone,
         h.next_run_at,
         h.last_run_at,
         s.name as skill_name,
         s.category as skill_category,
         s.is_active as skill_is_active
  from public.habits h
  join public.skills s on s.id = h.skill_id and s.organization_id = h.organization_id
  where h.is_active;

-- What ran: executions started by habits, with their skill and the habit's
-- schedule (both null once deleted: the history stays).
create view public.habit_execution_history with (security_invoker = true) as
  select e.id as execution_id,
         e.organization_id,
         e.reference_id as habit_id,
         e.skill_id,
         e.user_id,
         e.status,
         e.input,
         e.tokens_used,
         e.cost_cents,
         e.duration_ms,
         e.error_message,
         e.error_code,
         e.executed_at,
         e.completed_at,
         e.created_at,
         s.name as skill_name,
         s.category as skill_category,
         h.schedule_cron,
         h.schedule_description,
         h.timezone
  from public.skill_executions e
  left join public.skills s on s.id = e.skill_id and s.organization_id = e.organization_id
  left join public.habits h on h.id = e.reference_id and h.organization_id = e.organization_id
  where e.execution_type = 'habit';

grant select on public.upcoming_habit_runs, public.habit_execution_history to authenticated, service_role;

-- Functions are executable by PUBLIC by default; only the API roles may call these.
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;

-- migrate:down

drop view if exists public.habit_execution_history;
drop view if exists public.upcoming_habit_runs;
drop trigger if exists skill_executions_track_habit_outcome on public.skill_executions;
drop trigger if exists skill_executions_count_habit_run on public.skill_executions;
drop table if exists public.habits;
drop function if exists app.track_habit_outcome();
drop function if exists app.count_habit_run();
