-- Tenancy (organizations, memberships, profiles) and the project tables:
-- projects, repositories, members, invitations, ingestion progress and files.
-- Row level security is enabled and forced on every table; policies key on
-- the caller (auth.uid()) and the organization selected for the request
-- (app.organization_id, set transaction-locally by the API).

-- migrate:up

create schema if not exists extensions;
create extension if not exists pg_trgm with schema extensions;

create schema app;
grant usage on schema app to authenticated, service_role;

create type public.organization_role as enum ('owner', 'admin', 'member');
create type public.plan_tier as enum ('free', 'pro', 'teams', 'enterprise');
create type public.project_type as enum ('repository', 'files', 'manual');
create type public.project_status as enum ('draft', 'processing', 'active', 'error');
create type public.project_privacy as enum ('private', 'shared');
create type public.chunking_strategy as enum ('semantic', 'fixed', 'recursive', 'custom');
create type public.git_provider as enum ('github', 'gitlab', 'bitbucket', 'azure');
create type public.repository_status as enum ('pending', 'connected', 'syncing', 'error');
create type public.project_member_role as enum ('admin', 'manager', 'developer', 'viewer', 'auditor');
create type public.ingestion_phase as enum ('repository_fetch', 'parsing', 'chunking', 'optimization', 'indexing');
create type public.invitation_status as enum ('pending', 'accepted', 'expired', 'cancelled');

-- ---------------------------------------------------------------------------
-- Shared trigger functions
-- ---------------------------------------------------------------------------

create function app.set_updated_at() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- ---------------------------------------------------------------------------
-- Tenancy
-- ---------------------------------------------------------------------------

