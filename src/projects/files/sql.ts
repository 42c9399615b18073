import { escapeLike } from '../../db/like';
import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { registerUniqueConstraints } from '../../db/errors';

export type ProjectFile = components['schemas']['ProjectFile'];

export interface ProjectFileRow {
  id: string;
  project_id: string;
  name: string;
  path: string;
  mime_type: string;
  size_bytes: number;
  checksum: string;
  storage_key: string;
  storage_provider: string;
  processed: boolean;
  processed_at: string | null;
  created_at: string;
  updated_at: string;
}

export const FILE_COLUMNS = `f.id, f.project_id, f.name, f.path, f.mime_type, f.size_bytes, f.checksum,
  f.storage_key, f.storage_provider, f.processed, f.processed_at, f.created_at, f.updated_at`;

/**
 * The whitelisted sorts; each ends in the primary key so pages never overlap.
 * Paths sort byte-wise (collation "C") so the order is the same on every
 * server whatever its locale, and "docs/" sorts next to "docs/a".
 */
export const FILE_SORTS: Record<string, string> = {
  path: 'f.path collate "C" asc, f.id asc',
  '-path': 'f.path collate "C" desc, f.id desc',
  createdAt: 'f.created_at asc, f.id asc',
  '-createdAt': 'f.created_at desc, f.id desc',
};

export function toProjectFile(row: ProjectFileRow): ProjectFile {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    path: row.path,
    mimeType: row.mime_type,
    sizeBytes: row.size_bytes,
    checksum: row.checksum,
    storageKey: row.storage_key,
    storageProvider: row.storage_provider,
    processed: row.processed,
    processedAt: row.processed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** One file of one project: an id from another project is as absent as an unknown one. */
export const FILE_BY_ID = `select ${FILE_COLUMNS} from public.project_files f where f.id = $1 and f.project_id = $2`;

/** $1 project, $2 name, $3 path, $4 mime type, $5 size, $6 checksum (lowercase), $7 storage key, $8 storage provider. */
export const INSERT_FILE = `insert into public.project_files as f
    (project_id, name, path, mime_type, size_bytes, checksum, storage_key, storage_provider)
  values ($1, $2, $3, $4, $5, $6, $7, $8)
  returning ${FILE_COLUMNS}`;

export const DELETE_FILE = 'delete from public.project_files f where f.id = $1 and f.project_id = $2';

/** A LIKE pattern matching paths that start with `prefix`, its own \ % _ taken literally. */
export function prefixPattern(prefix: string): string {
  return `${escapeLike(prefix)}%`;
}

export type FileListFilters = Pick<
  RequestQuery<'listProjectFiles'>,
  'mimeType' | 'processed' | 'pathPrefix' | 'sort'
>;

/**
 * The list's SQL. `f.project_id = $1` comes first and explicitly: it is the
 * leading column of every index on the table, and as a leakproof equality it
 * can drive an index scan ahead of the row level security checks (a LIKE
 * cannot, being not leakproof, so the prefix only filters that one project's
 * rows; with a constant pattern the planner may still use
 * project_files_path_prefix_idx (project_id, path text_pattern_ops)).
 */
export function fileListQuery(projectId: string, filters: FileListFilters, page: PageRequest): PageQuery<ProjectFileRow> {
  const params: unknown[] = [projectId];
  const where = ['f.project_id = $1'];
  if (filters.mimeType !== undefined) {
    params.push(filters.mimeType);
    where.push(`f.mime_type = $${params.length}`);
  }
  if (filters.processed !== undefined) {
    params.push(filters.processed);
    where.push(`f.processed = $${params.length}`);
  }
  if (filters.pathPrefix !== undefined) {
    params.push(prefixPattern(filters.pathPrefix));
    where.push(`f.path like $${params.length}`);
  }
  return {
    select: FILE_COLUMNS,
    fromWhere: `public.project_files f where ${where.join(' and ')}`,
    params,
    orderBy: FILE_SORTS[filters.sort ?? 'path']!,
    page,
  };
}

registerUniqueConstraints({
  project_files_project_id_path_key: { detail: 'A file with this path is already registered in the project.', field: '/body/path', problemCode: 'file_path_taken' },
});
