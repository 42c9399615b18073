-- What the web frontend's team and project screens need from the database:
--   * organization members can be deactivated and reactivated; an inactive
--     membership counts for nothing (the membership helpers every policy uses
--     ignore it), and the member's last activity is kept, written at most once
--     every five minutes per member;
--   * an ingestion can be cancelled while it is unfinished (a fourth way to
--     end, as final as the other two), and the API may store its estimate;
--   * an invitation carries the invitee's notification preferences, which
--     become their project membership's on acceptance.

-- migrate:up

-- ---------------------------------------------------------------------------
-- Organization members: status and last activity
-- ---------------------------------------------------------------------------

create type public.organization_member_status as enum ('active', 'inactive');

alter table public.organization_members
  add column status public.organization_member_status not null default 'active',
  add column last_active_at timestamptz;

-- An owner is always active: deactivating one would let the last owner lock
-- everyone out, and owners are demoted first if they are to lose access.
create function app.guard_member_status() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if new.status = 'inactive' and new.role = 'owner' then
    raise exception 'An owner cannot be deactivated: make them an admin or a member first.' using errcode = '55000';
  end if;
  return new;
end
$$;
create trigger organization_members_guard_status before update of role, status on public.organization_members
  for each row execute function app.guard_member_status();

-- updated_at tracks changes people make (role, status), not the activity stamp.
drop trigger organization_members_updated_at on public.organization_members;
create trigger organization_members_updated_at before update of role, status on public.organization_members
  for each row execute function app.set_updated_at();

-- The same update policy decides who may change the status as the role:
-- owners anyone, admins plain members.
grant update (status) on public.organization_members to authenticated;

-- The membership helpers of 001, now counting active memberships only. Every
-- policy reaches membership through organization_role (directly or through
-- current_organization_role, is_organization_member, is_billing_manager,
-- can_manage_owned), so an inactive member sees and changes nothing of the
-- organization. Other members still see the inactive membership itself (the
-- select policy asks about the caller's membership, not the row's).
create or replace function app.organization_role(p_organization_id uuid) returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$
    select m.role from public.organization_members m
    where m.organization_id = p_organization_id and m.user_id = (select auth.uid()) and m.status = 'active'
  $$;

-- Only the caller's membership has to be active: colleagues keep seeing the
-- profile of someone they deactivated.
create or replace function app.shares_organization_with(p_user_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1
      from public.organization_members mine
      join public.organization_members theirs using (organization_id)
      where mine.user_id = (select auth.uid()) and mine.status = 'active' and theirs.user_id = p_user_id
    )
  $$;

-- As in 001, but an inactive membership is no membership (the API answers 404
-- for that organization, and it is never picked as the default), and the
-- member's activity is stamped when it is older than five minutes. The stamp
-- skips a row another request holds, so it never waits and never conflicts.
create or replace function app.begin_request(p_requested uuid)
  returns table (known boolean, organization_id uuid, organization_role public.organization_role)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_default uuid;
  v_org uuid;
  v_role public.organization_role;
  v_seen timestamptz;
begin
  select p.default_organization_id into v_default from public.profiles p where p.id = v_user;
  if not found then
    return query select false, null::uuid, null::public.organization_role;
    return;
  end if;
  if p_requested is not null then
    select m.organization_id, m.role, m.last_active_at into v_org, v_role, v_seen
    from public.organization_members m
    where m.organization_id = p_requested and m.user_id = v_user and m.status = 'active';
  else
    select m.organization_id, m.role, m.last_active_at into v_org, v_role, v_seen
    from public.organization_members m
    where m.user_id = v_user and m.status = 'active'
    order by (m.organization_id = v_default) desc nulls last, m.created_at, m.organization_id
    limit 1;
  end if;
  if v_org is not null and (v_seen is null or v_seen < now() - interval '5 minutes') then
    update public.organization_members m set last_active_at = now()
    where (m.organization_id, m.user_id) in (
      select s.organization_id, s.user_id from public.organization_members s
      where s.organization_id = v_org and s.user_id = v_user
      for update skip locked
    );
  end if;
  perform set_config('app.organization_id', coalesce(v_org::text, ''), true);
  return query select true, v_org, v_role;
end
$$;

