-- migrate:up

-- What reflexes need beyond 002_skills_tables: webhook secrets kept out of
-- reach of signed-in users, replay protection for signed deliveries, one
-- database function that starts a reflex's execution, and the counters that
-- follow those executions (triggers, consecutive failures).

-- ---------------------------------------------------------------------------
-- Webhook secrets
-- ---------------------------------------------------------------------------

-- The HMAC of an inbound delivery needs the secret itself, so it cannot be
-- stored as a hash. It lives in its own table that `authenticated` has no
-- grant on at all (not even through the Data API); only service_role (the
-- inbound webhook route) reads it, and only app.store_reflex_secret writes it
-- for a caller who may manage the reflex.
create table public.reflex_secrets (
  reflex_id uuid primary key references public.reflexes (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  secret text not null check (secret ~ '^whsec_[A-Za-z0-9_-]{43}$'),
  created_at timestamptz not null default now()
);
create index reflex_secrets_organization_idx on public.reflex_secrets (organization_id);

-- Signatures of accepted deliveries, kept until their timestamp leaves the
-- tolerance window: the same delivery sent again inside it is refused.
create table public.reflex_webhook_deliveries (
  reflex_id uuid not null references public.reflexes (id) on delete cascade,
  signature text not null check (signature ~ '^[0-9a-f]{64}$'),
  expires_at timestamptz not null,
  primary key (reflex_id, signature)
);
create index reflex_webhook_deliveries_expires_idx on public.reflex_webhook_deliveries (reflex_id, expires_at);

alter table public.reflex_secrets enable row level security;
alter table public.reflex_secrets force row level security;
alter table public.reflex_webhook_deliveries enable row level security;
alter table public.reflex_webhook_deliveries force row level security;

-- Only service_role; it bypasses row level security on Supabase, and these
-- policies say the same for servers where it does not. No policy names
-- authenticated, and it has no grant: a signed-in user never reads a secret.
create policy reflex_secrets_service_select on public.reflex_secrets for select to service_role using (true);
create policy reflex_secrets_service_insert on public.reflex_secrets for insert to service_role with check (true);
create policy reflex_secrets_service_update on public.reflex_secrets for update to service_role using (true) with check (true);
create policy reflex_secrets_service_delete on public.reflex_secrets for delete to service_role using (true);
create policy reflex_webhook_deliveries_service_select on public.reflex_webhook_deliveries for select to service_role using (true);
create policy reflex_webhook_deliveries_service_insert on public.reflex_webhook_deliveries for insert to service_role with check (true);
create policy reflex_webhook_deliveries_service_delete on public.reflex_webhook_deliveries for delete to service_role using (true);

grant select, insert, update, delete on public.reflex_secrets, public.reflex_webhook_deliveries to service_role;
revoke all on public.reflex_secrets, public.reflex_webhook_deliveries from authenticated, anon;

-- Whether the caller may manage this reflex: service_role, or a signed-in
-- member of the reflex's (selected) organization who owns it or is an owner
-- or admin there.
create function app.can_manage_reflex(p_reflex_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select auth.role()) = 'service_role', false) or exists (
      select 1 from public.reflexes r
      where r.id = p_reflex_id
        and r.organization_id = (select app.current_organization_id())
        and app.can_manage_owned(r.organization_id, r.user_id)
    )
  $$;

-- Stores (or replaces) a webhook reflex's secret. The API makes the secret
-- (32 random bytes) and shows it once; replacing it ends the old one and
-- forgets the deliveries signed with it.
create function app.store_reflex_secret(p_reflex_id uuid, p_secret text) returns timestamptz
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_reflex public.reflexes;
  v_created timestamptz;
begin
  if not app.can_manage_reflex(p_reflex_id) then
    raise exception 'you may not manage this reflex' using errcode = '42501';
  end if;
  select * into v_reflex from public.reflexes where id = p_reflex_id;
  if v_reflex.trigger_type is distinct from 'webhook' then
    raise exception 'only webhook reflexes have a secret' using errcode = '55000';
  end if;
  insert into public.reflex_secrets (reflex_id, organization_id, secret)
    values (p_reflex_id, v_reflex.organization_id, p_secret)
    on conflict (reflex_id) do update set secret = excluded.secret, created_at = now()
    returning created_at into v_created;
  delete from public.reflex_webhook_deliveries where reflex_id = p_reflex_id;
  return v_created;
end
$$;

-- Drops the secret when a reflex stops being a webhook.
create function app.drop_reflex_secret(p_reflex_id uuid) returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if not app.can_manage_reflex(p_reflex_id) then
    raise exception 'you may not manage this reflex' using errcode = '42501';
  end if;
  delete from public.reflex_secrets where reflex_id = p_reflex_id;
end
$$;

