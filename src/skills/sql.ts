import { escapeLike } from '../db/like';
import { EXECUTION_AGGREGATES, EXECUTION_COLUMNS } from '../executions/sql';
import type { components } from '../generated/openapi';
import { HABIT_COLUMNS, HABIT_FROM } from '../habits/sql';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { RequestQuery } from '../http/route';
import { registerUniqueConstraints, uniqueViolation } from '../db/errors';
import { averageRating } from './community';
import type { InputField, RunnableSkill } from './runner/types';

export type Skill = components['schemas']['Skill'];

export interface SkillRow {
  id: string;
  organization_id: string;
  user_id: string | null;
  name: string;
  description: string | null;
  category: Skill['category'];
  prompt_template: string;
  model: string;
  parameters: Record<string, unknown>;
  input_schema: InputField[];
  output_format: Skill['outputFormat'];
  is_active: boolean;
  is_public: boolean;
  execution_count: number;
  star_count: number;
  /** The average as numeric text ("4.50"), null while nobody rated. */
  rating: string | null;
  rating_count: number;
  is_starred: boolean;
  my_rating: number | null;
  imported_from_skill_id: string | null;
  last_executed_at: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * The caller's own star and rating of the skill whose id is `alias.idColumn`
 * (two primary-key lookups; false and null for a service token, which has no user).
 */
export function callerFigures(alias: string, idColumn = 'id'): string {
  const skillId = `${alias}.${idColumn}`;
  return `exists (select 1 from public.skill_stars st where st.skill_id = ${skillId} and st.user_id = (select auth.uid())) as is_starred,
  (select r.rating from public.skill_ratings r where r.skill_id = ${skillId} and r.user_id = (select auth.uid())) as my_rating`;
}

export const SKILL_COLUMNS = `s.id, s.organization_id, s.user_id, s.name, s.description, s.category, s.prompt_template,
  s.model, s.parameters, s.input_schema, s.output_format, s.is_active, s.is_public, s.execution_count, s.star_count,
  s.rating::text as rating, s.rating_count, s.imported_from_skill_id, s.last_executed_at, s.created_at, s.updated_at,
  ${callerFigures('s')}`;

/** $1 skill, $2 organization: explicit, because service tokens pass row level security. */
export const SKILL_BY_ID = `select ${SKILL_COLUMNS} from public.skills s where s.id = $1 and s.organization_id = $2`;

/** Several skills by id, for the execution worker (which runs as the back office, past row level security). */
export const SKILLS_BY_IDS = `select ${SKILL_COLUMNS} from public.skills s where s.id = any($1::uuid[])`;

/** API field -> column, for create and update; jsonb fields are sent as JSON text. */
export const WRITABLE_SKILL_FIELDS = {
  name: 'name',
  description: 'description',
  category: 'category',
  promptTemplate: 'prompt_template',
  model: 'model',
  parameters: 'parameters',
  inputSchema: 'input_schema',
  outputFormat: 'output_format',
  isActive: 'is_active',
  isPublic: 'is_public',
} as const;

const JSON_FIELDS = new Set(['parameters', 'inputSchema']);

/** Splits a body into column names and values, in the whitelist's order. */
export function skillColumnsOf(body: Record<string, unknown>): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [field, column] of Object.entries(WRITABLE_SKILL_FIELDS)) {
    if (body[field] === undefined) continue;
    columns.push(column);
    values.push(JSON_FIELDS.has(field) ? JSON.stringify(body[field]) : body[field]);
  }
  return { columns, values };
}

