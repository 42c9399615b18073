import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { RequestQuery, ResponseBody } from '../http/route';
import { centsNumber, shownOutput, type CreatedWindow } from './rules';

export type SkillExecution = components['schemas']['SkillExecution'];
export type SkillSummary = components['schemas']['SkillSummary'];
export type ExecutionStatus = components['schemas']['ExecutionStatus'];

export interface ExecutionRow {
  id: string;
  organization_id: string;
  skill_id: string | null;
  user_id: string | null;
  execution_type: SkillExecution['executionType'];
  reference_id: string | null;
  input: Record<string, unknown>;
  output: unknown;
  output_format: SkillSummary['outputFormat'] | null;
  tokens_used: number;
  prompt_tokens: number;
  completion_tokens: number;
  duration_ms: number | null;
  cost_cents: string;
  status: ExecutionStatus;
  error_message: string | null;
  error_code: string | null;
  executed_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  attempts: number;
  next_attempt_at: string | null;
}

/** The skill's summary columns, when the statement joins `public.skills s`. */
export interface ExecutionWithSkillRow extends ExecutionRow {
  skill_name: string | null;
  skill_category: SkillSummary['category'] | null;
  skill_output_format: SkillSummary['outputFormat'] | null;
  skill_is_active: boolean | null;
}

export const EXECUTION_COLUMNS = `e.id, e.organization_id, e.skill_id, e.user_id, e.execution_type, e.reference_id, e.input,
  e.output, e.output_format, e.tokens_used, e.prompt_tokens, e.completion_tokens, e.duration_ms, e.cost_cents, e.status,
  e.error_message, e.error_code, e.executed_at, e.completed_at, e.created_at, e.updated_at, e.attempts, e.next_attempt_at`;

const SKILL_SUMMARY_COLUMNS = `s.name as skill_name, s.category as skill_category,
  s.output_format as skill_output_format, s.is_active as skill_is_active`;

/**
 * $1 execution, $2 organization: an execution and its skill's summary (null
 * once the skill was deleted). The organization is explicit because service
 * tokens pass row level security.
 */
export const EXECUTION_WITH_SKILL = `select ${EXECUTION_COLUMNS}, ${SKILL_SUMMARY_COLUMNS}
  from public.skill_executions e left join public.skills s on s.id = e.skill_id
  where e.id = $1 and e.organization_id = $2`;

/**
 * The frontend's SkillExecution: `executedAt` is when the execution was
 * created (the column executed_at is when a worker started it, shown as
 * `startedAt`), money a number of cents beside its exact string, output as
 * text beside the parsed value of a json run.
 */
export function toExecution(row: ExecutionRow): SkillExecution {
  return {
    id: row.id,
    organizationId: row.organization_id,
    skillId: row.skill_id,
    userId: row.user_id,
    executionType: row.execution_type,
    referenceId: row.reference_id,
    input: row.input,
    ...shownOutput(row.output, row.output_format, row.status),
    outputFormat: row.output_format,
    tokensUsed: row.tokens_used,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    durationMs: row.duration_ms,
    costCents: centsNumber(row.cost_cents),
    costCentsExact: row.cost_cents,
    status: row.status,
    errorMessage: row.error_message,
    errorCode: row.error_code,
    executedAt: row.created_at,
    startedAt: row.executed_at,
    completedAt: row.completed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
  };
}

export function toExecutionWithSkill(row: ExecutionWithSkillRow): SkillExecution {
  const skill: SkillSummary | null =
    row.skill_id !== null && row.skill_name !== null
      ? {
          id: row.skill_id,
          name: row.skill_name,
          category: row.skill_category!,
          outputFormat: row.skill_output_format!,
          isActive: row.skill_is_active!,
        }
      : null;
  return { ...toExecution(row), skill };
}

export type ListFilters = Pick<RequestQuery<'listExecutions'>, 'skillId' | 'status' | 'executionType' | 'referenceId'> & {
  window?: CreatedWindow;
};

