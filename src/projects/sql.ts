import { escapeLike } from '../db/like';
import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { RequestQuery } from '../http/route';
import { CURRENT_OR_LATEST_ORDER, ingestionJson, isoFromJson, toIngestionFromJson, type IngestionRow } from './ingestions/sql';
import { PROJECT_MEMBER_COLUMNS, toProjectMember, type ProjectMemberRow } from './members/sql';
import { REPOSITORY_COLUMNS, toRepository, type RepositoryRow } from './repositories/sql';
import { registerUniqueConstraints } from '../db/errors';

export type Project = components['schemas']['Project'];
export type ProjectDetail = components['schemas']['ProjectDetail'];

export interface ProjectRow {
  id: string;
  organization_id: string;
  user_id: string | null;
  name: string;
  description: string | null;
  type: Project['type'];
  status: Project['status'];
  privacy: Project['privacy'];
  chunking_strategy: Project['chunkingStrategy'];
  include_metadata: boolean;
  anonymize_secrets: boolean;
  custom_settings: Record<string, unknown>;
  total_repos: number;
  total_files: number;
  original_tokens: number;
  optimized_tokens: number;
  ingestion_time_seconds: number;
  created_at: string;
  updated_at: string;
}

export const PROJECT_COLUMNS = `p.id, p.organization_id, p.user_id, p.name, p.description, p.type, p.status,
  p.privacy, p.chunking_strategy, p.include_metadata, p.anonymize_secrets, p.custom_settings,
  p.total_repos, p.total_files, p.original_tokens, p.optimized_tokens, p.ingestion_time_seconds,
  p.created_at, p.updated_at`;

/** Request fields a client may write, and the column each one lands in. */
export const WRITABLE_PROJECT_FIELDS = {
  name: 'name',
  description: 'description',
  type: 'type',
  privacy: 'privacy',
  chunkingStrategy: 'chunking_strategy',
  includeMetadata: 'include_metadata',
  anonymizeSecrets: 'anonymize_secrets',
  customSettings: 'custom_settings',
} as const satisfies Partial<Record<keyof Project, keyof ProjectRow>>;

type WritableProjectField = keyof typeof WRITABLE_PROJECT_FIELDS;

/** Splits a body into column names and values, in the whitelist's order; fields not sent are left out. */
export function projectColumnValues(body: Partial<Record<WritableProjectField, unknown>>): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const field of Object.keys(WRITABLE_PROJECT_FIELDS) as WritableProjectField[]) {
    if (body[field] === undefined) continue;
    columns.push(WRITABLE_PROJECT_FIELDS[field]);
    values.push(field === 'customSettings' ? JSON.stringify(body[field]) : body[field]);
  }
  return { columns, values };
}

/** A new project: $1 organization, $2 creator, then the values of `columns` from $3 on. */
export function insertProjectSql(columns: readonly string[]): string {
  const placeholders = columns.map((_, i) => `$${i + 3}`);
  return `insert into public.projects as p (organization_id, user_id, ${columns.join(', ')})
  values ($1, $2, ${placeholders.join(', ')})
  returning ${PROJECT_COLUMNS}`;
}

/** A change of project $1: the values of `columns` from $2 on. */
export function updateProjectSql(columns: readonly string[]): string {
  const assignments = columns.map((column, i) => `${column} = $${i + 2}`);
  return `update public.projects p set ${assignments.join(', ')} where p.id = $1 returning ${PROJECT_COLUMNS}`;
}

export const DELETE_PROJECT = 'delete from public.projects where id = $1';

/** Whether another project of the selected organization has this name ($1), leaving out project $2 (or null). */
/** $1 organization: the dashboard's counts over the projects the caller can see (row level security decides which). */
export const ORGANIZATION_PROJECT_STATS = `select count(*)::int as total_projects,
    (count(*) filter (where p.status = 'active'))::int as active_projects,
    (count(*) filter (where p.status = 'processing'))::int as processing_projects,
    (count(*) filter (where p.status = 'error'))::int as error_projects,
    coalesce(sum(p.optimized_tokens), 0)::bigint as total_tokens,
    coalesce(sum(p.total_files), 0)::bigint as total_files
  from public.projects p where p.organization_id = $1`;

export interface OrganizationProjectStatsRow {
  total_projects: number;
  active_projects: number;
  processing_projects: number;
  error_projects: number;
  total_tokens: number;
  total_files: number;
}

export const PROJECT_NAME_TAKEN = 'select app.project_name_taken($1, $2) as taken';

/**
 * A project ($1) as the caller may see it, with what they may do to it, by the
 * same helpers the row level security policies use.
 */
export const PROJECT_ACCESS = `select p.id, p.organization_id, p.user_id,
       app.can_edit_project(p.id) as can_edit,
       app.can_remove_project_members(p.id) as can_remove_members
  from public.projects p where p.id = $1`;

export interface ProjectAccessRow {
  id: string;
  organization_id: string;
  user_id: string | null;
  can_edit: boolean;
  can_remove_members: boolean;
}

/** The whitelisted sorts; every one ends in a unique key so pages never overlap. */
export const PROJECT_SORTS: Record<string, string> = {
  name: 'lower(p.name) asc',
  '-name': 'lower(p.name) desc',
  createdAt: 'p.created_at asc, p.id asc',
  '-createdAt': 'p.created_at desc, p.id desc',
  updatedAt: 'p.updated_at asc, p.id asc',
  '-updatedAt': 'p.updated_at desc, p.id desc',
};

