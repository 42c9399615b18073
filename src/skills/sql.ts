import { escapeLike } from '../db/like';
import type { components, operations } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import { registerUniqueConstraints, uniqueViolation } from '../db/errors';
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
  execution_count: number;
  last_executed_at: string | null;
  created_at: string;
  updated_at: string;
}

export const SKILL_COLUMNS = `s.id, s.organization_id, s.user_id, s.name, s.description, s.category, s.prompt_template,
  s.model, s.parameters, s.input_schema, s.output_format, s.is_active, s.execution_count, s.last_executed_at,
  s.created_at, s.updated_at`;

/** $1 skill, $2 organization: explicit, because service tokens pass row level security. */
export const SKILL_BY_ID = `select ${SKILL_COLUMNS} from public.skills s where s.id = $1 and s.organization_id = $2`;

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
    executionCount: row.execution_count,
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

type ListFilters = Pick<NonNullable<operations['listSkills']['parameters']['query']>, 'search' | 'category' | 'isActive' | 'sort'>;

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

registerUniqueConstraints({ skills_owner_name_key: { detail: NAME_TAKEN, field: '/body/name', code: 'unique' } });

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

/** The caller's own skill names, lower-cased, that a copy of `name` could clash with. */
export const OWN_COPY_NAMES = `select lower(s.name) as name from public.skills s
  where s.organization_id = $1 and s.user_id = $2 and lower(s.name) like $3`;

export function copyNamePattern(name: string): string {
  const base = name.replace(/ \(copy(?: \d+)?\)$/, '');
  return `${escapeLike([...base].slice(0, 60).join('').toLowerCase())}%`;
}