/** The WHERE of an organization's executions under `filters`, parameters from $1 (the organization). */
export function executionFilter(organizationId: string, filters: ListFilters): { where: string; params: unknown[] } {
  const params: unknown[] = [organizationId];
  const where = ['e.organization_id = $1'];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filters.skillId !== undefined) add('e.skill_id = ?', filters.skillId);
  if (filters.status !== undefined) add('e.status = ?', filters.status);
  if (filters.executionType !== undefined) add('e.execution_type = ?', filters.executionType);
  if (filters.referenceId !== undefined) add('e.reference_id = ?', filters.referenceId);
  const window = filters.window;
  if (window?.from) add('e.created_at >= ?', window.from);
  if (window?.before) add('e.created_at < ?', window.before);
  if (window?.through) add('e.created_at <= ?', window.through);
  return { where: where.join(' and '), params };
}

/**
 * Newest first. The organization leads, so skill_executions_organization_created_idx
 * (organization_id, created_at desc, id desc) serves the order; a skill filter
 * uses skill_executions_skill_created_idx instead.
 */
export function executionListQuery(organizationId: string, filters: ListFilters, page: PageRequest): PageQuery<ExecutionWithSkillRow> {
  const { where, params } = executionFilter(organizationId, filters);
  return {
    select: `${EXECUTION_COLUMNS}, ${SKILL_SUMMARY_COLUMNS}`,
    fromWhere: `public.skill_executions e left join public.skills s on s.id = e.skill_id where ${where}`,
    params,
    orderBy: 'e.created_at desc, e.id desc',
    page,
  };
}

/** $1 organization, $2 how many: the latest executions with their skill. */
export const RECENT_EXECUTIONS = `select ${EXECUTION_COLUMNS}, ${SKILL_SUMMARY_COLUMNS}
  from public.skill_executions e left join public.skills s on s.id = e.skill_id
  where e.organization_id = $1
  order by e.created_at desc, e.id desc limit $2`;

/** $1 organization, $2 how many: executions that have not ended (skill_executions_organization_status_idx). */
export const UNFINISHED_EXECUTIONS = `select ${EXECUTION_COLUMNS}, ${SKILL_SUMMARY_COLUMNS}
  from public.skill_executions e left join public.skills s on s.id = e.skill_id
  where e.organization_id = $1 and e.status in ('pending', 'running')
  order by e.created_at desc, e.id desc limit $2`;

/** One skill's executions, newest first (skill_executions_skill_created_idx). */
export function skillExecutionListQuery(skillId: string, status: ExecutionStatus | undefined, page: PageRequest): PageQuery<ExecutionRow> {
  const params: unknown[] = [skillId];
  const where = ['e.skill_id = $1'];
  if (status !== undefined) {
    params.push(status);
    where.push(`e.status = $${params.length}`);
  }
  return {
    select: EXECUTION_COLUMNS,
    fromWhere: `public.skill_executions e where ${where.join(' and ')}`,
    params,
    orderBy: 'e.created_at desc, e.id desc',
    page,
  };
}

/** Executions counted in total and per status over `public.skill_executions e` (an ExecutionStatusCounts row). */
export const STATUS_COUNTS = `count(*)::int as total,
  count(*) filter (where e.status = 'pending')::int as pending,
  count(*) filter (where e.status = 'running')::int as running,
  count(*) filter (where e.status = 'completed')::int as completed,
  count(*) filter (where e.status = 'failed')::int as failed,
  count(*) filter (where e.status = 'cancelled')::int as cancelled`;

/** Per-status counts, tokens and cost over `public.skill_executions e`, for stats statements. */
export const EXECUTION_AGGREGATES = `${STATUS_COUNTS},
  round(avg(e.duration_ms) filter (where e.status = 'completed'))::int as avg_duration_ms,
  coalesce(sum(e.prompt_tokens), 0)::bigint as prompt_tokens,
  coalesce(sum(e.completion_tokens), 0)::bigint as completion_tokens,
  coalesce(sum(e.tokens_used), 0)::bigint as tokens_used,
  coalesce(sum(e.cost_cents), 0)::numeric(20, 4)::text as cost_cents`;

