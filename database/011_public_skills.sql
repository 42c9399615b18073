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
--   app.public_skills          the only way into another organization's skills: a
--                              view of the public ones, with their definition and
--                              figures, never their owner, organization, executions,
--                              habits, reflexes or secrets.

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

-- Public skills by each order of the catalogue (each ends in the primary key).
-- The catalogue reads them through a security-barrier view, which PostgreSQL
-- plans as a subquery: these let it read the public rows alone (not every
-- organization's skills) and sort them, rather than walk an order; a catalogue
-- of millions would want a keyset page inside a definer function instead.
create index skills_public_created_idx on public.skills (created_at desc, id desc) where is_public;
create index skills_public_stars_idx on public.skills (star_count desc, id desc) where is_public;
create index skills_public_rating_idx on public.skills (rating desc nulls last, id desc) where is_public;
create index skills_public_category_idx on public.skills (category, created_at desc, id desc) where is_public;
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

-- Another organization's skills are out of reach of skills' own policies; this
-- view (owned by the schema's owner, so past those policies) shows the public
-- ones and only their safe columns. security_barrier: a caller's own function
-- in a WHERE clause never sees a row the view filters out.
create view app.public_skills with (security_barrier) as
  select s.id, s.name, s.description, s.category, s.prompt_template, s.model, s.parameters, s.input_schema,
         s.output_format, s.star_count, s.rating, s.rating_count, s.created_at, s.updated_at
  from public.skills s
  where s.is_public;
revoke all on app.public_skills from public;
grant select on app.public_skills to authenticated, service_role;

-- Name search over public skills through the trigram index (see app.search_skill_ids).
create function app.search_public_skill_ids(p_pattern text) returns setof uuid
  language sql stable security definer
  rows 100
  set search_path = ''
  as $$
    select s.id from public.skills s where s.is_public and s.name ilike p_pattern
  $$;

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
  app.count_skill_star(), app.count_skill_rating(), app.search_public_skill_ids(text), app.import_public_skill(uuid, text)
  from public;
grant execute on function app.guard_skill_figures(), app.is_public_skill(uuid), app.keep_rating_key(),
  app.count_skill_star(), app.count_skill_rating(), app.search_public_skill_ids(text), app.import_public_skill(uuid, text)
  to authenticated, service_role;

-- migrate:down

drop function if exists app.import_public_skill(uuid, text);
drop function if exists app.search_public_skill_ids(text);
drop view if exists app.public_skills;
drop table if exists public.skill_ratings;
drop table if exists public.skill_stars;
drop function if exists app.count_skill_rating();
drop function if exists app.count_skill_star();
drop function if exists app.keep_rating_key();
drop trigger if exists skills_updated_at_zz_guard_figures on public.skills;
drop function if exists app.is_public_skill(uuid);
drop function if exists app.guard_skill_figures();
drop index if exists public.skills_imported_from_idx;
drop index if exists public.skills_public_category_idx;
drop index if exists public.skills_public_rating_idx;
drop index if exists public.skills_public_stars_idx;
drop index if exists public.skills_public_created_idx;
alter table public.skills
  drop column if exists imported_from_skill_id,
  drop column if exists rating,
  drop column if exists rating_sum,
  drop column if exists rating_count,
  drop column if exists star_count,
  drop column if exists is_public;