-- When the secret was made, for anyone who may see the reflex; never the secret.
create function app.reflex_secret_created_at(p_reflex_id uuid) returns timestamptz
  language sql stable security definer
  set search_path = ''
  as $$
    select s.created_at
    from public.reflex_secrets s
    join public.reflexes r on r.id = s.reflex_id
    where s.reflex_id = p_reflex_id
      and (
        coalesce((select auth.role()) = 'service_role', false)
        or (r.organization_id = (select app.current_organization_id()) and app.is_organization_member(r.organization_id))
      )
  $$;

-- ---------------------------------------------------------------------------
-- Starting a reflex's execution
-- ---------------------------------------------------------------------------

-- The one way a reflex starts its skill: an execution of type reflex, owned
-- by the reflex's owner (whoever sent the event), pending for the worker.
-- Signed-in members may fire the event and file_change reflexes of their
-- selected organization (POST /events, file registrations); every other
-- trigger (signed webhooks) is service_role's. Returns null when the reflex or
-- its skill is inactive, so nothing starts.
create function app.fire_reflex(p_reflex_id uuid, p_input jsonb) returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_reflex public.reflexes;
  v_skill_active boolean;
  v_execution uuid;
begin
  select * into v_reflex from public.reflexes where id = p_reflex_id;
  if not found then
    raise exception 'there is no such reflex' using errcode = '42501';
  end if;
  if not coalesce((select auth.role()) = 'service_role', false) then
    if v_reflex.organization_id is distinct from (select app.current_organization_id())
       or not app.is_organization_member(v_reflex.organization_id)
       or v_reflex.trigger_type not in ('event', 'file_change') then
      raise exception 'you may not fire this reflex' using errcode = '42501';
    end if;
  end if;
  select s.is_active into v_skill_active from public.skills s where s.id = v_reflex.skill_id;
  if not v_reflex.is_active or not coalesce(v_skill_active, false) then
    return null;
  end if;
  insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, input)
    values (v_reflex.organization_id, v_reflex.skill_id, v_reflex.user_id, 'reflex', v_reflex.id, coalesce(p_input, '{}'::jsonb))
    returning id into v_execution;
  return v_execution;
end
$$;

-- ---------------------------------------------------------------------------
-- Counters
-- ---------------------------------------------------------------------------

-- Every reflex execution created counts as a trigger; one that ends failed
-- adds a consecutive failure (three in a row deactivate the reflex, as with
-- habits), one that completes clears them. Cancelled executions change
-- nothing. Runs as the owner: the worker and members may not write these
-- columns themselves.
create function app.track_reflex_execution() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.execution_type <> 'reflex' or new.reference_id is null then
    return null;
  end if;
  if tg_op = 'INSERT' then
    update public.reflexes
    set trigger_count = trigger_count + 1,
        last_triggered_at = greatest(last_triggered_at, new.created_at)
    where id = new.reference_id and organization_id = new.organization_id;
  end if;
  if tg_op = 'INSERT' or old.status is distinct from new.status then
    if new.status = 'failed' then
      update public.reflexes
      set consecutive_failures = consecutive_failures + 1,
          last_error_message = left(coalesce(new.error_message, 'The execution failed.'), 2000),
          is_active = is_active and consecutive_failures + 1 < 3
      where id = new.reference_id and organization_id = new.organization_id;
    elsif new.status = 'completed' then
      update public.reflexes
      set consecutive_failures = 0, last_error_message = null
      where id = new.reference_id and organization_id = new.organization_id
        and (consecutive_failures <> 0 or last_error_message is not null);
    end if;
  end if;
  return null;
end
$$;

create trigger skill_executions_track_reflex after insert or update of status on public.skill_executions
  for each row execute function app.track_reflex_execution();

-- ---------------------------------------------------------------------------
-- Indexes for the lists and the matching
-- ---------------------------------------------------------------------------

create index reflexes_organization_active_idx on public.reflexes (organization_id, is_active, created_at, id);
-- POST /events looks up the active event reflexes of one organization by name.
create index reflexes_event_name_idx on public.reflexes (organization_id, (trigger_config ->> 'eventName'))
  where trigger_type = 'event' and is_active;

-- Functions are executable by PUBLIC by default; only the API roles may call these.
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;

-- migrate:down

drop index if exists public.reflexes_event_name_idx;
drop index if exists public.reflexes_organization_active_idx;
drop trigger if exists skill_executions_track_reflex on public.skill_executions;
drop function if exists app.track_reflex_execution();
drop function if exists app.fire_reflex(uuid, jsonb);
drop function if exists app.reflex_secret_created_at(uuid);
drop function if exists app.drop_reflex_secret(uuid);
drop function if exists app.store_reflex_secret(uuid, text);
drop function if exists app.can_manage_reflex(uuid);
drop table if exists public.reflex_webhook_deliveries;
drop table if exists public.reflex_secrets;
