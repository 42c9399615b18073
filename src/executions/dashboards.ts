import type { RequestTransaction } from '../db/transaction';
import type { RequestQuery, ResponseBody } from '../http/route';
import { centsNumber, dayWindow, type DayWindow } from './rules';
import { byStatus, STATUS_COUNTS, type ExecutionStatusCounts } from './sql';

// The frontend's execution dashboards: the overview (/executions/stats), the
// cost breakdown and the duration percentiles. Every statement is scoped to
// the organization and runs under row level security; amounts stay decimal
// strings until they are shown, each as a number and as its exact string.

type Overview = ResponseBody<'getExecutionOverview', 200>;
type CostBreakdown = ResponseBody<'getExecutionCostBreakdown', 200>;
type Performance = ResponseBody<'getExecutionPerformance', 200>;

const OVERVIEW_DEFAULT_DAYS = 14;
const DASHBOARD_DEFAULT_DAYS = 30;
const TOP_SKILLS = 100;

/** $1 organization, $2 from (null: unbounded), $3 through (inclusive), $4 skill or null. */
const IN_WINDOW = `e.organization_id = $1 and ($2::timestamptz is null or e.created_at >= $2) and e.created_at <= $3
  and ($4::uuid is null or e.skill_id = $4)`;

const OVERVIEW_TOTALS = `select ${STATUS_COUNTS},
    count(*) filter (where e.execution_type = 'manual')::int as manual,
    count(*) filter (where e.execution_type = 'habit')::int as habit,
    count(*) filter (where e.execution_type = 'reflex')::int as reflex,
    count(*) filter (where e.execution_type = 'api')::int as api,
    coalesce(sum(e.tokens_used), 0)::bigint as tokens_used,
    coalesce(sum(e.cost_cents), 0)::numeric(20, 4)::text as cost_cents,
    coalesce(round(avg(e.duration_ms) filter (where e.status = 'completed')), 0)::int as avg_duration_ms
  from public.skill_executions e where ${IN_WINDOW}`;

/**
 * One row per UTC day from $5 to $6 (dates), with `aggregates` over that
 * day's executions in the window. Each day reads its own created_at range
 * through skill_executions_organization_created_idx.
 */
function perDay(aggregates: string, extra = ''): string {
  return `select to_char(d.day, 'YYYY-MM-DD') as date, c.*
    from generate_series($5::date::timestamp, $6::date::timestamp, interval '1 day') as d(day)
    cross join lateral (
      select ${aggregates}
      from public.skill_executions e
      where ${IN_WINDOW} ${extra}
        and e.created_at >= d.day at time zone 'UTC' and e.created_at < (d.day + interval '1 day') at time zone 'UTC'
    ) c
    order by d.day`;
}

interface OverviewRow extends ExecutionStatusCounts {
  manual: number;
  habit: number;
  reflex: number;
  api: number;
  tokens_used: number;
  cost_cents: string;
  avg_duration_ms: number;
}

function byType(row: OverviewRow): Overview['executionsByType'] {
  return { manual: row.manual, habit: row.habit, reflex: row.reflex, api: row.api };
}

function windowParams(organizationId: string, from: Date | null, window: DayWindow, skillId?: string): unknown[] {
  return [organizationId, from?.toISOString() ?? null, window.to.toISOString(), skillId ?? null, window.firstDay, window.lastDay];
}

/**
 * Totals over every execution created from `startDate` (unbounded without
 * one) through `endDate` (now), and the days of the window charted.
 */
export async function executionOverview(
  tx: RequestTransaction,
  organizationId: string,
  query: RequestQuery<'getExecutionOverview'>,
  now: Date,
): Promise<Overview> {
  const window = dayWindow(query, now, OVERVIEW_DEFAULT_DAYS);
  const from = query.startDate !== undefined ? window.from : null;
  const params = windowParams(organizationId, from, window, query.skillId);
  const totals = (await tx.query<OverviewRow>(OVERVIEW_TOTALS, params.slice(0, 4))).rows[0]!;
  const days = await tx.query<{ date: string; count: number; tokens: number }>(
    perDay(`count(*)::int as count, coalesce(sum(e.tokens_used), 0)::bigint as tokens`),
    params,
  );
  return {
    from: from?.toISOString() ?? null,
    to: window.to.toISOString(),
    totalExecutions: totals.total,
    successfulExecutions: totals.completed,
    failedExecutions: totals.failed,
    cancelledExecutions: totals.cancelled,
    totalTokensUsed: totals.tokens_used,
    totalCostCents: centsNumber(totals.cost_cents),
    totalCostCentsExact: totals.cost_cents,
    averageDurationMs: totals.avg_duration_ms,
    executionsByType: byType(totals),
    executionsByStatus: byStatus(totals),
    dailyExecutions: days.rows,
  };
}

