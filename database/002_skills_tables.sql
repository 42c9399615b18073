-- migrate:up

-- Skills (prompt templates), the reflexes that fire them on events, and the
-- history of their executions. Habits and the scheduler follow in
-- 003_habits_scheduler.

create type public.skill_category as enum ('analysis', 'generation', 'transformation', 'communication', 'automation', 'custom');
create type public.skill_output_format as enum ('markdown', 'json', 'text', 'html', 'code');
create type public.execution_status as enum ('pending', 'running', 'completed', 'failed', 'cancelled');
create type public.execution_type as enum ('manual', 'habit', 'reflex', 'api');
create type public.reflex_trigger_type as enum ('webhook', 'email', 'file_change', 'api_call', 'schedule', 'event');

-- The creator of a skill, habit or reflex, and the organization's owners and
-- admins, change it; every other member only reads and runs it.
create function app.can_manage_owned(p_organization_id uuid, p_owner uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select p_owner = (select auth.uid())
      or app.organization_role(p_organization_id) in ('owner', 'admin')
  $$;

-- ---------------------------------------------------------------------------
-- Skills
-- ---------------------------------------------------------------------------

create table public.skills (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- The owner; null once their account is deleted (the skill stays with the organization).
  user_id uuid references public.profiles (id) on delete set null,
  name text not null check (char_length(name) between 2 and 100 and name = btrim(name)),
  description text check (char_length(description) <= 2000),
  category public.skill_category not null default 'custom',
  prompt_template text not null check (char_length(prompt_template) between 10 and 50000),
  model text not null default 'gpt-4o-mini' check (char_length(model) between 1 and 100),
  parameters jsonb not null default '{"temperature": 1, "max_tokens": 4096}'::jsonb
    check (jsonb_typeof(parameters) = 'object'),
  input_schema jsonb not null default '[]'::jsonb check (jsonb_typeof(input_schema) = 'array'),
  output_format public.skill_output_format not null default 'markdown',
  is_active boolean not null default true,
  execution_count integer not null default 0 check (execution_count >= 0),
  last_executed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Children reference (skill, organization) so they can never sit in another organization.
  unique (id, organization_id)
);
-- Names are unique per owner regardless of case.
create unique index skills_owner_name_key on public.skills (organization_id, user_id, lower(name));
create index skills_organization_created_idx on public.skills (organization_id, created_at, id);
create index skills_organization_updated_idx on public.skills (organization_id, updated_at, id);
create index skills_organization_name_idx on public.skills (organization_id, lower(name), id);
create index skills_organization_category_idx on public.skills (organization_id, category, created_at, id);
create index skills_organization_active_idx on public.skills (organization_id, is_active, created_at, id);
create index skills_organization_executions_idx on public.skills (organization_id, execution_count, id);
create index skills_user_idx on public.skills (user_id);
create index skills_name_trgm_idx on public.skills using gin (name extensions.gin_trgm_ops);

create trigger skills_updated_at before update on public.skills
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------
-- Reflexes
-- ---------------------------------------------------------------------------

create table public.reflexes (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  skill_id uuid not null,
  user_id uuid references public.profiles (id) on delete set null,
  trigger_type public.reflex_trigger_type not null,
  -- Shape per trigger type is checked by the API; secrets never live here.
  trigger_config jsonb not null default '{}'::jsonb check (jsonb_typeof(trigger_config) = 'object'),
  conditions jsonb not null default '{"matchAll": true, "filters": []}'::jsonb check (jsonb_typeof(conditions) = 'object'),
  is_active boolean not null default true,
  trigger_count integer not null default 0 check (trigger_count >= 0),
  last_triggered_at timestamptz,
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  last_error_message text check (char_length(last_error_message) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (skill_id, organization_id) references public.skills (id, organization_id) on delete cascade
);
create index reflexes_organization_created_idx on public.reflexes (organization_id, created_at, id);
create index reflexes_skill_idx on public.reflexes (skill_id, created_at, id);
create index reflexes_organization_trigger_idx on public.reflexes (organization_id, trigger_type, is_active, created_at, id);
create index reflexes_user_idx on public.reflexes (user_id);

create trigger reflexes_updated_at before update on public.reflexes
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------
-- Executions
-- ---------------------------------------------------------------------------

create table public.skill_executions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- History outlives its skill: deleting the skill only clears this column.
  skill_id uuid,
  user_id uuid references public.profiles (id) on delete set null,
  execution_type public.execution_type not null default 'manual',
  -- The habit or reflex that started it (no foreign key: it names either).
  reference_id uuid,
  input jsonb not null default '{}'::jsonb check (jsonb_typeof(input) = 'object'),
  output jsonb,
  tokens_used integer not null default 0 check (tokens_used >= 0),
  prompt_tokens integer not null default 0 check (prompt_tokens >= 0),
  completion_tokens integer not null default 0 check (completion_tokens >= 0),
  duration_ms integer check (duration_ms >= 0),
  -- Money is exact: fractions of a cent are kept, never rounded through a float.
  cost_cents numeric(14, 4) not null default 0 check (cost_cents >= 0),
  status public.execution_status not null default 'pending',
  error_message text check (char_length(error_message) <= 2000),
  error_code text check (char_length(error_code) <= 100),
  executed_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (skill_id, organization_id) references public.skills (id, organization_id) on delete set null (skill_id)
);
create index skill_executions_organization_created_idx on public.skill_executions (organization_id, created_at desc, id desc);
create index skill_executions_skill_created_idx on public.skill_executions (skill_id, created_at desc, id desc);
create index skill_executions_organization_status_idx on public.skill_executions (organization_id, status, created_at desc);
create index skill_executions_organization_type_idx on public.skill_executions (organization_id, execution_type, created_at desc);
create index skill_executions_reference_idx on public.skill_executions (reference_id, created_at desc) where reference_id is not null;
create index skill_executions_user_idx on public.skill_executions (user_id);
-- The worker's queue: oldest pending first, across every organization.
create index skill_executions_pending_idx on public.skill_executions (created_at, id) where status = 'pending';
-- Running executions whose worker went away are found by their start.
create index skill_executions_running_idx on public.skill_executions (executed_at) where status = 'running';

create trigger skill_executions_updated_at before update on public.skill_executions
  for each row execute function app.set_updated_at();

-- pending -> running -> completed | failed | cancelled (pending may also end
-- directly); an ended execution never changes again. Signed-in users may only
-- cancel; everything else is the worker's (service_role).
create function app.guard_execution_status() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
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

create trigger skill_executions_guard before insert or update on public.skill_executions
  for each row execute function app.guard_execution_status();

-- The skill counts each execution that reaches completed (from pending or
-- running). Runs as the owner: a member running someone else's skill may not
-- update that skill.
create function app.count_completed_execution() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.status = 'completed' and new.skill_id is not null
     and (tg_op = 'INSERT' or old.status is distinct from 'completed') then
    update public.skills
    set execution_count = execution_count + 1,
        last_executed_at = greatest(last_executed_at, new.completed_at)
    where id = new.skill_id;
  end if;
  return null;
end
$$;

create trigger skill_executions_count_completed after insert or update of status on public.skill_executions
  for each row execute function app.count_completed_execution();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------

alter table public.skills enable row level security;
alter table public.skills force row level security;
alter table public.reflexes enable row level security;
alter table public.reflexes force row level security;
alter table public.skill_executions enable row level security;
alter table public.skill_executions force row level security;

-- Everything here is visible to every member of the selected organization,
-- and to nobody else.
create policy skills_select on public.skills for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
  );