-- ---------------------------------------------------------------------------
-- Ingestions: cancelling, and the estimate stored at the start
-- ---------------------------------------------------------------------------

alter table public.ingestion_progress
  add column cancelled_at timestamptz,
  -- An ingestion ends once: completed, failed or cancelled.
  add constraint ingestion_progress_ends_once check (num_nonnulls(completed_at, error_message, cancelled_at) <= 1);

drop index public.ingestion_progress_one_unfinished_key;
create unique index ingestion_progress_one_unfinished_key on public.ingestion_progress (project_id)
  where completed_at is null and error_message is null and cancelled_at is null;

-- As in 001, with cancelling: only an unfinished ingestion can be cancelled,
-- at the moment it happens (a caller cannot backdate it), and never undone.
create or replace function app.guard_ingestion_progress() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if old.completed_at is not null or old.error_message is not null or old.cancelled_at is not null then
    raise exception 'this ingestion has finished and cannot change' using errcode = '55000';
  end if;
  if new.phase < old.phase then
    raise exception 'ingestion phases only move forward (% -> %)', old.phase, new.phase using errcode = '55000';
  end if;
  if new.project_id <> old.project_id or new.organization_id <> old.organization_id or new.started_at <> old.started_at then
    raise exception 'an ingestion cannot move' using errcode = '23514';
  end if;
  if new.cancelled_at is not null then
    new.cancelled_at := now();
  end if;
  if new.completed_at is not null then
    new.progress_percent := 100;
  end if;
  return new;
end
$$;

-- As in 001, and a cancelled ingestion puts the project back where it was
-- before: active when an earlier ingestion completed, else draft.
create or replace function app.project_follows_ingestion() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    update public.projects set status = 'processing' where id = new.project_id;
  elsif new.completed_at is not null and old.completed_at is null then
    update public.projects
    set status = 'active',
        original_tokens = coalesce(new.original_tokens, original_tokens),
        optimized_tokens = coalesce(new.optimized_tokens, optimized_tokens),
        ingestion_time_seconds = greatest(0, round(extract(epoch from new.completed_at - new.started_at)))::integer
    where id = new.project_id;
  elsif new.error_message is not null and old.error_message is null then
    update public.projects set status = 'error' where id = new.project_id;
  elsif new.cancelled_at is not null and old.cancelled_at is null then
    update public.projects p
    set status = case
      when exists (
        select 1 from public.ingestion_progress i where i.project_id = new.project_id and i.completed_at is not null
      ) then 'active'::public.project_status
      else 'draft'::public.project_status
    end
    where p.id = new.project_id;
  end if;
  return null;
end
$$;

-- Editors cancel (the update policy of 001 is can_edit_project); the guard
-- above lets nothing else change. The estimate is the API's, stored once.
grant update (cancelled_at) on public.ingestion_progress to authenticated;
grant insert (estimated_completion_at) on public.ingestion_progress to authenticated;

-- ---------------------------------------------------------------------------
-- Invitations: the invitee's notification preferences
-- ---------------------------------------------------------------------------

alter table public.project_invitations
  add column notify_on_ingestion boolean not null default true,
  add column notify_on_error boolean not null default true,
  add column notify_on_team_changes boolean not null default true;
grant insert (notify_on_ingestion, notify_on_error, notify_on_team_changes) on public.project_invitations to authenticated;

-- As in 001, with two changes: the membership takes the invitation's
-- notification preferences, and someone whose membership of the organization
-- was deactivated cannot use an invitation to walk back in (member_inactive).
create or replace function app.accept_project_invitation(p_token_hash bytea)
  returns table (outcome text, project_id uuid, organization_id uuid, member_id uuid)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_email text := lower(auth.email());
  v_invitation public.project_invitations;
  v_profile public.profiles;
  v_member uuid;
