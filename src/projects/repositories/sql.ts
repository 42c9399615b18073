import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { registerUniqueConstraints } from '../../db/errors';

export type Repository = components['schemas']['Repository'];

export interface RepositoryRow {
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

export const REPOSITORY_COLUMNS = `r.id, r.project_id, r.provider, r.repository_url, r.repository_name, r.branch,
  r.status, r.last_sync_at, r.last_commit_hash, r.file_count, r.include_paths, r.exclude_paths,
  r.created_at, r.updated_at`;

/** Fields a client may change with PATCH, and the column each one lands in. */
export const WRITABLE_REPOSITORY_FIELDS = {
  repositoryName: 'repository_name',
  branch: 'branch',
  status: 'status',
  lastSyncAt: 'last_sync_at',
  lastCommitHash: 'last_commit_hash',
  fileCount: 'file_count',
  includePaths: 'include_paths',
  excludePaths: 'exclude_paths',
} as const satisfies Partial<Record<keyof Repository, keyof RepositoryRow>>;

type WritableRepositoryField = keyof typeof WRITABLE_REPOSITORY_FIELDS;

/** Splits a PATCH body into column names and values, in the whitelist's order; fields not sent are left out. */
export function repositoryColumnValues(body: Partial<Record<WritableRepositoryField, unknown>>): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const field of Object.keys(WRITABLE_REPOSITORY_FIELDS) as WritableRepositoryField[]) {
    if (body[field] === undefined) continue;
    columns.push(WRITABLE_REPOSITORY_FIELDS[field]);
    values.push(body[field]);
  }
  return { columns, values };
}

/** A change of repository $1 of project $2: the values of `columns` from $3 on. */
export function updateRepositorySql(columns: readonly string[]): string {
  const assignments = columns.map((column, i) => `${column} = $${i + 3}`);
  return `update public.project_repositories r set ${assignments.join(', ')}
  where r.id = $1 and r.project_id = $2
  returning ${REPOSITORY_COLUMNS}`;
}

/**
 * The whitelisted sorts; each ends in the primary key so pages never overlap.
 * createdAt follows project_repositories_project_created_idx (project_id, created_at, id).
 */
export const REPOSITORY_SORTS: Record<string, string> = {
  createdAt: 'r.created_at asc, r.id asc',
  '-createdAt': 'r.created_at desc, r.id desc',
  repositoryName: 'lower(r.repository_name) asc, r.id asc',
  '-repositoryName': 'lower(r.repository_name) desc, r.id desc',
};

export function toRepository(row: RepositoryRow): Repository {
  return {
    id: row.id,
    projectId: row.project_id,
    provider: row.provider,
    repositoryUrl: row.repository_url,
    repositoryName: row.repository_name,
    branch: row.branch,
    status: row.status,
    lastSyncAt: row.last_sync_at,
    lastCommitHash: row.last_commit_hash,
    fileCount: row.file_count,
    includePaths: row.include_paths,
    excludePaths: row.exclude_paths,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** One repository of one project: an id from another project is as absent as an unknown one. */
export const REPOSITORY_BY_ID = `select ${REPOSITORY_COLUMNS} from public.project_repositories r where r.id = $1 and r.project_id = $2`;

/** $1 project, $2 provider, $3 url, $4 name, $5 branch (null: the default), $6 include, $7 exclude (null: the default). */
export const INSERT_REPOSITORY = `insert into public.project_repositories as r
    (project_id, provider, repository_url, repository_name, branch, include_paths, exclude_paths)
  values ($1, $2, $3, $4, coalesce($5, 'main'), coalesce($6, '{}'::text[]), coalesce($7, '{}'::text[]))
  returning ${REPOSITORY_COLUMNS}`;

export const DELETE_REPOSITORY = 'delete from public.project_repositories r where r.id = $1 and r.project_id = $2';

export type RepositoryListFilters = Pick<RequestQuery<'listRepositories'>, 'status' | 'provider' | 'sort'>;

/** The list's SQL: the project first (it leads every index), then each filter given. */
export function repositoryListQuery(projectId: string, filters: RepositoryListFilters, page: PageRequest): PageQuery<RepositoryRow> {
  const params: unknown[] = [projectId];
  const where = ['r.project_id = $1'];
  for (const field of ['status', 'provider'] as const) {
    if (filters[field] !== undefined) {
      params.push(filters[field]);
      where.push(`r.${field} = $${params.length}`);
    }
  }
  return {
    select: REPOSITORY_COLUMNS,
    fromWhere: `public.project_repositories r where ${where.join(' and ')}`,
    params,
    orderBy: REPOSITORY_SORTS[filters.sort ?? 'createdAt']!,
    page,
  };
}

registerUniqueConstraints({
  project_repositories_project_id_repository_url_branch_key: {
    detail: 'This repository and branch are already connected to the project.',
    field: '/body/repositoryUrl',
    problemCode: 'repository_already_connected',
  },
});
