import type { components } from '../generated/openapi';
import { ingestionJson, NEWEST_FIRST, toIngestionFromJson, UNFINISHED, type IngestionRow } from './ingestions/sql';

export type ProjectStats = components['schemas']['ProjectStats'];

export interface ProjectStatsRow {
  id: string;
  original_tokens: number;
  optimized_tokens: number;
  repositories_total: number;
  repositories_pending: number;
  repositories_connected: number;
  repositories_syncing: number;
  repositories_error: number;
  files_total: number;
  files_processed: number;
  files_bytes: number;
  members_total: number;
  members_admin: number;
  members_manager: number;
  members_developer: number;
  members_viewer: number;
  members_auditor: number;
  last_ingestion: IngestionRow | null;
  current_ingestion: IngestionRow | null;
}

/**
 * A project's figures ($1) in one statement: one aggregate per child table
 * (each over the project's index), the tokens from the project row, and the
 * latest finished and the unfinished ingestion as jsonb. Row level security
 * applies throughout, so an invisible project yields no row (404).
 */
export const PROJECT_STATS = `
select p.id, p.original_tokens, p.optimized_tokens,
       repositories.*, files.*, members.*,
       ${ingestionJson(`not (${UNFINISHED})`, NEWEST_FIRST)} as last_ingestion,
       ${ingestionJson(UNFINISHED, NEWEST_FIRST)} as current_ingestion
from public.projects p
cross join lateral (
  select count(*)::int as repositories_total,
         count(*) filter (where r.status = 'pending')::int as repositories_pending,
         count(*) filter (where r.status = 'connected')::int as repositories_connected,
         count(*) filter (where r.status = 'syncing')::int as repositories_syncing,
         count(*) filter (where r.status = 'error')::int as repositories_error
  from public.project_repositories r where r.project_id = p.id
) repositories
cross join lateral (
  select count(*)::int as files_total,
         count(*) filter (where f.processed)::int as files_processed,
         coalesce(sum(f.size_bytes), 0)::bigint as files_bytes
  from public.project_files f where f.project_id = p.id
) files
cross join lateral (
  select count(*)::int as members_total,
         count(*) filter (where pm.role = 'admin')::int as members_admin,
         count(*) filter (where pm.role = 'manager')::int as members_manager,
         count(*) filter (where pm.role = 'developer')::int as members_developer,
         count(*) filter (where pm.role = 'viewer')::int as members_viewer,
         count(*) filter (where pm.role = 'auditor')::int as members_auditor
  from public.project_members pm where pm.project_id = p.id
) members
where p.id = $1`;

export function toProjectStats(row: ProjectStatsRow): ProjectStats {
  return {
    projectId: row.id,
    repositories: {
      total: row.repositories_total,
      byStatus: {
        pending: row.repositories_pending,
        connected: row.repositories_connected,
        syncing: row.repositories_syncing,
        error: row.repositories_error,
      },
    },
    files: { total: row.files_total, processed: row.files_processed, totalBytes: row.files_bytes },
    tokens: { original: row.original_tokens, optimized: row.optimized_tokens },
    members: {
      total: row.members_total,
      byRole: {
        admin: row.members_admin,
        manager: row.members_manager,
        developer: row.members_developer,
        viewer: row.members_viewer,
        auditor: row.members_auditor,
      },
    },
    lastIngestion: toIngestionFromJson(row.last_ingestion),
    currentIngestion: toIngestionFromJson(row.current_ingestion),
  };
}