begin
  select * into v_invitation from public.project_invitations i where i.token_hash = p_token_hash for update;
  if not found then
    return query select 'not_found', null::uuid, null::uuid, null::uuid;
    return;
  end if;
  if v_invitation.status = 'cancelled' then
    return query select 'cancelled', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if v_invitation.status = 'accepted' then
    return query select 'used', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if v_invitation.status = 'expired' or v_invitation.expires_at <= now() then
    return query select 'expired', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if v_user is null or v_email is distinct from lower(v_invitation.email) then
    return query select 'email_mismatch', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if exists (
    select 1 from auth.users u
    where u.id = v_user and to_jsonb(u) ? 'email_confirmed_at' and to_jsonb(u) ->> 'email_confirmed_at' is null
  ) then
    return query select 'email_unconfirmed', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if exists (
    select 1 from public.organization_members m
    where m.organization_id = v_invitation.organization_id and m.user_id = v_user and m.status = 'inactive'
  ) then
    return query select 'member_inactive', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if exists (
    select 1 from public.project_members pm
    where pm.project_id = v_invitation.project_id and pm.user_id = v_user
  ) then
    return query select 'already_member', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  select * into v_profile from public.profiles p where p.id = v_user;

  insert into public.organization_members (organization_id, user_id, role)
    values (v_invitation.organization_id, v_user, 'member')
    on conflict do nothing;
  insert into public.project_members as pm
      (project_id, organization_id, user_id, email, name, avatar_url, role, invited_at, accepted_at,
       notify_on_ingestion, notify_on_error, notify_on_team_changes)
    values (v_invitation.project_id, v_invitation.organization_id, v_user, v_profile.email, v_profile.full_name,
            v_profile.avatar_url, v_invitation.role, v_invitation.created_at, now(),
            v_invitation.notify_on_ingestion, v_invitation.notify_on_error, v_invitation.notify_on_team_changes)
    on conflict on constraint project_members_project_id_user_id_key
      do update set accepted_at = coalesce(pm.accepted_at, now())
    returning pm.id into v_member;
  update public.project_invitations
    set status = 'accepted', accepted_by = v_user, accepted_at = now()
    where id = v_invitation.id;
  return query select 'accepted', v_invitation.project_id, v_invitation.organization_id, v_member;
end
$$;

-- Project members are added with their notification preferences (the
-- columns were updatable already; the API now also sets them on insert).
grant insert (notify_on_ingestion, notify_on_error, notify_on_team_changes) on public.project_members to authenticated;

revoke execute on function app.guard_member_status() from public;
grant execute on function app.guard_member_status() to authenticated, service_role;

-- migrate:down

revoke insert (notify_on_ingestion, notify_on_error, notify_on_team_changes) on public.project_members from authenticated;

create or replace function app.accept_project_invitation(p_token_hash bytea)
  returns table (outcome text, project_id uuid, organization_id uuid, member_id uuid)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_email text := lower(auth.email());
  v_invitation public.project_invitations;
  v_profile public.profiles;
  v_member uuid;
begin
  select * into v_invitation from public.project_invitations i where i.token_hash = p_token_hash for update;
  if not found then
    return query select 'not_found', null::uuid, null::uuid, null::uuid;
    return;
  end if;
  if v_invitation.status = 'cancelled' then
    return query select 'cancelled', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if v_invitation.status = 'accepted' then
    return query select 'used', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if v_invitation.status = 'expired' or v_invitation.expires_at <= now() then
    return query select 'expired', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if v_user is null or v_email is distinct from lower(v_invitation.email) then
    return query select 'email_mismatch', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if exists (
    select 1 from auth.users u
    where u.id = v_user and to_jsonb(u) ? 'email_confirmed_at' and to_jsonb(u) ->> 'email_confirmed_at' is null
  ) then
    return query select 'email_unconfirmed', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  if exists (
    select 1 from public.project_members pm
    where pm.project_id = v_invitation.project_id and pm.user_id = v_user
  ) then
    return query select 'already_member', v_invitation.project_id, null::uuid, null::uuid;
    return;
  end if;
  select * into v_profile from public.profiles p where p.id = v_user;

  insert into public.organization_members (organization_id, user_id, role)
    values (v_invitation.organization_id, v_user, 'member')
    on conflict do nothing;
  insert into public.project_members as pm
      (project_id, organization_id, user_id, email, name, avatar_url, role, invited_at, accepted_at)
    values (v_invitation.project_id, v_invitation.organization_id, v_user, v_profile.email, v_profile.full_name,
            v_profile.avatar_url, v_invitation.role, v_invitation.created_at, now())
    on conflict on constraint project_members_project_id_user_id_key
      do update set accepted_at = coalesce(pm.accepted_at, now())
    returning pm.id into v_member;
  update public.project_invitations
    set status = 'accepted', accepted_by = v_user, accepted_at = now()
    where id = v_invitation.id;
  return query select 'accepted', v_invitation.project_id, v_invitation.organization_id, v_member;
