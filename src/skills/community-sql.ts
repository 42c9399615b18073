import { escapeLike } from '../db/like';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { RequestQuery } from '../http/route';
import { callerFigures } from './sql';

// The public catalogue (skill_listings: one row per public skill of any
// organization, safe columns only, kept by the database), stars, ratings,
// imports, and the organization's figures over its skills and executions.

export interface PublicSkillRow {
  id: string;
  name: string;
  description: string | null;
  category: string;
  prompt_template: string;
  model: string;
  parameters: Record<string, unknown>;
  input_schema: Array<Record<string, unknown>>;
  output_format: string;
  star_count: number;
  rating: string | null;
  rating_count: number;
  is_starred: boolean;
  my_rating: number | null;
  created_at: string;
  updated_at: string;
}

const PUBLIC_SKILL_COLUMNS = `p.skill_id as id, p.name, p.description, p.category, p.prompt_template, p.model, p.parameters,
  p.input_schema, p.output_format, p.star_count, p.rating::text as rating, p.rating_count, p.created_at, p.updated_at,
  ${callerFigures('p', 'skill_id')}`;

/** $1 skill: the public skill, or no row when it is not public (or does not exist). */
export const PUBLIC_SKILL_BY_ID = `select ${PUBLIC_SKILL_COLUMNS} from public.skill_listings p where p.skill_id = $1`;

/** Whitelisted sorts, each served by an index of the listings and ending in the primary key. */
export const PUBLIC_SKILL_SORTS: Record<string, string> = {
  '-starCount': 'p.star_count desc, p.skill_id desc',
  '-rating': 'p.rating desc nulls last, p.skill_id desc',
  '-createdAt': 'p.created_at desc, p.skill_id desc',
};

type PublicListFilters = Pick<RequestQuery<'listPublicSkills'>, 'search' | 'category' | 'sort'>;

export function publicSkillListQuery(filters: PublicListFilters, page: PageRequest): PageQuery<PublicSkillRow> {
  const params: unknown[] = [];
  const where = ['true'];
  if (filters.category !== undefined) {
    params.push(filters.category);
    where.push(`p.category = $${params.length}`);
  }
  if (filters.search !== undefined) {
    params.push(`%${escapeLike(filters.search)}%`);
    where.push(`p.name ilike $${params.length}`);
  }
  return {
    select: PUBLIC_SKILL_COLUMNS,
    fromWhere: `public.skill_listings p where ${where.join(' and ')}`,
    params,
    orderBy: PUBLIC_SKILL_SORTS[filters.sort ?? '-starCount']!,
    page,
  };
}

// Stars and ratings, $1 skill, $2 the caller. Each writes only while the skill
// is public (the policies hold the same rule); the triggers move the figures.
export const STAR_SKILL = `insert into public.skill_stars (skill_id, user_id)
  select p.skill_id, $2 from public.skill_listings p where p.skill_id = $1
  on conflict (skill_id, user_id) do nothing`;
export const UNSTAR_SKILL = `delete from public.skill_stars st
  where st.skill_id = $1 and st.user_id = $2 and exists (select 1 from public.skill_listings p where p.skill_id = $1)`;
/** $3 the rating (1..5): a second rating replaces the first. */
export const RATE_SKILL = `insert into public.skill_ratings (skill_id, user_id, rating)
  select p.skill_id, $2, $3 from public.skill_listings p where p.skill_id = $1
  on conflict (skill_id, user_id) do update set rating = excluded.rating`;
export const UNRATE_SKILL = `delete from public.skill_ratings r
  where r.skill_id = $1 and r.user_id = $2 and exists (select 1 from public.skill_listings p where p.skill_id = $1)`;

/** $1 public skill, $2 name: the copy's id, or null when the skill is not public. */
export const IMPORT_PUBLIC_SKILL = 'select app.import_public_skill($1, $2) as id';

export interface OrganizationFiguresRow {
  total_skills: number;
  active_skills: number;
  total_tokens: number;
  /** Exact, numeric(20,4) as text. */
  total_cost_cents: string;
  by_status: Record<string, number>;
  by_type: Record<string, number>;
  top_skills: Array<{ skillId: string; name: string; count: number }>;
}

/** How many skills make the organization's top list. */
export const TOP_SKILLS = 5;

/**
 * $1 organization: its skills counted, and its executions grouped once by
 * status and type (every figure below is read from that grouping).
 */
export const ORGANIZATION_FIGURES = `
  with grouped as (
    select e.status, e.execution_type, count(*)::int as n, sum(e.tokens_used)::bigint as tokens, sum(e.cost_cents) as cost
    from public.skill_executions e where e.organization_id = $1
    group by e.status, e.execution_type
  )
  select
    (select count(*)::int from public.skills s where s.organization_id = $1) as total_skills,
    (select count(*)::int from public.skills s where s.organization_id = $1 and s.is_active) as active_skills,
    (select coalesce(sum(g.tokens), 0)::bigint from grouped g) as total_tokens,
    (select coalesce(sum(g.cost), 0)::numeric(20, 4)::text from grouped g) as total_cost_cents,
    (select coalesce(jsonb_object_agg(x.status, x.n), '{}') from (select g.status, sum(g.n)::int as n from grouped g group by g.status) x) as by_status,
    (select coalesce(jsonb_object_agg(x.execution_type, x.n), '{}')
       from (select g.execution_type, sum(g.n)::int as n from grouped g group by g.execution_type) x) as by_type,
    (select coalesce(jsonb_agg(jsonb_build_object('skillId', t.id, 'name', t.name, 'count', t.execution_count)
                               order by t.execution_count desc, t.id desc), '[]')
       from (select s.id, s.name, s.execution_count from public.skills s
             where s.organization_id = $1 and s.execution_count > 0
             order by s.execution_count desc, s.id desc limit ${TOP_SKILLS}) t) as top_skills`;
