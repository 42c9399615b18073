import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import type { RequestBody } from '../../http/route';
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
  cancelled_at: string | null;
  error_message: string | null;
  error_code: string | null;
  original_tokens: number | null;
  optimized_tokens: number | null;
  started_by: string | null;
  updated_at: string;
}

/** The columns of an ingestion, read through the alias `i`. */
export const INGESTION_COLUMNS = `i.id, i.project_id, i.phase, i.progress_percent, i.message, i.metrics,
  i.started_at, i.estimated_completion_at, i.completed_at, i.cancelled_at, i.error_message, i.error_code,
  i.original_tokens, i.optimized_tokens, i.started_by, i.updated_at`;

/** Neither completed, failed nor cancelled; the partial unique index allows one such row per project. */
export const UNFINISHED = 'i.completed_at is null and i.error_message is null and i.cancelled_at is null';

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

export function ingestionStatus(row: Pick<IngestionRow, 'completed_at' | 'error_message' | 'cancelled_at'>): Ingestion['status'] {
  if (row.completed_at !== null) return 'completed';
  if (row.error_message !== null) return 'failed';
  if (row.cancelled_at !== null) return 'cancelled';
  return 'processing';
}

export function toIngestion(row: IngestionRow): Ingestion {
  return {
    id: row.id,
    projectId: row.project_id,
    status: ingestionStatus(row),
    phase: row.phase,
    progressPercent: row.progress_percent,
    // The frontend's IngestionProgress.message is a string: none given reads as empty.
    message: row.message ?? '',
    metrics: toMetrics(row.metrics),
    startedAt: row.started_at,
    estimatedCompletionAt: row.estimated_completion_at,
    completedAt: row.completed_at,
    cancelledAt: row.cancelled_at,
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
    cancelled_at: isoFromJson(json.cancelled_at),
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

/** A project's ingestions ($1), newest first unless asked otherwise. */
export function ingestionListQuery(projectId: string, page: PageRequest, sort: keyof typeof INGESTION_SORTS = '-startedAt'): PageQuery<IngestionRow> {
  return {
    select: INGESTION_COLUMNS,
    // Served by ingestion_progress_project_started_idx (project_id, started_at, id), read backwards.
    fromWhere: 'public.ingestion_progress i where i.project_id = $1',
    params: [projectId],
    orderBy: INGESTION_SORTS[sort],
    page,
  };
}

/**
 * $1 project, $2 message (or null), $3 who started it, $4 the estimated
 * duration in seconds. A second unfinished one breaks ingestion_progress_one_unfinished_key.
 */
export const INSERT_INGESTION = `insert into public.ingestion_progress as i (project_id, message, started_by, estimated_completion_at)
  values ($1, $2, $3, now() + make_interval(secs => $4::int))
  returning ${INGESTION_COLUMNS}`;

export interface IngestionPlanningRow {
  repositories: number;
  failed_repositories: string[];
  files: number;
  file_bytes: string;
  /** The latest ingestion completed and nothing changed after it. */
  up_to_date: boolean;
  /** Mean duration of the last three completed ingestions, null when there are none. */
  mean_seconds: number | null;
}

/**
 * What starting an ingestion of project $1 needs to know, in one statement:
 * its sources (for the repository check and the estimate), whether the
 * latest ingestion completed with nothing changed since, and how long the
 * last completed ones took. A change is anything that moved updated_at after
 * that completion: the project's own (its settings, and its repository and
 * file counters, which adding or removing either updates), a repository's or
 * a file's. The completion itself stamps the project at the same instant, so
 * it does not count.
 */
export const INGESTION_PLANNING = `select
    (select count(*)::int from public.project_repositories r where r.project_id = p.id) as repositories,
    array(select r.repository_name from public.project_repositories r
          where r.project_id = p.id and r.status = 'error' order by r.created_at, r.id limit 20) as failed_repositories,
    (select count(*)::int from public.project_files f where f.project_id = p.id) as files,
    (select coalesce(sum(f.size_bytes), 0)::text from public.project_files f where f.project_id = p.id) as file_bytes,
    coalesce(latest.completed_at is not null
      and p.updated_at <= latest.completed_at
      and not exists (select 1 from public.project_repositories r where r.project_id = p.id and r.updated_at > latest.completed_at)
      and not exists (select 1 from public.project_files f where f.project_id = p.id and f.updated_at > latest.completed_at),
      false) as up_to_date,
    (select avg(extract(epoch from d.completed_at - d.started_at))::float8 from (
        select i.started_at, i.completed_at from public.ingestion_progress i
        where i.project_id = p.id and i.completed_at is not null
        order by i.completed_at desc limit 3
      ) d) as mean_seconds
  from public.projects p
  left join lateral (
    select i.completed_at from public.ingestion_progress i where i.project_id = p.id order by i.started_at desc, i.id desc limit 1
  ) latest on true
  where p.id = $1`;

/** The ingestion $1 of project $2, locked until the transaction ends. */
export const LOCK_INGESTION = `select ${INGESTION_COLUMNS} from public.ingestion_progress i where i.id = $1 and i.project_id = $2 for update`;

/** The unfinished ingestion of project $1, locked until the transaction ends. */
export const LOCK_CURRENT_INGESTION = `select ${INGESTION_COLUMNS} from public.ingestion_progress i
  where i.project_id = $1 and ${UNFINISHED} for update`;

/**
 * Cancels ingestion $1 of project $2. The database's guard refuses a finished
 * one (55000, a 409) and stamps the time itself; the project follows (trigger).
 */
export const CANCEL_INGESTION = `update public.ingestion_progress i set cancelled_at = now()
  where i.id = $1 and i.project_id = $2
  returning ${INGESTION_COLUMNS}`;

/** The project's ($1) unfinished ingestion, if any. */
export const CURRENT_INGESTION = `select ${INGESTION_COLUMNS} from public.ingestion_progress i where i.project_id = $1 and ${UNFINISHED}`;

/**
 * The SET list of a progress report (checked by checkProgressReport), in a
 * fixed order; its values follow $1 and $2, the ingestion's and the project's
 * ids. The rules about the stored row (forward phases, finished is final)
 * are the database trigger's, which answers 55000 (409).
 */
export function progressAssignments(body: RequestBody<'reportIngestionProgress'>): { assignments: string[]; values: unknown[] } {
  const assignments: string[] = [];
  const values: unknown[] = [];
  const set = (sql: (placeholder: string) => string, value: unknown) => {
    values.push(value);
    assignments.push(sql(`$${values.length + 2}`));
  };
  if (body.phase !== undefined) set((v) => `phase = ${v}::public.ingestion_phase`, body.phase);
  if (body.progressPercent !== undefined) set((v) => `progress_percent = ${v}`, body.progressPercent);
  if (body.message !== undefined) set((v) => `message = ${v}`, body.message);
  // Counters given replace the stored ones; the others stay as they are.
  if (body.metrics !== undefined) set((v) => `metrics = i.metrics || ${v}::jsonb`, JSON.stringify(body.metrics));
  if (body.estimatedCompletionAt !== undefined) {
    set((v) => `estimated_completion_at = ${v}::timestamptz`, body.estimatedCompletionAt);
  }
  if (body.completed === true) {
    // The trigger sets progress to 100 and the project follows (active, totals, time).
    assignments.push('completed_at = now()');
    if (body.originalTokens !== undefined) set((v) => `original_tokens = ${v}`, body.originalTokens);
    if (body.optimizedTokens !== undefined) set((v) => `optimized_tokens = ${v}`, body.optimizedTokens);
  }
  if (body.error !== undefined) {
    set((v) => `error_message = ${v}`, body.error.message);
    set((v) => `error_code = ${v}`, body.error.code ?? null);
  }
  return { assignments, values };
}

/** A progress report of ingestion $1 of project $2, both ids explicit: service_role passes row level security. */
export function updateIngestionSql(assignments: readonly string[]): string {
  return `update public.ingestion_progress i set ${assignments.join(', ')}
  where i.id = $1 and i.project_id = $2
  returning ${INGESTION_COLUMNS}`;
}

registerUniqueConstraints({
  ingestion_progress_one_unfinished_key: { detail: 'An ingestion of this project is still unfinished.', problemCode: 'ingestion_unfinished' },
});