end
$$;

revoke insert (notify_on_ingestion, notify_on_error, notify_on_team_changes) on public.project_invitations from authenticated;
alter table public.project_invitations
  drop column notify_on_ingestion,
  drop column notify_on_error,
  drop column notify_on_team_changes;

revoke insert (estimated_completion_at) on public.ingestion_progress from authenticated;
revoke update (cancelled_at) on public.ingestion_progress from authenticated;

create or replace function app.project_follows_ingestion() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    update public.projects set status = 'processing' where id = new.project_id;
  elsif new.completed_at is not null and old.completed_at is null then
    update public.projects
    set status = 'active',
        original_tokens = coalesce(new.original_tokens, original_tokens),
        optimized_tokens = coalesce(new.optimized_tokens, optimized_tokens),
        ingestion_time_seconds = greatest(0, round(extract(epoch from new.completed_at - new.started_at)))::integer
    where id = new.project_id;
  elsif new.error_message is not null and old.error_message is null then
    update public.projects set status = 'error' where id = new.project_id;
  end if;
  return null;
end
$$;

create or replace function app.guard_ingestion_progress() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if old.completed_at is not null or old.error_message is not null then
    raise exception 'this ingestion has finished and cannot change' using errcode = '55000';
  end if;
  if new.phase < old.phase then
    raise exception 'ingestion phases only move forward (% -> %)', old.phase, new.phase using errcode = '55000';
  end if;
  if new.project_id <> old.project_id or new.organization_id <> old.organization_id or new.started_at <> old.started_at then
    raise exception 'an ingestion cannot move' using errcode = '23514';
  end if;
  if new.completed_at is not null then
    new.progress_percent := 100;
  end if;
  return new;
end
$$;

-- Cancelled ingestions become failed ones, so that the old index (one
-- unfinished per project) and the old check still hold.
update public.ingestion_progress
  set error_message = 'cancelled', error_code = 'cancelled'
  where cancelled_at is not null;
drop index public.ingestion_progress_one_unfinished_key;
create unique index ingestion_progress_one_unfinished_key on public.ingestion_progress (project_id)
  where completed_at is null and error_message is null;
alter table public.ingestion_progress
  drop constraint ingestion_progress_ends_once,
  drop column cancelled_at;

create or replace function app.begin_request(p_requested uuid)
  returns table (known boolean, organization_id uuid, organization_role public.organization_role)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_default uuid;
  v_org uuid;
  v_role public.organization_role;
begin
  select p.default_organization_id into v_default from public.profiles p where p.id = v_user;
  if not found then
    return query select false, null::uuid, null::public.organization_role;
    return;
  end if;
  if p_requested is not null then
    select m.organization_id, m.role into v_org, v_role
    from public.organization_members m
    where m.organization_id = p_requested and m.user_id = v_user;
  else
    select m.organization_id, m.role into v_org, v_role
    from public.organization_members m
    where m.user_id = v_user
    order by (m.organization_id = v_default) desc nulls last, m.created_at, m.organization_id
    limit 1;
  end if;
  perform set_config('app.organization_id', coalesce(v_org::text, ''), true);
  return query select true, v_org, v_role;
end
$$;

create or replace function app.shares_organization_with(p_user_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1
      from public.organization_members mine
      join public.organization_members theirs using (organization_id)
      where mine.user_id = (select auth.uid()) and theirs.user_id = p_user_id
    )
  $$;

create or replace function app.organization_role(p_organization_id uuid) returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$
    select m.role from public.organization_members m
    where m.organization_id = p_organization_id and m.user_id = (select auth.uid())
  $$;

revoke update (status) on public.organization_members from authenticated;
drop trigger organization_members_updated_at on public.organization_members;
create trigger organization_members_updated_at before update on public.organization_members
  for each row execute function app.set_updated_at();
drop trigger organization_members_guard_status on public.organization_members;
drop function app.guard_member_status();
alter table public.organization_members
  drop column last_active_at,
  drop column status;
drop type public.organization_member_status;