create policy skills_insert on public.skills for insert to authenticated
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and user_id = (select auth.uid())
  );
create policy skills_update on public.skills for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id))
  with check (organization_id = (select app.current_organization_id()));
create policy skills_delete on public.skills for delete to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id));

create policy reflexes_select on public.reflexes for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
  );
create policy reflexes_insert on public.reflexes for insert to authenticated
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and user_id = (select auth.uid())
  );
create policy reflexes_update on public.reflexes for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id))
  with check (organization_id = (select app.current_organization_id()));
create policy reflexes_delete on public.reflexes for delete to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id));

create policy skill_executions_select on public.skill_executions for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
  );
-- Members run any skill of the organization, as themselves.
create policy skill_executions_insert on public.skill_executions for insert to authenticated
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and user_id = (select auth.uid())
  );
-- Cancelling: whoever started it, and the organization's owners and admins.
create policy skill_executions_update on public.skill_executions for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_manage_owned(organization_id, user_id))
  with check (organization_id = (select app.current_organization_id()));
-- No delete policy: executions are history.

grant select, insert, update, delete on public.skills, public.reflexes, public.skill_executions to service_role;
grant select on public.skills, public.reflexes, public.skill_executions to authenticated;
grant insert (organization_id, user_id, name, description, category, prompt_template, model, parameters,
              input_schema, output_format, is_active),
      update (name, description, category, prompt_template, model, parameters, input_schema, output_format, is_active),
      delete
  on public.skills to authenticated;
grant insert (organization_id, skill_id, user_id, trigger_type, trigger_config, conditions, is_active),
      update (skill_id, trigger_type, trigger_config, conditions, is_active, consecutive_failures, last_error_message),
      delete
  on public.reflexes to authenticated;
grant insert (organization_id, skill_id, user_id, execution_type, reference_id, input),
      update (status)
  on public.skill_executions to authenticated;

-- Name search through the trigram index. ILIKE is not leakproof, so under the
-- policies above the planner may not use it as an index condition; this helper
-- (like app.search_project_ids) scopes to the request's organization itself.
create function app.search_skill_ids(p_pattern text) returns setof uuid
  language sql stable security definer
  rows 100
  set search_path = ''
  as $$
    select s.id from public.skills s
    where app.current_organization_role() is not null
      and s.organization_id = app.current_organization_id()
      and s.name ilike p_pattern
  $$;

-- Functions are executable by PUBLIC by default; only the API roles may call these.
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;

-- migrate:down

drop table if exists public.skill_executions;
drop table if exists public.reflexes;
drop table if exists public.skills;
drop function if exists app.search_skill_ids(text);
drop function if exists app.count_completed_execution();
drop function if exists app.guard_execution_status();
drop function if exists app.can_manage_owned(uuid, uuid);
drop type if exists public.reflex_trigger_type;
drop type if exists public.execution_type;
drop type if exists public.execution_status;
drop type if exists public.skill_output_format;
drop type if exists public.skill_category;
