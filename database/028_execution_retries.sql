-- migrate:up

-- The execution worker retries transient failures (a runner timeout, HTTP 429
-- or 5xx, an unreachable runner, a worker that died) a bounded number of
-- times, and hands runs back when it shuts down. The queue keeps what that
-- needs: how many times an execution was started, and when it may start next
-- (null: at once). A retried execution goes back to pending; only its final
-- outcome moves the habit's or reflex's failure counters (their triggers fire
-- on completed / failed only).
alter table public.skill_executions
  add column attempts integer not null default 0 check (attempts >= 0),
  add column next_attempt_at timestamptz;

-- The fair claim walks the organizations that have pending work (a skip scan
-- over organization_id) and takes the oldest due execution of the one with
-- the fewest running: one burst of a tenant cannot starve the others.
create index skill_executions_pending_organization_idx on public.skill_executions (organization_id, created_at, id)
  where status = 'pending';
-- It replaces the queue's index across organizations, which no claim uses now.
drop index public.skill_executions_pending_idx;
-- An organization's running executions are counted through
-- skill_executions_organization_status_idx (002).

-- When each organization last had an execution claimed: the claim's
-- tie-break, so organizations with equally few runs take turns (round-robin)
-- instead of the one with the oldest backlog winning every claim. Private:
-- only app.claim_execution reads and writes it.
create table app.execution_turns (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  last_claimed_at timestamptz not null
);
alter table app.execution_turns enable row level security;
alter table app.execution_turns force row level security;
revoke all on app.execution_turns from public;

-- Claims the next execution for a worker (of every organization, or of
-- p_organizations only): among the organizations with a due pending
-- execution, the one with the fewest running, then the one served least
-- recently, then the one whose oldest due execution is oldest; within it, its
-- oldest. One at a time, so a worker takes work only for a slot that is free.
-- The ranking only reads; rows are locked (SKIP LOCKED) in one organization at
-- a time, so any number of workers claim at once, each execution going to
-- one, without locking a row of every organization. Cost grows with the
-- organizations that have pending work, not with anyone's backlog.
create function app.claim_execution(p_organizations uuid[])
  returns table (id uuid, skill_id uuid, input jsonb, attempts integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
#variable_conflict use_column
declare
  v_organization uuid;
  v_execution uuid;
begin
  for v_organization in
    with recursive walk (organization_id) as (
      -- A skip scan: each step jumps to the next organization with pending work.
      (select e.organization_id from public.skill_executions e
       where p_organizations is null and e.status = 'pending'
       order by e.organization_id limit 1)
      union all
      select (select e.organization_id from public.skill_executions e
              where e.status = 'pending' and e.organization_id > w.organization_id
              order by e.organization_id limit 1)
      from walk w where w.organization_id is not null
    ),
    candidates as (
      select w.organization_id from walk w where w.organization_id is not null
      union
      select unnest(p_organizations)
    )
    select c.organization_id
    from candidates c
    cross join lateral (
      select e.created_at from public.skill_executions e
      where e.organization_id = c.organization_id and e.status = 'pending'
        and (e.next_attempt_at is null or e.next_attempt_at <= now())
      order by e.created_at, e.id
      limit 1
    ) oldest
    left join app.execution_turns t on t.organization_id = c.organization_id
    order by (select count(*) from public.skill_executions r where r.organization_id = c.organization_id and r.status = 'running'),
      t.last_claimed_at nulls first, oldest.created_at
  loop
    select e.id into v_execution from public.skill_executions e
    where e.organization_id = v_organization and e.status = 'pending'
      and (e.next_attempt_at is null or e.next_attempt_at <= now())
    order by e.created_at, e.id
    limit 1
    for update skip locked;
    -- Every due execution of this organization is being claimed by others: the next one.
    continue when v_execution is null;

    insert into app.execution_turns as t (organization_id, last_claimed_at)
    values (v_organization, clock_timestamp())
    on conflict (organization_id) do update set last_claimed_at = excluded.last_claimed_at;
    return query
      update public.skill_executions e set status = 'running', attempts = e.attempts + 1, next_attempt_at = null
      where e.id = v_execution
      returning e.id, e.skill_id, e.input, e.attempts;
    return;
  end loop;
end
$$;
revoke execute on function app.claim_execution(uuid[]) from public;
grant execute on function app.claim_execution(uuid[]) to service_role;

-- As in 008, plus: running may return to pending, for the worker only (a
-- retry, or a run handed back at shutdown). It then starts afresh: its start
-- time goes, so the stale-run check and the history time the next attempt.
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
    if current_user = 'authenticated' and new.status <> 'cancelled' then
      raise exception 'executions can only be cancelled' using errcode = '42501';
    end if;
    if new.status = 'pending' then
      new.executed_at := null;
    elsif new.status = 'running' then
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

-- migrate:down

create or replace function app.guard_execution_status() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
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

drop function if exists app.claim_execution(uuid[]);
drop table if exists app.execution_turns;
drop index if exists public.skill_executions_pending_organization_idx;
create index if not exists skill_executions_pending_idx on public.skill_executions (created_at, id) where status = 'pending';
alter table public.skill_executions drop column if exists next_attempt_at, drop column if exists attempts;
