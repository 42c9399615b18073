import type { components } from '../../generated/openapi';
import { registerUniqueConstraints } from '../../db/errors';

export type Ingestion = components['schemas']['Ingestion'];
type IngestionMetrics = components['schemas']['IngestionMetrics'];

export interface IngestionRow {
  id: string;
  project_id: string;
  phase: Ingestion['phase'];
  progress_percent: number;
  message: string | null;
  metrics: Partial<IngestionMetrics> & Record<string, unknown>;
  started_at: string;
  estimated_completion_at: string | null;
  completed_at: string | null;
  error_message: string | null;
  error_code: string | null;
  original_tokens: number | null;
  optimized_tokens: number | null;
  started_by: string | null;
  updated_at: string;
}

/** The columns of an ingestion, read through the alias `i`. */
export const INGESTION_COLUMNS = `i.id, i.project_id, i.phase, i.progress_percent, i.message, i.metrics,
  i.started_at, i.estimated_completion_at, i.completed_at, i.error_message, i.error_code,
  i.original_tokens, i.optimized_tokens, i.started_by, i.updated_at`;

/** Neither completed nor failed; the partial unique index allows one such row per project. */
export const UNFINISHED = 'i.completed_at is null and i.error_message is null';

const METRIC_KEYS = [
  'filesProcessed',
  'totalFiles',
  'tokensProcessed',
  'bytesProcessed',
  'chunksCreated',
  'errorsEncountered',
] as const satisfies ReadonlyArray<keyof IngestionMetrics>;

/** Exactly the six counters the contract names, each a number (0 when never reported). */
function toMetrics(stored: IngestionRow['metrics']): IngestionMetrics {
  const metrics = {} as IngestionMetrics;
  for (const key of METRIC_KEYS) {
    const value = stored?.[key];
    metrics[key] = typeof value === 'number' ? value : 0;
  }
  return metrics;
}

export function ingestionStatus(row: Pick<IngestionRow, 'completed_at' | 'error_message'>): Ingestion['status'] {
  if (row.completed_at !== null) return 'completed';
  if (row.error_message !== null) return 'failed';
  return 'running';
}

export function toIngestion(row: IngestionRow): Ingestion {
  return {
    id: row.id,
    projectId: row.project_id,
    status: ingestionStatus(row),
    phase: row.phase,
    progressPercent: row.progress_percent,
    message: row.message,
    metrics: toMetrics(row.metrics),
    startedAt: row.started_at,
    estimatedCompletionAt: row.estimated_completion_at,
    completedAt: row.completed_at,
    errorMessage: row.error_message,
    errorCode: row.error_code,
    originalTokens: row.original_tokens,
    optimizedTokens: row.optimized_tokens,
    startedBy: row.started_by,
    updatedAt: row.updated_at,
  };
}

/**
 * A timestamptz that came back inside json (e.g. "2026-01-05T09:30:00.123456+00:00"),
 * in the same form the pool's type parser gives top-level columns: UTC ISO-8601
 * with milliseconds and a Z. Both go through Date, so both round the same way.
 */
export function isoFromJson(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/**
 * One ingestion of the project `p` as a single jsonb value (null when none
 * matches), for embedding in a larger statement. Keys are the column names of
 * INGESTION_COLUMNS; map the value with `toIngestionFromJson`.
 */
export function ingestionJson(where: string, orderBy: string): string {
  return `(select to_jsonb(one) from (
      select ${INGESTION_COLUMNS} from public.ingestion_progress i
      where i.project_id = p.id and (${where})
      order by ${orderBy}
      limit 1
    ) one)`;
}

/** The ingestion of `ingestionJson`, with its timestamps put in the API's form. */
export function toIngestionFromJson(json: IngestionRow | null): Ingestion | null {
  if (json === null) return null;
  return toIngestion({
    ...json,
    started_at: isoFromJson(json.started_at)!,
    estimated_completion_at: isoFromJson(json.estimated_completion_at),
    completed_at: isoFromJson(json.completed_at),
    updated_at: isoFromJson(json.updated_at)!,
  });
}

/** The current ingestion, else the latest: what a project's detail shows. */
export const CURRENT_OR_LATEST_ORDER = `(${UNFINISHED}) desc, i.started_at desc, i.id desc`;
/** Newest first, as the history lists them. */
export const NEWEST_FIRST = 'i.started_at desc, i.id desc';

/** The whitelisted sorts of the history, served by (project_id, started_at, id) either way. */
export const INGESTION_SORTS = {
  startedAt: 'i.started_at asc, i.id asc',
  '-startedAt': NEWEST_FIRST,
} as const;

registerUniqueConstraints({
  ingestion_progress_one_unfinished_key: { detail: 'An ingestion of this project is still unfinished.' },
});
