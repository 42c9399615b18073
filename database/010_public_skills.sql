-- Public skills: an organization shares a skill with every signed-in user,
-- who can star it, rate it 1..5 and import a copy into their own organization.
--
-- What the database keeps, whatever SQL a request role sends:
--   skills.is_public           written like the skill's other fields (its owner,
--                              the organization's owners and admins: skills_update).
--   skills.star_count, rating_sum, rating_count
--                              counted by triggers on skill_stars and skill_ratings;
--                              no grant, and a guard refuses any other writer.
--   skills.rating              the average, generated from the two above.
--   skills.imported_from_skill_id
--                              set only by app.import_public_skill.
--   skill_stars, skill_ratings one row per user and skill; a user reads and writes
--                              only their own rows, and only for a public skill.
--   skill_listings             the only way into another organization's skills: one
--                              row per public skill, kept by a trigger, with its
--                              definition and figures, never its owner, organization,
--                              executions, habits, reflexes or secrets. Readable by
--                              every signed-in user, writable by no request role.

-- migrate:up

alter table public.skills
  add column is_public boolean not null default false,
  add column star_count integer not null default 0 check (star_count >= 0),
  add column rating_count integer not null default 0 check (rating_count >= 0),
  add column rating_sum integer not null default 0 check (rating_sum between rating_count and 5 * rating_count),
  -- Two decimals, as the frontend shows it (4.5); null while nobody rated.
  add column rating numeric(3, 2) generated always as (
    case when rating_count > 0 then round(rating_sum::numeric / rating_count, 2) end
  ) stored,
  -- Provenance of an imported copy; cleared if the original is deleted.
  add column imported_from_skill_id uuid references public.skills (id) on delete set null;

create index skills_imported_from_idx on public.skills (imported_from_skill_id) where imported_from_skill_id is not null;

grant insert (is_public), update (is_public) on public.skills to authenticated;

-- Runs as the caller: the request roles never set the figures or the
-- provenance (the counting triggers and app.import_public_skill run as the
-- owner). A star, a rating or the original's deletion is not an edit of the
-- skill: updated_at stays.
-- Named to fire after skills_updated_at (triggers fire in name order).
create function app.guard_skill_figures() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user in ('authenticated', 'service_role') then
    if tg_op = 'INSERT' then
      if new.star_count <> 0 or new.rating_count <> 0 or new.rating_sum <> 0 or new.imported_from_skill_id is not null then
        raise exception 'stars, ratings and provenance of a skill are kept by the database' using errcode = '42501';
      end if;
    elsif (new.star_count, new.rating_count, new.rating_sum, new.imported_from_skill_id)
          is distinct from (old.star_count, old.rating_count, old.rating_sum, old.imported_from_skill_id) then
      raise exception 'stars, ratings and provenance of a skill are kept by the database' using errcode = '42501';
    end if;
  elsif tg_op = 'UPDATE' and (new.star_count, new.rating_count, new.rating_sum, new.imported_from_skill_id)
        is distinct from (old.star_count, old.rating_count, old.rating_sum, old.imported_from_skill_id) then
    new.updated_at := old.updated_at;
  end if;
  return new;
end
$$;
create trigger skills_updated_at_zz_guard_figures before insert or update on public.skills
  for each row execute function app.guard_skill_figures();

-- Whether a skill is public, for the star and rating policies (the caller
-- cannot read another organization's skills row). Answers nothing else.
create function app.is_public_skill(p_skill_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select s.is_public from public.skills s where s.id = p_skill_id), false)
  $$;

-- ---------------------------------------------------------------------------
-- Stars and ratings
-- ---------------------------------------------------------------------------