create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 2 and 100 and name = btrim(name)),
  plan_tier public.plan_tier not null default 'free',
  is_personal boolean not null default false,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null check (email ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$' and char_length(email) <= 320),
  full_name text check (char_length(full_name) <= 200),
  avatar_url text check (avatar_url ~* '^https?://' and char_length(avatar_url) <= 1000),
  default_organization_id uuid references public.organizations (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index profiles_email_key on public.profiles (lower(email));

create table public.organization_members (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  role public.organization_role not null default 'member',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
-- Serves "which organizations am I in", the question behind every policy.
create index organization_members_user_idx on public.organization_members (user_id, organization_id);

create trigger organizations_updated_at before update on public.organizations
  for each row execute function app.set_updated_at();
create trigger profiles_updated_at before update on public.profiles
  for each row execute function app.set_updated_at();
create trigger organization_members_updated_at before update on public.organization_members
  for each row execute function app.set_updated_at();

-- The organization selected for this request (transaction-local setting).
create function app.current_organization_id() returns uuid
  language sql stable
  set search_path = ''
  as $$ select nullif(current_setting('app.organization_id', true), '')::uuid $$;

-- Membership helpers run as their owner so that policies can consult
-- organization_members without recursing into its own policies.
create function app.organization_role(p_organization_id uuid) returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$
    select m.role from public.organization_members m
    where m.organization_id = p_organization_id and m.user_id = (select auth.uid())
  $$;

create function app.current_organization_role() returns public.organization_role
  language sql stable security definer
  set search_path = ''
  as $$ select app.organization_role(app.current_organization_id()) $$;

create function app.is_organization_member(p_organization_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$ select app.organization_role(p_organization_id) is not null $$;

create function app.shares_organization_with(p_user_id uuid) returns boolean
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

-- Creates an organization with the caller as its owner, in one step, so that
-- no moment exists where an organization has no owner.
create function app.create_organization(p_name text) returns public.organizations
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_org public.organizations;
begin
  if v_user is null then
    raise exception 'no authenticated user' using errcode = '42501';
  end if;
  insert into public.organizations (name, created_by) values (p_name, v_user) returning * into v_org;
  insert into public.organization_members (organization_id, user_id, role) values (v_org.id, v_user, 'owner');
  return v_org;
end
$$;

-- First use of a verified token by a user this database does not know yet:
-- a profile from the token's email and a personal organization they own.
-- Safe to call concurrently and more than once.
create function app.provision_current_user() returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := auth.uid();
  v_email text := lower(auth.email());
  v_org uuid;
  v_handle text;
begin
  if v_user is null or v_email is null then
    raise exception 'a token with sub and email is needed' using errcode = '42501';
  end if;
  -- On a plain server (auth schema made by 000_supabase_compat) tokens come
  -- from our own minting, so the user row is created here. Supabase Auth owns
  -- its users: a valid token whose account has since been deleted is refused.
  if exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth' and pg_catalog.obj_description(n.oid, 'pg_namespace') = 'created by 000_supabase_compat'
  ) then
    insert into auth.users (id, email) values (v_user, v_email) on conflict (id) do nothing;
  elsif not exists (select 1 from auth.users u where u.id = v_user) then
    raise exception 'the account of this token no longer exists' using errcode = '28000';
  end if;
  insert into public.profiles (id, email) values (v_user, v_email) on conflict do nothing;
  if not found then
    return;
  end if;
  v_handle := left(split_part(v_email, '@', 1), 80);
  insert into public.organizations (name, is_personal, created_by)
    values (v_handle || '''s workspace', true, v_user)
    returning id into v_org;
  insert into public.organization_members (organization_id, user_id, role) values (v_org, v_user, 'owner');
  update public.profiles set default_organization_id = v_org where id = v_user;
end
$$;

-- Resolves the organization of a request and stores it transaction-locally.
-- p_requested is the X-Organization-Id header (null when absent); a caller who
-- is not a member of it gets no organization, which the API answers with 404.
-- known = false means the caller has no profile yet and must be provisioned.
create function app.begin_request(p_requested uuid)
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

alter table public.organizations enable row level security;
alter table public.organizations force row level security;
alter table public.profiles enable row level security;
alter table public.profiles force row level security;
alter table public.organization_members enable row level security;
alter table public.organization_members force row level security;

create policy organizations_select on public.organizations for select to authenticated
  using (app.is_organization_member(id));
create policy organizations_update on public.organizations for update to authenticated
  using (app.organization_role(id) in ('owner', 'admin'));

create policy profiles_select on public.profiles for select to authenticated
  using (id = (select auth.uid()) or app.shares_organization_with(id));
create policy profiles_update on public.profiles for update to authenticated
  using (id = (select auth.uid()));

create policy organization_members_select on public.organization_members for select to authenticated
  using (app.is_organization_member(organization_id));
-- Owners manage every membership; admins only plain members, and nobody can
-- make anyone (themselves included) more than their own role allows.
create policy organization_members_insert on public.organization_members for insert to authenticated
  with check (
    app.organization_role(organization_id) = 'owner'
    or (app.organization_role(organization_id) = 'admin' and role = 'member')
  );
create policy organization_members_update on public.organization_members for update to authenticated
  using (
    app.organization_role(organization_id) = 'owner'
    or (app.organization_role(organization_id) = 'admin' and role = 'member')
  )
  with check (
    app.organization_role(organization_id) = 'owner'
    or (app.organization_role(organization_id) = 'admin' and role = 'member')
  );
create policy organization_members_delete on public.organization_members for delete to authenticated
  using (
    app.organization_role(organization_id) = 'owner'
    or (app.organization_role(organization_id) = 'admin' and role = 'member')
  );

-- ---------------------------------------------------------------------------
-- Projects
-- ---------------------------------------------------------------------------

create table public.projects (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- The creator; null once their account is deleted (the project stays with the organization).
  user_id uuid references public.profiles (id) on delete set null,
  name text not null check (char_length(name) between 3 and 50 and name = btrim(name)),
  description text check (char_length(description) <= 2000),
  type public.project_type not null,
  status public.project_status not null default 'draft',
  privacy public.project_privacy not null default 'private',
  chunking_strategy public.chunking_strategy not null default 'semantic',
  include_metadata boolean not null default true,
  anonymize_secrets boolean not null default true,
  custom_settings jsonb not null default '{}'::jsonb check (jsonb_typeof(custom_settings) = 'object'),
  total_repos integer not null default 0 check (total_repos >= 0),
  total_files integer not null default 0 check (total_files >= 0),
  original_tokens bigint not null default 0 check (original_tokens >= 0),
  optimized_tokens bigint not null default 0 check (optimized_tokens >= 0),
  ingestion_time_seconds integer not null default 0 check (ingestion_time_seconds >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Lets child tables reference (project, organization) so a child row can
  -- never sit in another organization than its project.
  unique (id, organization_id)
);
-- Names are unique per organization regardless of case; the same index
-- serves sorting by name.
create unique index projects_organization_name_key on public.projects (organization_id, lower(name));
create index projects_organization_created_idx on public.projects (organization_id, created_at, id);
create index projects_organization_updated_idx on public.projects (organization_id, updated_at, id);
create index projects_organization_status_idx on public.projects (organization_id, status, created_at);
create index projects_organization_type_idx on public.projects (organization_id, type, created_at);
create index projects_user_idx on public.projects (user_id);
create index projects_name_trgm_idx on public.projects using gin (name extensions.gin_trgm_ops);

create trigger projects_updated_at before update on public.projects
  for each row execute function app.set_updated_at();

-- Who created a project and where it lives do not change.
create function app.keep_project_owner() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if new.organization_id <> old.organization_id
     or (new.user_id is distinct from old.user_id and new.user_id is not null) then
    raise exception 'organization_id and user_id of a project cannot change' using errcode = '23514';
  end if;
  return new;
end
$$;
create trigger projects_keep_owner before update on public.projects
  for each row execute function app.keep_project_owner();

create table public.project_members (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null,
  organization_id uuid not null,
  user_id uuid not null references public.profiles (id) on delete cascade,
  email text not null check (email ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$' and char_length(email) <= 320),
  name text check (char_length(name) <= 200),
  avatar_url text check (char_length(avatar_url) <= 1000),
  role public.project_member_role not null default 'viewer',
  notify_on_ingestion boolean not null default true,
  notify_on_error boolean not null default true,
  notify_on_team_changes boolean not null default true,
  invited_at timestamptz not null default now(),
  accepted_at timestamptz,
  last_active_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (project_id, organization_id) references public.projects (id, organization_id) on delete cascade,
  unique (project_id, user_id)
);
create unique index project_members_project_email_key on public.project_members (project_id, lower(email));
create index project_members_user_idx on public.project_members (user_id, project_id);
create index project_members_project_role_idx on public.project_members (project_id, role, created_at);
create index project_members_project_created_idx on public.project_members (project_id, created_at, id);

-- Project access, decided once here and used by every policy below.
create function app.project_member_role(p_project_id uuid) returns public.project_member_role
  language sql stable security definer
  set search_path = ''
  as $$
    select pm.role from public.project_members pm
    where pm.project_id = p_project_id and pm.user_id = (select auth.uid())
  $$;

-- Projects of the current organization where the caller is a member.
create function app.my_project_ids() returns setof uuid
  language sql stable security definer
  set search_path = ''
  as $$
    select pm.project_id from public.project_members pm
    where pm.user_id = (select auth.uid())
      and pm.organization_id = app.current_organization_id()
  $$;

-- Read: organization members see shared projects; private ones are seen by
-- their creator, their members and the organization's owners and admins.
create function app.can_read_project(p_project_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.projects p
      where p.id = p_project_id
        and p.organization_id = app.current_organization_id()
        and app.current_organization_role() is not null
        and (
          p.privacy = 'shared'
          or p.user_id = (select auth.uid())
          or app.current_organization_role() in ('owner', 'admin')
          or app.project_member_role(p.id) is not null
        )
    )
  $$;

-- Edit: the creator, project admins and managers, and the organization's
-- owners and admins (so a project never outlives everyone who may manage it).
create function app.can_edit_project(p_project_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.projects p
      where p.id = p_project_id
        and p.organization_id = app.current_organization_id()
        and (
          p.user_id = (select auth.uid())
          or app.current_organization_role() in ('owner', 'admin')
          or app.project_member_role(p.id) in ('admin', 'manager')
        )
    )
  $$;

-- Delete a project: its creator, or the organization's owner.
create function app.can_delete_project(p_project_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.projects p
      where p.id = p_project_id
        and p.organization_id = app.current_organization_id()
        and (p.user_id = (select auth.uid()) or app.current_organization_role() = 'owner')
    )
  $$;

-- Remove members: project admins, the creator and the organization's owners and admins.
create function app.can_remove_project_members(p_project_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select exists (
      select 1 from public.projects p
      where p.id = p_project_id
        and p.organization_id = app.current_organization_id()
        and (
          p.user_id = (select auth.uid())
          or app.current_organization_role() in ('owner', 'admin')
          or app.project_member_role(p.id) = 'admin'
        )
    )
  $$;

-- Whether a name is taken in the current organization, counting projects the
-- caller cannot see (the unique index counts them too).
create function app.project_name_taken(p_name text, p_exclude uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select app.current_organization_role() is not null and exists (
      select 1 from public.projects p
      where p.organization_id = app.current_organization_id()
        and lower(p.name) = lower(p_name)
        and p.id is distinct from p_exclude
    )
  $$;

-- Ids of the current organization's projects whose name matches an ILIKE
-- pattern. ILIKE is not leakproof, so under row level security the planner
-- would test it only after the policy, row by row, and never use the trigram
-- index; here it runs first, through the index, and the caller's query still
-- applies every policy to the ids it gets back.
create function app.search_project_ids(p_pattern text) returns setof uuid
  language sql stable security definer
  rows 100
  set search_path = ''
  as $$
    select p.id from public.projects p
    where app.current_organization_role() is not null
      and p.organization_id = app.current_organization_id()
      and p.name ilike p_pattern
  $$;

-- The creator is the project's first member, as admin.
create function app.add_project_creator() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  insert into public.project_members (project_id, organization_id, user_id, email, name, avatar_url, role, accepted_at)
  select new.id, new.organization_id, pr.id, pr.email, pr.full_name, pr.avatar_url, 'admin', now()
  from public.profiles pr where pr.id = new.user_id;
  return new;
end
$$;
create trigger projects_add_creator after insert on public.projects
  for each row execute function app.add_project_creator();

-- The creator can be neither removed nor demoted (the project's own deletion
-- cascades past this); members who only read may change just their own
-- notification settings.
-- Runs as the caller (not security definer) so current_user tells a request
-- apart from the database's own cascades.
create function app.guard_project_member_change() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_creator uuid;
begin
  select p.user_id into v_creator from public.projects p where p.id = old.project_id;
  -- Only requests are held to these rules; the database's own cascades (a
  -- project or an account being deleted) pass.
  if not found or current_user <> 'authenticated' then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  if tg_op = 'DELETE' then
    if old.user_id = v_creator then
      raise exception 'the project creator cannot be removed' using errcode = '55000';
    end if;
    return old;
  end if;
  if old.user_id = v_creator and new.role <> 'admin' then
    raise exception 'the project creator cannot be demoted' using errcode = '55000';
  end if;
  if new.project_id <> old.project_id or new.user_id <> old.user_id or new.organization_id <> old.organization_id then
    raise exception 'a membership cannot move' using errcode = '23514';
  end if;
  if not app.can_edit_project(old.project_id)
     and (new.role, new.email, new.name, new.avatar_url, new.invited_at, new.accepted_at)
         is distinct from (old.role, old.email, old.name, old.avatar_url, old.invited_at, old.accepted_at) then
    raise exception 'members may change only their own notification settings' using errcode = '42501';
  end if;
  return new;
end
$$;
create trigger project_members_guard before update or delete on public.project_members
  for each row execute function app.guard_project_member_change();
create trigger project_members_updated_at before update on public.project_members
  for each row execute function app.set_updated_at();

create table public.project_repositories (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null,
  organization_id uuid not null,
  provider public.git_provider not null,
  repository_url text not null check (repository_url ~* '^https?://[^\s]+$' and char_length(repository_url) <= 500),
  repository_name text not null check (char_length(repository_name) between 1 and 200),
  branch text not null default 'main' check (char_length(branch) between 1 and 255),
  status public.repository_status not null default 'pending',
  last_sync_at timestamptz check (last_sync_at >= '0001-01-01 00:00:00Z' and last_sync_at < '10000-01-01 00:00:00Z'),
  last_commit_hash text check (last_commit_hash ~ '^[0-9a-f]{7,64}$'),
  file_count integer not null default 0 check (file_count >= 0),
  include_paths text[] not null default '{}',
  exclude_paths text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (project_id, organization_id) references public.projects (id, organization_id) on delete cascade,
  unique (project_id, repository_url, branch)
);
create index project_repositories_project_created_idx on public.project_repositories (project_id, created_at, id);
create index project_repositories_project_status_idx on public.project_repositories (project_id, status, created_at);
create index project_repositories_project_provider_idx on public.project_repositories (project_id, provider, created_at);
create trigger project_repositories_updated_at before update on public.project_repositories
  for each row execute function app.set_updated_at();

create table public.project_invitations (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null,
  organization_id uuid not null,
  email text not null check (email ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$' and char_length(email) <= 320),
  role public.project_member_role not null default 'viewer',
  message text check (char_length(message) <= 1000),
  -- SHA-256 of the token; the token itself is shown once and never stored.
  token_hash bytea not null unique check (octet_length(token_hash) = 32),
  status public.invitation_status not null default 'pending',
  invited_by uuid references public.profiles (id) on delete set null,
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_by uuid references public.profiles (id) on delete set null,
  accepted_at timestamptz,
  cancelled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (project_id, organization_id) references public.projects (id, organization_id) on delete cascade
);
-- One open invitation per address and project.
create unique index project_invitations_pending_email_key on public.project_invitations (project_id, lower(email))
  where status = 'pending';
create index project_invitations_project_status_idx on public.project_invitations (project_id, status, created_at, id);
create index project_invitations_project_expiry_idx on public.project_invitations (project_id, status, expires_at, id);
create trigger project_invitations_updated_at before update on public.project_invitations
  for each row execute function app.set_updated_at();

create table public.ingestion_progress (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null,
  organization_id uuid not null,
  phase public.ingestion_phase not null default 'repository_fetch',
  progress_percent integer not null default 0 check (progress_percent between 0 and 100),
  message text check (char_length(message) <= 2000),
  metrics jsonb not null default '{"filesProcessed":0,"totalFiles":0,"tokensProcessed":0,"bytesProcessed":0,"chunksCreated":0,"errorsEncountered":0}'::jsonb
    check (jsonb_typeof(metrics) = 'object'),
  started_at timestamptz not null default now(),
  estimated_completion_at timestamptz
    check (estimated_completion_at >= '0001-01-01 00:00:00Z' and estimated_completion_at < '10000-01-01 00:00:00Z'),
  completed_at timestamptz,
  error_message text check (char_length(error_message) <= 2000),
  error_code text check (char_length(error_code) <= 100),
  -- Token totals reported on completion; they become the project's.
  original_tokens bigint check (original_tokens >= 0),
  optimized_tokens bigint check (optimized_tokens >= 0),
  started_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (project_id, organization_id) references public.projects (id, organization_id) on delete cascade,
  -- An ingestion ends once: completed or failed, never both.
  check (completed_at is null or error_message is null),
  check (error_code is null or error_message is not null)
);
-- At most one unfinished ingestion per project: neither completed nor failed.
create unique index ingestion_progress_one_unfinished_key on public.ingestion_progress (project_id)
  where completed_at is null and error_message is null;
create index ingestion_progress_project_started_idx on public.ingestion_progress (project_id, started_at, id);
create trigger ingestion_progress_updated_at before update on public.ingestion_progress
  for each row execute function app.set_updated_at();

create table public.project_files (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null,
  organization_id uuid not null,
  name text not null check (char_length(name) between 1 and 255),
  -- The byte bound keeps (project_id, path) within what a btree index entry can hold.
  path text not null check (char_length(path) between 1 and 1024 and octet_length(path) <= 2048),
  mime_type text not null check (mime_type ~* '^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$' and char_length(mime_type) <= 255),
  size_bytes bigint not null check (size_bytes >= 0),
  checksum text not null check (checksum ~ '^[0-9a-f]{64}$'),
  storage_key text not null check (char_length(storage_key) between 1 and 1024),
  storage_provider text not null default 'local' check (char_length(storage_provider) between 1 and 50),
  processed boolean not null default false,
  processed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (project_id, organization_id) references public.projects (id, organization_id) on delete cascade,
  unique (project_id, path)
);
create index project_files_project_created_idx on public.project_files (project_id, created_at, id);
create index project_files_project_mime_idx on public.project_files (project_id, mime_type, created_at);
create index project_files_project_processed_idx on public.project_files (project_id, processed, created_at);
create index project_files_path_prefix_idx on public.project_files (project_id, path text_pattern_ops);
create trigger project_files_updated_at before update on public.project_files
  for each row execute function app.set_updated_at();

-- Child rows take their organization from their project, so callers never
-- supply (or spoof) it.
create function app.inherit_project_organization() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  select p.organization_id into new.organization_id from public.projects p where p.id = new.project_id;
  return new;
end
$$;
create trigger project_members_organization before insert on public.project_members
  for each row execute function app.inherit_project_organization();
create trigger project_repositories_organization before insert on public.project_repositories
  for each row execute function app.inherit_project_organization();
create trigger project_invitations_organization before insert on public.project_invitations
  for each row execute function app.inherit_project_organization();
create trigger ingestion_progress_organization before insert on public.ingestion_progress
  for each row execute function app.inherit_project_organization();
create trigger project_files_organization before insert on public.project_files
  for each row execute function app.inherit_project_organization();

-- Counters kept by the database. Statement-level triggers with transition
-- tables: one UPDATE per statement and project, however many rows it adds or
-- removes (a per-row trigger would update the same project row once per row,
-- which makes bulk inserts quadratic). The UPDATE takes the row lock, so
-- concurrent inserts and deletes never lose a count.
create function app.count_project_children() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_sign integer := case when tg_op = 'INSERT' then 1 else -1 end;
begin
  if tg_table_name = 'project_repositories' then
    update public.projects p set total_repos = p.total_repos + v_sign * c.n
    from (select project_id, count(*)::integer as n from changed_rows group by project_id) c
    where p.id = c.project_id;
  else
    update public.projects p set total_files = p.total_files + v_sign * c.n
    from (select project_id, count(*)::integer as n from changed_rows group by project_id) c
    where p.id = c.project_id;
  end if;
  return null;
end
$$;
create trigger project_repositories_count_added after insert on public.project_repositories
  referencing new table as changed_rows
  for each statement execute function app.count_project_children();
create trigger project_repositories_count_removed after delete on public.project_repositories
  referencing old table as changed_rows
  for each statement execute function app.count_project_children();
create trigger project_files_count_added after insert on public.project_files
  referencing new table as changed_rows
  for each statement execute function app.count_project_children();
create trigger project_files_count_removed after delete on public.project_files
  referencing old table as changed_rows
  for each statement execute function app.count_project_children();

-- Ingestion progress only moves forward, and a finished ingestion is final.
-- The project follows: processing while it runs, active with its token totals
-- and time when it completes, error when it fails.
create function app.guard_ingestion_progress() returns trigger
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
create trigger ingestion_progress_guard before update on public.ingestion_progress
  for each row execute function app.guard_ingestion_progress();

create function app.project_follows_ingestion() returns trigger
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
create trigger ingestion_progress_project_status after insert or update on public.ingestion_progress
  for each row execute function app.project_follows_ingestion();

-- Accepting an invitation: the invitee is not a member yet, so row level
-- security hides the invitation from them; this function checks the token's
-- hash, the state and the caller's email, then makes them a member of the
-- organization (if needed) and of the project. Returns the outcome, which the
-- API turns into a response; only 'accepted' changes anything.
create function app.accept_project_invitation(p_token_hash bytea)
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
  -- On Supabase, auth.users records whether the address was confirmed; an
  -- unconfirmed sign-up must not claim someone else's invitation. (The
  -- minimal users table of 000_supabase_compat has no such column.)
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

alter table public.projects enable row level security;
alter table public.projects force row level security;
alter table public.project_members enable row level security;
alter table public.project_members force row level security;
alter table public.project_repositories enable row level security;
alter table public.project_repositories force row level security;
alter table public.project_invitations enable row level security;
alter table public.project_invitations force row level security;
alter table public.ingestion_progress enable row level security;
alter table public.ingestion_progress force row level security;
alter table public.project_files enable row level security;
alter table public.project_files force row level security;

-- Every sub-select below is evaluated once per statement, not once per row.
-- A child row is readable when its project is: the EXISTS on public.projects
-- runs under the projects policy itself, so the planner joins it (one index
-- lookup) instead of calling a function for every row of a large project.
-- Write policies are per command (never FOR ALL): a FOR ALL policy also
-- applies to SELECT and would add its per-row check to every read.
create policy projects_select on public.projects for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and (
      privacy = 'shared'
      or user_id = (select auth.uid())
      or (select app.current_organization_role()) in ('owner', 'admin')
      or id in (select app.my_project_ids())
    )
  );
create policy projects_insert on public.projects for insert to authenticated
  with check (
    organization_id = (select app.current_organization_id())
    and (select app.current_organization_role()) is not null
    and user_id = (select auth.uid())
  );
create policy projects_update on public.projects for update to authenticated
  using (app.can_edit_project(id))
  with check (organization_id = (select app.current_organization_id()));
create policy projects_delete on public.projects for delete to authenticated
  using (app.can_delete_project(id));

create policy project_members_select on public.project_members for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and exists (select 1 from public.projects p where p.id = project_id)
  );
-- Making someone an admin (directly or by invitation) takes the right to remove members.
create policy project_members_insert on public.project_members for insert to authenticated
  with check (app.can_edit_project(project_id) and (role <> 'admin' or app.can_remove_project_members(project_id)));
create policy project_members_update on public.project_members for update to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and (app.can_edit_project(project_id) or user_id = (select auth.uid()))
  )
  with check (role <> 'admin' or user_id = (select auth.uid()) or app.can_remove_project_members(project_id));
create policy project_members_delete on public.project_members for delete to authenticated
  using (app.can_remove_project_members(project_id));

create policy project_repositories_select on public.project_repositories for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and exists (select 1 from public.projects p where p.id = project_id)
  );
create policy project_repositories_insert on public.project_repositories for insert to authenticated
  with check (app.can_edit_project(project_id));
create policy project_repositories_update on public.project_repositories for update to authenticated
  using (app.can_edit_project(project_id))
  with check (app.can_edit_project(project_id));
create policy project_repositories_delete on public.project_repositories for delete to authenticated
  using (app.can_edit_project(project_id));

create policy project_invitations_select on public.project_invitations for select to authenticated
  using (organization_id = (select app.current_organization_id()) and app.can_edit_project(project_id));
create policy project_invitations_insert on public.project_invitations for insert to authenticated
  with check (app.can_edit_project(project_id) and (role <> 'admin' or app.can_remove_project_members(project_id)));
create policy project_invitations_update on public.project_invitations for update to authenticated
  using (app.can_edit_project(project_id))
  with check (app.can_edit_project(project_id));
create policy project_invitations_delete on public.project_invitations for delete to authenticated
  using (app.can_edit_project(project_id));

create policy ingestion_progress_select on public.ingestion_progress for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and exists (select 1 from public.projects p where p.id = project_id)
  );
create policy ingestion_progress_insert on public.ingestion_progress for insert to authenticated
  with check (app.can_edit_project(project_id));
create policy ingestion_progress_update on public.ingestion_progress for update to authenticated
  using (app.can_edit_project(project_id))
  with check (app.can_edit_project(project_id));
create policy ingestion_progress_delete on public.ingestion_progress for delete to authenticated
  using (app.can_edit_project(project_id));

create policy project_files_select on public.project_files for select to authenticated
  using (
    organization_id = (select app.current_organization_id())
    and exists (select 1 from public.projects p where p.id = project_id)
  );
create policy project_files_insert on public.project_files for insert to authenticated
  with check (app.can_edit_project(project_id));
create policy project_files_update on public.project_files for update to authenticated
  using (app.can_edit_project(project_id))
  with check (app.can_edit_project(project_id));
create policy project_files_delete on public.project_files for delete to authenticated
  using (app.can_edit_project(project_id));

-- Rows are decided by the policies, columns by these grants. On Supabase the
-- public schema is also reachable through its Data API (PostgREST) with the
-- same roles, so a signed-in user gets exactly the writes this API performs
-- and no more: organizations and profiles are created by the SECURITY DEFINER
-- functions, counters, statuses and token totals only by the triggers.
grant select, insert, update, delete on
  public.organizations, public.profiles, public.organization_members,
  public.projects, public.project_members, public.project_repositories,
  public.project_invitations, public.ingestion_progress, public.project_files
  to service_role;
grant select on
  public.organizations, public.profiles, public.organization_members,
  public.projects, public.project_members, public.project_repositories,
  public.project_invitations, public.ingestion_progress, public.project_files
  to authenticated;
grant update (name) on public.organizations to authenticated;
grant update (full_name, avatar_url) on public.profiles to authenticated;
grant insert, delete, update (role) on public.organization_members to authenticated;
grant insert (organization_id, user_id, name, description, type, privacy, chunking_strategy, include_metadata,
              anonymize_secrets, custom_settings),
      update (name, description, type, privacy, chunking_strategy, include_metadata, anonymize_secrets, custom_settings),
      delete
  on public.projects to authenticated;
grant insert (project_id, user_id, email, name, avatar_url, role, accepted_at),
      update (role, notify_on_ingestion, notify_on_error, notify_on_team_changes, last_active_at),
      delete
  on public.project_members to authenticated;
grant insert (project_id, provider, repository_url, repository_name, branch, include_paths, exclude_paths),
      update (repository_name, branch, status, last_sync_at, last_commit_hash, file_count, include_paths, exclude_paths),
      delete
  on public.project_repositories to authenticated;
grant insert (project_id, email, role, message, token_hash, invited_by, expires_at),
      update (status, token_hash, expires_at, cancelled_at),
      delete
  on public.project_invitations to authenticated;
grant insert (project_id, message, started_by) on public.ingestion_progress to authenticated;
grant insert (project_id, name, path, mime_type, size_bytes, checksum, storage_key, storage_provider),
      delete
  on public.project_files to authenticated;

-- Functions are executable by PUBLIC by default; only the API roles may call these.
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;

-- migrate:down

-- The functions go first: app.create_organization returns the organizations
-- row type, so that table cannot be dropped while the function exists. The
-- cascade also takes the triggers and policies that call these functions.
drop schema if exists app cascade;
drop table if exists public.project_files;
drop table if exists public.ingestion_progress;
drop table if exists public.project_invitations;
drop table if exists public.project_repositories;
drop table if exists public.project_members;
drop table if exists public.projects;
drop table if exists public.organization_members;
drop table if exists public.profiles;
drop table if exists public.organizations;
drop type if exists public.invitation_status;
drop type if exists public.ingestion_phase;
drop type if exists public.project_member_role;
drop type if exists public.repository_status;
drop type if exists public.git_provider;
drop type if exists public.chunking_strategy;
drop type if exists public.project_privacy;
drop type if exists public.project_status;
drop type if exists public.project_type;
drop type if exists public.plan_tier;
drop type if exists public.organization_role;
-- pg_trgm and the extensions schema stay: on Supabase they are shared with
-- everything else in the project.