export function toSkill(row: SkillRow): Skill {
  return {
    id: row.id,
    organizationId: row.organization_id,
    userId: row.user_id,
    name: row.name,
    description: row.description,
    category: row.category,
    promptTemplate: row.prompt_template,
    model: row.model,
    parameters: row.parameters,
    inputSchema: row.input_schema as Skill['inputSchema'],
    outputFormat: row.output_format,
    isActive: row.is_active,
    isPublic: row.is_public,
    executionCount: row.execution_count,
    starCount: row.star_count,
    rating: averageRating(row.rating),
    ratingCount: row.rating_count,
    isStarred: row.is_starred,
    myRating: row.my_rating,
    importedFromSkillId: row.imported_from_skill_id,
    lastExecutedAt: row.last_executed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function runnableSkill(row: SkillRow): RunnableSkill {
  return {
    promptTemplate: row.prompt_template,
    model: row.model,
    parameters: row.parameters,
    inputSchema: row.input_schema,
    outputFormat: row.output_format,
  };
}

/** Whitelisted sorts; each ends in the primary key so pages never overlap, and each has an index. */
export const SKILL_SORTS: Record<string, string> = {
  name: 'lower(s.name) asc, s.id asc',
  '-name': 'lower(s.name) desc, s.id desc',
  createdAt: 's.created_at asc, s.id asc',
  '-createdAt': 's.created_at desc, s.id desc',
  updatedAt: 's.updated_at asc, s.id asc',
  '-updatedAt': 's.updated_at desc, s.id desc',
  executionCount: 's.execution_count asc, s.id asc',
  '-executionCount': 's.execution_count desc, s.id desc',
};

type ListFilters = Pick<RequestQuery<'listSkills'>, 'search' | 'category' | 'isActive' | 'isPublic' | 'sort'>;

export function skillListQuery(organizationId: string, filters: ListFilters, page: PageRequest): PageQuery<SkillRow> {
  const params: unknown[] = [organizationId];
  const where = ['s.organization_id = $1'];
  if (filters.category !== undefined) {
    params.push(filters.category);
    where.push(`s.category = $${params.length}`);
  }
  if (filters.isActive !== undefined) {
    params.push(filters.isActive);
    where.push(`s.is_active = $${params.length}`);
  }
  if (filters.isPublic !== undefined) {
    params.push(filters.isPublic);
    where.push(`s.is_public = $${params.length}`);
  }
  if (filters.search !== undefined) {
    params.push(`%${escapeLike(filters.search)}%`);
    // Through the trigram index, ahead of the row level security checks (see app.search_skill_ids).
    where.push(`s.id in (select app.search_skill_ids($${params.length}))`);
  }
  return {
    select: SKILL_COLUMNS,
    fromWhere: `public.skills s where ${where.join(' and ')}`,
    params,
    orderBy: SKILL_SORTS[filters.sort ?? '-createdAt']!,
    page,
  };
}

export const NAME_TAKEN = 'You already have a skill with this name (names are compared case-insensitively).';

registerUniqueConstraints({
  skills_owner_name_key: { detail: NAME_TAKEN, field: '/body/name', code: 'unique', problemCode: 'skill_name_taken' },
});

/** A duplicate name as a 409 on the name at `path` (one item of a batch has its own); other errors pass through. */
export function skillNameConflict(error: unknown, path = '/body/name'): unknown {
  return uniqueViolation(error, path) ?? error;
}

const MAX_NAME = 100;

/** "X (copy)", "X (copy 2)", ...: the first that is not in `taken` (lower-cased names), within 100 characters. */
export function copyName(name: string, taken: ReadonlySet<string>): string {
  const base = name.replace(/ \(copy(?: \d+)?\)$/, '');
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? ' (copy)' : ` (copy ${n})`;
    const candidate = `${[...base].slice(0, MAX_NAME - suffix.length).join('').trimEnd()}${suffix}`;
    if (!taken.has(candidate.toLowerCase())) return candidate;
  }
}

/**
 * The name an imported skill takes: the original's while the caller has no
 * skill of that name (names compare case-insensitively), else the first free
 * "X (copy)", "X (copy 2)", ...
 */
export function importedName(name: string, taken: ReadonlySet<string>): string {
  return taken.has(name.toLowerCase()) ? copyName(name, taken) : name;
}

/** The caller's own skill names, lower-cased, that a copy of `name` could clash with. */
export const OWN_COPY_NAMES = `select lower(s.name) as name from public.skills s
  where s.organization_id = $1 and s.user_id = $2 and lower(s.name) like $3`;

export function copyNamePattern(name: string): string {
  const base = name.replace(/ \(copy(?: \d+)?\)$/, '');
  return `${escapeLike([...base].slice(0, 60).join('').toLowerCase())}%`;
}

/**
 * $1 organization, $2 owner, then the values of `columns` (see skillColumnsOf);
 * the columns come from the whitelist, never from a request.
 */
export function insertSkillSql(columns: readonly string[]): string {
  const placeholders = columns.map((_, i) => `$${i + 3}`);
  return `insert into public.skills as s (organization_id, user_id, ${columns.join(', ')})
    values ($1, $2, ${placeholders.join(', ')}) returning ${SKILL_COLUMNS}`;
}

/** $1 skill, then the values of `columns` (see skillColumnsOf); row level security leaves out what the caller may not change. */
export function updateSkillSql(columns: readonly string[]): string {
  const assignments = columns.map((column, i) => `${column} = $${i + 2}`);
  return `update public.skills s set ${assignments.join(', ')} where s.id = $1 returning ${SKILL_COLUMNS}`;
}

export const DELETE_SKILL = 'delete from public.skills s where s.id = $1';

/** $1 source, $2 organization, $3 owner, $4 name: every other field as the source has it; counters start afresh. */
export const DUPLICATE_SKILL = `insert into public.skills as s (organization_id, user_id, name, description, category, prompt_template, model,
    parameters, input_schema, output_format, is_active)
  select $2, $3, $4, o.description, o.category, o.prompt_template, o.model, o.parameters, o.input_schema,
    o.output_format, o.is_active
  from public.skills o where o.id = $1
  returning ${SKILL_COLUMNS}`;

// Bulk changes, $1 the ids: row level security leaves out the rows the caller may not change.
export const BULK_DELETE_SKILLS = 'delete from public.skills s where s.id = any($1::uuid[]) returning s.id';
/** $2 the new isActive. */
export const BULK_SET_SKILLS_ACTIVE = 'update public.skills s set is_active = $2 where s.id = any($1::uuid[]) returning s.id';
/** Which of the ids the caller can see: tells a forbidden change from a missing skill. */
export const VISIBLE_SKILL_IDS = 'select s.id from public.skills s where s.id = any($1::uuid[])';

/** $1 organization, $2 the ids to export or null for all, $3 the most rows to read. */
export const SKILLS_TO_EXPORT = `select ${SKILL_COLUMNS} from public.skills s
  where s.organization_id = $1 and ($2::uuid[] is null or s.id = any($2::uuid[]))
  order by s.created_at, s.id limit $3`;

/** $1 organization, $2 owner: the owner's skill names, lower-cased (names are unique per owner, case-insensitively). */
export const OWN_SKILL_NAMES = 'select lower(s.name) as name from public.skills s where s.organization_id = $1 and s.user_id = $2';

/**
 * One skill of an imported bundle: $1 organization, $2 owner, $3 name, then
 * its fields; a field the bundle leaves out gets the table's default, as a created skill does.
 */
export const INSERT_BUNDLE_SKILL = `insert into public.skills as s (organization_id, user_id, name, description, category, prompt_template, model,
    parameters, input_schema, output_format, is_active)
  values ($1, $2, $3, $4, coalesce($5::public.skill_category, 'custom'), $6, coalesce($7, 'gpt-4o-mini'),
    coalesce($8::jsonb, '{"temperature": 1, "max_tokens": 4096}'::jsonb), coalesce($9::jsonb, '[]'::jsonb),
    coalesce($10::public.skill_output_format, 'markdown'), coalesce($11, true))
  returning ${SKILL_COLUMNS}`;

/** $1 organization, $2 skill, $3 who started it (null for a service token), $4 execution type, $5 input (JSON). */
export const INSERT_SKILL_EXECUTION = `insert into public.skill_executions as e (organization_id, skill_id, user_id, execution_type, input)
  values ($1, $2, $3, $4, $5) returning ${EXECUTION_COLUMNS}`;

/** $1 skill: its executions counted by status, with tokens and cost. */
export const SKILL_EXECUTION_TOTALS = `select ${EXECUTION_AGGREGATES} from public.skill_executions e where e.skill_id = $1`;

/** $1 skill: its latest execution. */
export const LAST_SKILL_EXECUTION = `select ${EXECUTION_COLUMNS} from public.skill_executions e
  where e.skill_id = $1 order by e.created_at desc, e.id desc limit 1`;

// What GET /skills/{id}?include=... embeds, $1 the skill. At most this many
// habits and reflexes are embedded; their own lists serve the rest.
export const EMBEDDED_REFLEXES = 100;
export const EMBEDDED_HABITS = 100;
/** The most recent executions embedded in a skill. */
export const EMBEDDED_EXECUTIONS = 10;

export const SKILL_HABITS = `select ${HABIT_COLUMNS} from ${HABIT_FROM}
  where h.skill_id = $1 order by h.created_at, h.id limit ${EMBEDDED_HABITS}`;

export const SKILL_REFLEXES = `select r.id, r.skill_id, r.user_id, r.trigger_type, r.trigger_config, r.conditions, r.is_active,
    r.trigger_count, r.last_triggered_at, r.created_at, r.updated_at
  from public.reflexes r where r.skill_id = $1 order by r.created_at, r.id limit ${EMBEDDED_REFLEXES}`;

export const SKILL_RECENT_EXECUTIONS = `select ${EXECUTION_COLUMNS} from public.skill_executions e
  where e.skill_id = $1 order by e.created_at desc, e.id desc limit ${EMBEDDED_EXECUTIONS}`;

// The portable fields of the habits and reflexes of exported skills, $1 the skill ids.
export const BUNDLE_REFLEXES = `select r.skill_id, r.trigger_type, r.trigger_config, r.conditions, r.is_active
  from public.reflexes r where r.skill_id = any($1::uuid[]) order by r.created_at, r.id`;

export const BUNDLE_HABITS = `select h.skill_id, h.schedule_cron, h.schedule_description, h.timezone, h.config, h.is_active
  from public.habits h where h.skill_id = any($1::uuid[]) order by h.created_at, h.id`;