/** Executions counted in total and per status: the rows of every execution statistic. */
export interface ExecutionStatusCounts {
  total: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface AggregateRow extends ExecutionStatusCounts {
  avg_duration_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_used: number;
  cost_cents: string;
}

export function byStatus(row: ExecutionStatusCounts): components['schemas']['ExecutionStatusCounts'] {
  return { pending: row.pending, running: row.running, completed: row.completed, failed: row.failed, cancelled: row.cancelled };
}

/** Completed among those that ended with a verdict; null before any did. */
export function successRate(row: AggregateRow): number | null {
  const decided = row.completed + row.failed;
  return decided === 0 ? null : Math.round((row.completed / decided) * 10000) / 10000;
}

/**
 * $1 execution, $2 organization. Ended executions are left alone (the trigger
 * would refuse them anyway); row level security leaves out those the caller
 * may not cancel.
 */
export const CANCEL_EXECUTION = `update public.skill_executions e set status = 'cancelled'
  where e.id = $1 and e.organization_id = $2 and e.status in ('pending', 'running') returning e.id`;

export type SkillTotals = ResponseBody<'getExecutionStatsBySkill', 200>['data'][number];

export type SkillTotalsRow = AggregateRow &
  Pick<ExecutionWithSkillRow, 'skill_id' | 'skill_name' | 'skill_category' | 'skill_output_format' | 'skill_is_active'> & {
    last_created_at: string;
  };

/**
 * One row per skill (deleted skills together under null), most executions
 * first; the skill's summary is joined after grouping, so it is read once per
 * skill rather than once per execution.
 */
export function skillTotalsQuery(organizationId: string, window: { from?: string; to?: string }, page: PageRequest): PageQuery<SkillTotalsRow> {
  return {
    select: `g.*, s.name as skill_name, s.category as skill_category, s.output_format as skill_output_format, s.is_active as skill_is_active`,
    fromWhere: `(select e.skill_id, ${EXECUTION_AGGREGATES}, max(e.created_at) as last_created_at
        from public.skill_executions e
        where e.organization_id = $1
          and ($2::timestamptz is null or e.created_at >= $2)
          and ($3::timestamptz is null or e.created_at < $3)
        group by e.skill_id) g
      left join public.skills s on s.id = g.skill_id where true`,
    params: [organizationId, window.from ?? null, window.to ?? null],
    orderBy: 'g.total desc, g.skill_id asc nulls last',
    page,
  };
}

export function toSkillTotals(row: SkillTotalsRow): SkillTotals {
  return {
    skillId: row.skill_id,
    skill:
      row.skill_id !== null && row.skill_name !== null
        ? { id: row.skill_id, name: row.skill_name, category: row.skill_category!, outputFormat: row.skill_output_format!, isActive: row.skill_is_active! }
        : null,
    total: row.total,
    byStatus: byStatus(row),
    successRate: successRate(row),
    avgDurationMs: row.avg_duration_ms,
    tokensUsed: row.tokens_used,
    costCents: row.cost_cents,
    lastCreatedAt: row.last_created_at,
  };
}

/**
 * One statement on the partial index of pending executions (created_at, id)
 * where status = 'pending': the count walks only the pending entries, and the
 * oldest is the index's first. Counted up to a bound, so a runaway backlog
 * cannot make every scrape as slow as the backlog is long.
 */
const PENDING_COUNT_BOUND = 100_000;
export const EXECUTION_QUEUE_STATE = `select
  (select count(*)::int from (select 1 from public.skill_executions where status = 'pending' limit ${PENDING_COUNT_BOUND}) as bounded) as pending,
  coalesce(extract(epoch from now() - (select min(created_at) from public.skill_executions where status = 'pending')), 0)::float8 as oldest_pending_seconds`;