const COST = `coalesce(sum(e.cost_cents), 0)::numeric(20, 4)::text`;
const COMPLETED = `and e.status = 'completed'`;

const COST_TOTALS = `select ${COST} as total,
    coalesce(sum(e.cost_cents) filter (where e.skill_id is null), 0)::numeric(20, 4)::text as deleted_skills,
    coalesce(sum(e.cost_cents) filter (where e.execution_type = 'manual'), 0)::numeric(20, 4)::text as manual,
    coalesce(sum(e.cost_cents) filter (where e.execution_type = 'habit'), 0)::numeric(20, 4)::text as habit,
    coalesce(sum(e.cost_cents) filter (where e.execution_type = 'reflex'), 0)::numeric(20, 4)::text as reflex,
    coalesce(sum(e.cost_cents) filter (where e.execution_type = 'api'), 0)::numeric(20, 4)::text as api
  from public.skill_executions e where ${IN_WINDOW} ${COMPLETED}`;

// Grouped first, the skill's name joined after: read once per skill.
const COST_BY_SKILL = `select g.skill_id, s.name as skill_name, g.cost_cents, g.execution_count
  from (
    select e.skill_id, sum(e.cost_cents)::numeric(20, 4) as cost, sum(e.cost_cents)::numeric(20, 4)::text as cost_cents,
      count(*)::int as execution_count
    from public.skill_executions e where ${IN_WINDOW} ${COMPLETED} and e.skill_id is not null
    group by e.skill_id
  ) g join public.skills s on s.id = g.skill_id
  order by g.cost desc, g.execution_count desc, g.skill_id
  limit ${TOP_SKILLS}`;

interface CostTotalsRow {
  total: string;
  deleted_skills: string;
  manual: string;
  habit: string;
  reflex: string;
  api: string;
}

/** What completed executions cost in the window (the last 30 days by default). */
export async function costBreakdown(
  tx: RequestTransaction,
  organizationId: string,
  query: RequestQuery<'getExecutionCostBreakdown'>,
  now: Date,
): Promise<CostBreakdown> {
  const window = dayWindow(query, now, DASHBOARD_DEFAULT_DAYS);
  const params = windowParams(organizationId, window.from, window);
  const totals = (await tx.query<CostTotalsRow>(COST_TOTALS, params.slice(0, 4))).rows[0]!;
  const bySkill = await tx.query<{ skill_id: string; skill_name: string; cost_cents: string; execution_count: number }>(
    COST_BY_SKILL,
    params.slice(0, 4),
  );
  const byDay = await tx.query<{ date: string; cost_cents: string }>(perDay(`${COST} as cost_cents`, COMPLETED), params);
  const exactByType = { manual: totals.manual, habit: totals.habit, reflex: totals.reflex, api: totals.api };
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    totalCostCents: centsNumber(totals.total),
    totalCostCentsExact: totals.total,
    deletedSkillsCostCents: centsNumber(totals.deleted_skills),
    deletedSkillsCostCentsExact: totals.deleted_skills,
    costBySkill: bySkill.rows.map((row) => ({
      skillId: row.skill_id,
      skillName: row.skill_name,
      costCents: centsNumber(row.cost_cents),
      costCentsExact: row.cost_cents,
      executionCount: row.execution_count,
    })),
    costByType: {
      manual: centsNumber(exactByType.manual),
      habit: centsNumber(exactByType.habit),
      reflex: centsNumber(exactByType.reflex),
      api: centsNumber(exactByType.api),
    },
    costByTypeExact: exactByType,
    costByDay: byDay.rows.map((row) => ({ date: row.date, costCents: centsNumber(row.cost_cents), costCentsExact: row.cost_cents })),
  };
}

// percentile_cont interpolates between the two nearest durations, as the
// usual definition of a percentile does; all four in one ordered pass.
const PERCENTILES = `select count(*) filter (where e.status = 'completed' and e.duration_ms is not null)::int as sample_size,
    coalesce(round(avg(e.duration_ms) filter (where e.status = 'completed')), 0)::int as avg_duration_ms,
    percentile_cont(array[0.5, 0.9, 0.95, 0.99]) within group (order by e.duration_ms)
      filter (where e.status = 'completed' and e.duration_ms is not null) as percentiles,
    count(*) filter (where e.status = 'completed')::int as completed,
    count(*) filter (where e.status = 'failed')::int as failed
  from public.skill_executions e where ${IN_WINDOW}`;

// Grouped by hour first, then every hour listed.
const BY_HOUR = `select h.hour, coalesce(g.avg_duration_ms, 0)::int as avg_duration_ms
  from generate_series(0, 23) as h(hour)
  left join (
    select extract(hour from e.created_at at time zone 'UTC')::int as hour, round(avg(e.duration_ms))::int as avg_duration_ms
    from public.skill_executions e where ${IN_WINDOW} and e.status = 'completed' and e.duration_ms is not null
    group by 1
  ) g on g.hour = h.hour
  order by h.hour`;