export function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    organizationId: row.organization_id,
    userId: row.user_id,
    name: row.name,
    description: row.description,
    type: row.type,
    status: row.status,
    privacy: row.privacy,
    chunkingStrategy: row.chunking_strategy,
    includeMetadata: row.include_metadata,
    anonymizeSecrets: row.anonymize_secrets,
    customSettings: row.custom_settings,
    totalRepos: row.total_repos,
    totalFiles: row.total_files,
    originalTokens: row.original_tokens,
    optimizedTokens: row.optimized_tokens,
    ingestionTimeSeconds: row.ingestion_time_seconds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A pattern matching names that contain `term` as plain text. */
export function likePattern(term: string): string {
  return `%${escapeLike(term)}%`;
}

export type ProjectListFilters = Pick<
  RequestQuery<'listProjects'>,
  'type' | 'status' | 'privacy' | 'search' | 'sort'
>;

export const PROJECT_BY_ID = `select ${PROJECT_COLUMNS} from public.projects p where p.id = $1`;

/** The list's SQL: the organization first (it leads every index), then each filter given. */
export function projectListQuery(organizationId: string, filters: ProjectListFilters, page: PageRequest): PageQuery<ProjectRow> {
  const params: unknown[] = [organizationId];
  const where = ['p.organization_id = $1'];
  for (const field of ['type', 'status', 'privacy'] as const) {
    if (filters[field] !== undefined) {
      params.push(filters[field]);
      where.push(`p.${field} = $${params.length}`);
    }
  }
  if (filters.search !== undefined) {
    params.push(likePattern(filters.search));
    // Through the index, ahead of the row level security checks (see app.search_project_ids).
    where.push(`p.id in (select app.search_project_ids($${params.length}))`);
  }
  return {
    select: PROJECT_COLUMNS,
    fromWhere: `public.projects p where ${where.join(' and ')}`,
    params,
    orderBy: PROJECT_SORTS[filters.sort ?? '-createdAt']!,
    page,
  };
}

// ---------------------------------------------------------------------------
// GET /projects/{projectId}?include=...: the project and every relation asked
// for in ONE statement. Each relation is a subquery on the project row `p`
// (one per relation, never one per row), aggregated to jsonb. Inside json the
// pool's type parsers do not apply, so the embedded rows keep their column
// names (to_jsonb of the endpoints' own select lists) and go through the
// endpoints' own mappers once their timestamps are in the API's form
// (isoFromJson, the same Date conversion the pool uses for top-level columns).
// ---------------------------------------------------------------------------

export const PROJECT_INCLUDES = ['repositories', 'members', 'ingestion'] as const;
export type ProjectInclude = (typeof PROJECT_INCLUDES)[number];

/** At most this many repositories and members are embedded; the lists serve the rest. */
export const EMBEDDED_LIMIT = 100;

/** Embedded rows come back as json: timestamps are strings with an offset, put in the API's form here. */
function withIsoTimestamps<Row>(json: Row, fields: readonly (keyof Row)[]): Row {
  const row = { ...json };
  for (const field of fields) row[field] = isoFromJson(row[field] as string | null) as Row[typeof field];
  return row;
}

export type ProjectDetailRow = ProjectRow & {
  repositories?: RepositoryRow[];
  members?: ProjectMemberRow[];
  ingestion?: IngestionRow | null;
};

const EMBEDDED_RELATIONS: Record<ProjectInclude, string> = {
  // The same column lists as the repository and member endpoints; `p` is the outer project row.
  repositories: `(select coalesce(jsonb_agg(to_jsonb(embedded) order by embedded.created_at, embedded.id), '[]'::jsonb)
    from (
      select ${REPOSITORY_COLUMNS}
      from public.project_repositories r
      where r.project_id = p.id
      order by r.created_at, r.id
      limit ${EMBEDDED_LIMIT}
    ) embedded) as repositories`,
  members: `(select coalesce(jsonb_agg(to_jsonb(embedded) order by embedded.created_at, embedded.id), '[]'::jsonb)
    from (
      select ${PROJECT_MEMBER_COLUMNS}
      from public.project_members pm
      where pm.project_id = p.id
      order by pm.created_at, pm.id
      limit ${EMBEDDED_LIMIT}
    ) embedded) as members`,
  // The unfinished one, else the latest, else null.
  ingestion: `${ingestionJson('true', CURRENT_OR_LATEST_ORDER)} as ingestion`,
};

/** The project ($1) with the relations asked for, in one statement; only those relations are read. */
export function projectDetailQuery(include: readonly ProjectInclude[]): string {
  const relations = PROJECT_INCLUDES.filter((name) => include.includes(name)).map((name) => EMBEDDED_RELATIONS[name]);
  return `select ${[PROJECT_COLUMNS, ...relations].join(',\n  ')}\nfrom public.projects p where p.id = $1`;
}

/** The Project, plus exactly the relations that were asked for (without include: just the Project). */
export function toProjectDetail(row: ProjectDetailRow, include: readonly ProjectInclude[]): ProjectDetail {
  const detail: ProjectDetail = toProject(row);
  if (include.includes('repositories')) {
    detail.repositories = (row.repositories ?? []).map((json) =>
      toRepository(withIsoTimestamps(json, ['last_sync_at', 'created_at', 'updated_at'])),
    );
  }
  if (include.includes('members')) {
    detail.members = (row.members ?? []).map((json) =>
      toProjectMember(withIsoTimestamps(json, ['invited_at', 'accepted_at', 'last_active_at', 'created_at', 'updated_at'])),
    );
  }
  if (include.includes('ingestion')) detail.ingestion = toIngestionFromJson(row.ingestion ?? null);
  return detail;
}

registerUniqueConstraints({
  projects_organization_name_key: {
    detail: 'A project with this name already exists in this organization (names are compared case-insensitively).',
    field: '/body/name',
    problemCode: 'project_name_taken',
  },
});
