-- Executions as the web frontend reads them, and their retention.
--
-- 1. skill_executions.output_format: the skill's output format when the run
--    started. The API shows every output as text and, for a json run, also as
--    the parsed value; which one a stored value is cannot be told from the
--    value (a json skill may answer with a JSON string), and the skill's
--    format may change or the skill may be deleted later. A trigger takes it
--    from the skill when the execution is created and again when a worker
--    claims it (pending -> running, the moment the worker reads the skill),
--    whoever writes the row: no writer chooses it (authenticated has no grant
--    on it either).
--
-- 2. app.cleanup_executions(days): retention. Executions are history and have
--    no delete policy; this function is the one way a signed-in user deletes
--    them: the organization's owners and admins, in the organization selected
--    for the request, only executions created more than `days` days ago, and
--    never a pending or running one.
--
-- Grants: app.cleanup_executions to authenticated and service_role (it
-- refuses service_role, which selects no organization membership); the
-- trigger function to the same roles, as 008 does for every function.

-- migrate:up

alter table public.skill_executions add column output_format public.skill_output_format;

update public.skill_executions e set output_format = s.output_format
  from public.skills s where s.id = e.skill_id;

create function app.stamp_execution_output_format() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' or (new.status = 'running' and old.status = 'pending') then
    new.output_format := (select s.output_format from public.skills s where s.id = new.skill_id);
  elsif new.output_format is distinct from old.output_format then
    new.output_format := old.output_format;
  end if;
  return new;
end
$$;
create trigger skill_executions_stamp_output_format before insert or update on public.skill_executions
  for each row execute function app.stamp_execution_output_format();

create function app.cleanup_executions(p_older_than_days integer)
  returns table (deleted_count bigint, freed_bytes bigint, cutoff timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_organization uuid := app.current_organization_id();
  v_cutoff timestamptz;
begin
  if p_older_than_days is null or p_older_than_days < 1 or p_older_than_days > 36500 then
    raise exception 'olderThanDays must be between 1 and 36500' using errcode = '22023';
  end if;
  if v_organization is null or app.organization_role(v_organization) is null
     or app.organization_role(v_organization) not in ('owner', 'admin') then
    raise exception 'only the organization''s owners and admins delete its executions' using errcode = '42501';
  end if;
  v_cutoff := now() - make_interval(days => p_older_than_days);
  return query
    with deleted as (
      delete from public.skill_executions e
      where e.organization_id = v_organization
        and e.created_at < v_cutoff
        and e.status not in ('pending', 'running')
      returning pg_catalog.pg_column_size(e.*) as size
    )
    select count(*)::bigint, coalesce(sum(d.size), 0)::bigint, v_cutoff from deleted d;
end
$$;

revoke execute on function app.stamp_execution_output_format() from public;
revoke execute on function app.cleanup_executions(integer) from public;
grant execute on function app.stamp_execution_output_format() to authenticated, service_role;
grant execute on function app.cleanup_executions(integer) to authenticated, service_role;

-- migrate:down

drop function if exists app.cleanup_executions(integer);
drop trigger if exists skill_executions_stamp_output_format on public.skill_executions;
drop function if exists app.stamp_execution_output_format();
alter table public.skill_executions drop column if exists output_format;
