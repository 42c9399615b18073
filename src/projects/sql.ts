import type { components, operations } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import { CURRENT_OR_LATEST_ORDER, ingestionJson, isoFromJson, toIngestionFromJson, type IngestionRow } from './ingestions/sql';

export type Project = components['schemas']['Project'];
export type ProjectDetail = components['schemas']['ProjectDetail'];

export interface ProjectRow {
  id: string;
  organization_id: string;
  user_id: string;
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

/** Escapes LIKE wildcards so a search term matches literally. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export type ProjectListFilters = Pick<
  NonNullable<operations['listProjects']['parameters']['query']>,
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
// names (to_jsonb of a select list) and go through small mappers here that
// also put their timestamps in the API's form (isoFromJson, the same Date
// conversion the pool uses for top-level columns).
// ---------------------------------------------------------------------------

export const PROJECT_INCLUDES = ['repositories', 'members', 'ingestion'] as const;
export type ProjectInclude = (typeof PROJECT_INCLUDES)[number];

/** At most this many repositories and members are embedded; the lists serve the rest. */
export const EMBEDDED_LIMIT = 100;

type Repository = components['schemas']['Repository'];
type ProjectMember = components['schemas']['ProjectMember'];

/** A repository row as embedded in a project's detail (json, so timestamps are strings with an offset). */
interface EmbeddedRepositoryJson {
  id: string;
  project_id: string;
  provider: Repository['provider'];
  repository_url: string;
  repository_name: string;
  branch: string;
  status: Repository['status'];
  last_sync_at: string | null;
  last_commit_hash: string | null;
  file_count: number;
  include_paths: string[];
  exclude_paths: string[];
  created_at: string;
  updated_at: string;
}

/** A member row as embedded in a project's detail. */
interface EmbeddedMemberJson {
  id: string;
  project_id: string;
  user_id: string;
  email: string;
  name: string | null;
  avatar_url: string | null;
  role: ProjectMember['role'];
  notify_on_ingestion: boolean;
  notify_on_error: boolean;
  notify_on_team_changes: boolean;
  invited_at: string;
  accepted_at: string | null;
  last_active_at: string | null;
  is_creator: boolean;
  created_at: string;
  updated_at: string;
}

export type ProjectDetailRow = ProjectRow & {
  repositories?: EmbeddedRepositoryJson[];
  members?: EmbeddedMemberJson[];
  ingestion?: IngestionRow | null;
};

const EMBEDDED_RELATIONS: Record<ProjectInclude, string> = {
  repositories: `(select coalesce(jsonb_agg(to_jsonb(embedded) order by embedded.created_at, embedded.id), '[]'::jsonb)
    from (
      select r.id, r.project_id, r.provider, r.repository_url, r.repository_name, r.branch, r.status,
             r.last_sync_at, r.last_commit_hash, r.file_count, r.include_paths, r.exclude_paths,
             r.created_at, r.updated_at
      from public.project_repositories r
      where r.project_id = p.id
      order by r.created_at, r.id
      limit ${EMBEDDED_LIMIT}
    ) embedded) as repositories`,
  members: `(select coalesce(jsonb_agg(to_jsonb(embedded) order by embedded.created_at, embedded.id), '[]'::jsonb)
    from (
      select pm.id, pm.project_id, pm.user_id, pm.email, pm.name, pm.avatar_url, pm.role,
             pm.notify_on_ingestion, pm.notify_on_error, pm.notify_on_team_changes,
             pm.invited_at, pm.accepted_at, pm.last_active_at, pm.user_id = p.user_id as is_creator,
             pm.created_at, pm.updated_at
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

function toEmbeddedRepository(json: EmbeddedRepositoryJson): Repository {
  return {
    id: json.id,
    projectId: json.project_id,
    provider: json.provider,
    repositoryUrl: json.repository_url,
    repositoryName: json.repository_name,
    branch: json.branch,
    status: json.status,
    lastSyncAt: isoFromJson(json.last_sync_at),
    lastCommitHash: json.last_commit_hash,
    fileCount: json.file_count,
    includePaths: json.include_paths,
    excludePaths: json.exclude_paths,
    createdAt: isoFromJson(json.created_at)!,
    updatedAt: isoFromJson(json.updated_at)!,
  };
}

function toEmbeddedMember(json: EmbeddedMemberJson): ProjectMember {
  return {
    id: json.id,
    projectId: json.project_id,
    userId: json.user_id,
    email: json.email,
    name: json.name,
    avatarUrl: json.avatar_url,
    role: json.role,
    notifyOnIngestion: json.notify_on_ingestion,
    notifyOnError: json.notify_on_error,
    notifyOnTeamChanges: json.notify_on_team_changes,
    invitedAt: isoFromJson(json.invited_at)!,
    acceptedAt: isoFromJson(json.accepted_at),
    lastActiveAt: isoFromJson(json.last_active_at),
    isCreator: json.is_creator,
    createdAt: isoFromJson(json.created_at)!,
    updatedAt: isoFromJson(json.updated_at)!,
  };
}

/** The Project, plus exactly the relations that were asked for (without include: just the Project). */
export function toProjectDetail(row: ProjectDetailRow, include: readonly ProjectInclude[]): ProjectDetail {
  const detail: ProjectDetail = toProject(row);
  if (include.includes('repositories')) detail.repositories = (row.repositories ?? []).map(toEmbeddedRepository);
  if (include.includes('members')) detail.members = (row.members ?? []).map(toEmbeddedMember);
  if (include.includes('ingestion')) detail.ingestion = toIngestionFromJson(row.ingestion ?? null);
  return detail;
}