create table public.skill_stars (
  skill_id uuid not null references public.skills (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (skill_id, user_id)
);
create index skill_stars_user_idx on public.skill_stars (user_id, created_at desc);

create table public.skill_ratings (
  skill_id uuid not null references public.skills (id) on delete cascade,
  user_id uuid not null references public.profiles (id) on delete cascade,
  rating smallint not null check (rating between 1 and 5),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (skill_id, user_id)
);
create index skill_ratings_user_idx on public.skill_ratings (user_id, updated_at desc);

create trigger skill_ratings_updated_at before update on public.skill_ratings
  for each row execute function app.set_updated_at();

-- A rating's skill and author never change (the figures follow the rating alone).
create function app.keep_rating_key() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if (new.skill_id, new.user_id) is distinct from (old.skill_id, old.user_id) then
    raise exception 'a rating stays with its skill and its author' using errcode = '23514';
  end if;
  return new;
end
$$;
create trigger skill_ratings_keep_key before update on public.skill_ratings
  for each row execute function app.keep_rating_key();

-- The figures on the skill move with each row, under the skill row's lock, so
-- concurrent stars and ratings add up exactly. As the owner: the caller may
-- not update another organization's skill.
create function app.count_skill_star() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    update public.skills set star_count = star_count + 1 where id = new.skill_id;
  else
    update public.skills set star_count = star_count - 1 where id = old.skill_id;
  end if;
  return null;
end
$$;
create trigger skill_stars_count after insert or delete on public.skill_stars
  for each row execute function app.count_skill_star();

create function app.count_skill_rating() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    update public.skills set rating_count = rating_count + 1, rating_sum = rating_sum + new.rating where id = new.skill_id;
  elsif tg_op = 'UPDATE' then
    update public.skills set rating_sum = rating_sum + new.rating - old.rating where id = new.skill_id;
  else
    update public.skills set rating_count = rating_count - 1, rating_sum = rating_sum - old.rating where id = old.skill_id;
  end if;
  return null;
end
$$;
create trigger skill_ratings_count after insert or delete or update of rating on public.skill_ratings
  for each row execute function app.count_skill_rating();

alter table public.skill_stars enable row level security;
alter table public.skill_stars force row level security;
alter table public.skill_ratings enable row level security;
alter table public.skill_ratings force row level security;

-- Everyone reads and writes only their own stars and ratings, whatever
-- organization they act in; a new one only on a skill that is public.
create policy skill_stars_select on public.skill_stars for select to authenticated
  using (user_id = (select auth.uid()));
create policy skill_stars_insert on public.skill_stars for insert to authenticated
  with check (user_id = (select auth.uid()) and app.is_public_skill(skill_id));
create policy skill_stars_delete on public.skill_stars for delete to authenticated
  using (user_id = (select auth.uid()));

create policy skill_ratings_select on public.skill_ratings for select to authenticated
  using (user_id = (select auth.uid()));
create policy skill_ratings_insert on public.skill_ratings for insert to authenticated
  with check (user_id = (select auth.uid()) and app.is_public_skill(skill_id));
create policy skill_ratings_update on public.skill_ratings for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()) and app.is_public_skill(skill_id));
create policy skill_ratings_delete on public.skill_ratings for delete to authenticated
  using (user_id = (select auth.uid()));

grant select, insert, update, delete on public.skill_stars, public.skill_ratings to service_role;
grant select, insert (skill_id, user_id), delete on public.skill_stars to authenticated;
grant select, insert (skill_id, user_id, rating), update (rating), delete on public.skill_ratings to authenticated;

-- ---------------------------------------------------------------------------
-- The public catalogue
-- ---------------------------------------------------------------------------