interface PercentilesRow {
  sample_size: number;
  avg_duration_ms: number;
  percentiles: number[] | null;
  completed: number;
  failed: number;
}

/** Duration percentiles of the completed executions created in the window (the last 30 days by default). */
export async function performance(
  tx: RequestTransaction,
  organizationId: string,
  query: RequestQuery<'getExecutionPerformance'>,
  now: Date,
): Promise<Performance> {
  const window = dayWindow(query, now, DASHBOARD_DEFAULT_DAYS);
  const params = windowParams(organizationId, window.from, window, query.skillId).slice(0, 4);
  const row = (await tx.query<PercentilesRow>(PERCENTILES, params)).rows[0]!;
  const hours = await tx.query<{ hour: number; avg_duration_ms: number }>(BY_HOUR, params);
  // Interpolation in binary floating point leaves noise (90.10000000000001): a microsecond is precise enough.
  const [p50, p90, p95, p99] = (row.percentiles ?? [0, 0, 0, 0]).map((ms) => Math.round(ms * 1000) / 1000);
  const decided = row.completed + row.failed;
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    sampleSize: row.sample_size,
    averageDurationMs: row.avg_duration_ms,
    avgDurationMs: row.avg_duration_ms,
    p50DurationMs: p50 ?? 0,
    p90DurationMs: p90 ?? 0,
    p95DurationMs: p95 ?? 0,
    p99DurationMs: p99 ?? 0,
    successRate: decided === 0 ? 0 : Math.round((row.completed / decided) * 100),
    durationByHour: hours.rows.map((hour) => ({ hour: hour.hour, avgDurationMs: hour.avg_duration_ms })),
  };
}

type Analytics = ResponseBody<'getExecutionAnalytics', 200>;
type Period = Analytics['period'];

const PERIOD_DAYS: Record<Period, number> = { '7d': 7, '30d': 30, '90d': 90 };
const TOP_RUN_SKILLS = 10;

// Runs per existing skill, most first; the names joined after grouping.
const RUNS_BY_SKILL = `select g.skill_id, s.name, g.runs
  from (
    select e.skill_id, count(*)::int as runs from public.skill_executions e
    where ${IN_WINDOW} and e.skill_id is not null group by e.skill_id
  ) g join public.skills s on s.id = g.skill_id
  order by g.runs desc, g.skill_id
  limit ${TOP_RUN_SKILLS}`;

/** The frontend's SkillStatsResponse over the last 7, 30 or 90 UTC days (today included), of one skill or all. */
export async function analytics(
  tx: RequestTransaction,
  organizationId: string,
  query: RequestQuery<'getExecutionAnalytics'>,
  now: Date,
): Promise<Analytics> {
  const period: Period = query.period ?? '30d';
  const window = dayWindow({}, now, PERIOD_DAYS[period]);
  const params = windowParams(organizationId, window.from, window, query.skillId);
  const totals = (await tx.query<OverviewRow>(OVERVIEW_TOTALS, params.slice(0, 4))).rows[0]!;
  const days = await tx.query<{ date: string; count: number; success_count: number; failure_count: number; tokens: number; cost_cents: string }>(
    perDay(`count(*)::int as count,
      count(*) filter (where e.status = 'completed')::int as success_count,
      count(*) filter (where e.status = 'failed')::int as failure_count,
      coalesce(sum(e.tokens_used), 0)::bigint as tokens,
      ${COST} as cost_cents`),
    params,
  );
  const skills = await tx.query<{ skill_id: string; name: string; runs: number }>(RUNS_BY_SKILL, params.slice(0, 4));
  const decided = totals.completed + totals.failed;
  return {
    period,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    overview: {
      totalRuns: totals.total,
      successRate: decided === 0 ? 0 : Math.round((totals.completed / decided) * 100),
      avgTokens: totals.total === 0 ? 0 : Math.round(totals.tokens_used / totals.total),
      avgDurationMs: totals.avg_duration_ms,
      totalCostCents: centsNumber(totals.cost_cents),
      totalCostCentsExact: totals.cost_cents,
    },
    executionsOverTime: days.rows.map((day) => ({
      date: day.date,
      count: day.count,
      successCount: day.success_count,
      failureCount: day.failure_count,
      tokens: day.tokens,
      costCents: centsNumber(day.cost_cents),
      costCentsExact: day.cost_cents,
    })),
    executionsByType: byType(totals),
    executionsByStatus: byStatus(totals),
    skillBreakdown: skills.rows.map((row) => ({ skillId: row.skill_id, name: row.name, runs: row.runs })),
  };
}