-- What everyone may read of a public skill, one row per public skill. A table
-- rather than a view over skills: skills' own policies hide other
-- organizations, and a security-barrier view is planned as a subquery, which
-- could neither walk the indexes below in the catalogue's orders nor search
-- through the trigram index.
create table public.skill_listings (
  skill_id uuid primary key references public.skills (id) on delete cascade,
  name text not null,
  description text,
  category public.skill_category not null,
  prompt_template text not null,
  model text not null,
  parameters jsonb not null,
  input_schema jsonb not null,
  output_format public.skill_output_format not null,
  star_count integer not null,
  rating numeric(3, 2),
  rating_count integer not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index skill_listings_stars_idx on public.skill_listings (star_count desc, skill_id desc);
create index skill_listings_rating_idx on public.skill_listings (rating desc nulls last, skill_id desc);
create index skill_listings_created_idx on public.skill_listings (created_at desc, skill_id desc);
create index skill_listings_category_idx on public.skill_listings (category, star_count desc, skill_id desc);
create index skill_listings_name_trgm_idx on public.skill_listings using gin (name extensions.gin_trgm_ops);

alter table public.skill_listings enable row level security;
alter table public.skill_listings force row level security;
create policy skill_listings_select on public.skill_listings for select to authenticated using (true);
-- Read only, for the back office too: the listing is the skill's, as the trigger copies it.
grant select on public.skill_listings to authenticated, service_role;

-- The listing follows the skill: written while it is public (its definition
-- and figures as they are now), removed when it stops being public. As the
-- owner: no request role writes listings.
create function app.sync_skill_listing() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.is_public then
    insert into public.skill_listings as l (skill_id, name, description, category, prompt_template, model, parameters,
                                            input_schema, output_format, star_count, rating, rating_count, created_at, updated_at)
      values (new.id, new.name, new.description, new.category, new.prompt_template, new.model, new.parameters,
              new.input_schema, new.output_format, new.star_count, new.rating, new.rating_count, new.created_at, new.updated_at)
      on conflict (skill_id) do update set
        name = excluded.name, description = excluded.description, category = excluded.category,
        prompt_template = excluded.prompt_template, model = excluded.model, parameters = excluded.parameters,
        input_schema = excluded.input_schema, output_format = excluded.output_format, star_count = excluded.star_count,
        rating = excluded.rating, rating_count = excluded.rating_count, updated_at = excluded.updated_at;
  elsif tg_op = 'UPDATE' and old.is_public then
    delete from public.skill_listings where skill_id = new.id;
  end if;
  return null;
end
$$;
-- Not on every update: a completed execution moves execution_count alone.
create trigger skills_sync_listing
  after insert or update of is_public, name, description, category, prompt_template, model, parameters, input_schema,
    output_format, star_count, rating_count, rating_sum on public.skills
  for each row execute function app.sync_skill_listing();

-- A copy of a public skill, owned by the caller in the selected organization:
-- the definition as it is, private, active, figures at zero, its origin kept.
-- Null when the skill is not public (or does not exist). A taken name is the
-- unique index's error, as for any new skill.
create function app.import_public_skill(p_skill_id uuid, p_name text) returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_organization uuid := app.current_organization_id();
  v_user uuid := (select auth.uid());
  v_id uuid;
begin
  if v_user is null or v_organization is null or app.organization_role(v_organization) is null then
    raise exception 'only a member of the selected organization imports into it' using errcode = '42501';
  end if;
  insert into public.skills (organization_id, user_id, name, description, category, prompt_template, model, parameters,
                             input_schema, output_format, imported_from_skill_id)
    select v_organization, v_user, p_name, s.description, s.category, s.prompt_template, s.model, s.parameters,
           s.input_schema, s.output_format, s.id
    from public.skills s
    where s.id = p_skill_id and s.is_public
    returning id into v_id;
  return v_id;
end
$$;

-- Functions are executable by PUBLIC by default. Only this migration's own are
-- granted here (a blanket grant would undo what other migrations withhold).
revoke execute on function app.guard_skill_figures(), app.is_public_skill(uuid), app.keep_rating_key(),
  app.count_skill_star(), app.count_skill_rating(), app.sync_skill_listing(), app.import_public_skill(uuid, text)
  from public;
grant execute on function app.guard_skill_figures(), app.is_public_skill(uuid), app.keep_rating_key(),
  app.count_skill_star(), app.count_skill_rating(), app.sync_skill_listing(), app.import_public_skill(uuid, text)
  to authenticated, service_role;

-- migrate:down

drop function if exists app.import_public_skill(uuid, text);
drop table if exists public.skill_listings;
drop trigger if exists skills_sync_listing on public.skills;
drop function if exists app.sync_skill_listing();
drop table if exists public.skill_ratings;
drop table if exists public.skill_stars;
drop function if exists app.count_skill_rating();
drop function if exists app.count_skill_star();
drop function if exists app.keep_rating_key();
drop trigger if exists skills_updated_at_zz_guard_figures on public.skills;
drop function if exists app.is_public_skill(uuid);
drop function if exists app.guard_skill_figures();
drop index if exists public.skills_imported_from_idx;
alter table public.skills
  drop column if exists imported_from_skill_id,
  drop column if exists rating,
  drop column if exists rating_sum,
  drop column if exists rating_count,
  drop column if exists star_count,
  drop column if exists is_public;
