import type { components, operations } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import { EXECUTION_COLUMNS, type ExecutionStatusCounts } from '../executions/sql';

export type Habit = components['schemas']['Habit'];
export type HabitStats = components['schemas']['HabitStats'];
export type UpcomingHabitRun = components['schemas']['UpcomingHabitRun'];
export type OrganizationHabitStats = components['schemas']['OrganizationHabitStats'];
export type HabitRunNow = components['schemas']['HabitRunNow'];
type SkillCategory = components['schemas']['SkillCategory'];
type SkillOutputFormat = components['schemas']['SkillOutputFormat'];

export interface HabitRow {
  id: string;
  organization_id: string;
  skill_id: string;
  user_id: string | null;
  schedule_cron: string;
  schedule_description: string | null;
  timezone: string;
  last_run_at: string | null;
  next_run_at: string | null;
  run_count: number;
  is_active: boolean;
  config: Record<string, unknown>;
  consecutive_failures: number;
  last_error_message: string | null;
  created_at: string;
  updated_at: string;
  skill_name: string;
  skill_category: SkillCategory;
  skill_output_format: SkillOutputFormat;
  skill_is_active: boolean;
}

const HABIT_FIELDS = `h.id, h.organization_id, h.skill_id, h.user_id, h.schedule_cron, h.schedule_description, h.timezone,
  h.last_run_at, h.next_run_at, h.run_count, h.is_active, h.config, h.consecutive_failures, h.last_error_message,
  h.created_at, h.updated_at`;

/** A habit and the summary of its skill; the skill is in the same organization by the foreign key. */
export const HABIT_COLUMNS = `${HABIT_FIELDS},
  s.name as skill_name, s.category as skill_category, s.output_format as skill_output_format, s.is_active as skill_is_active`;
export const HABIT_FROM = 'public.habits h join public.skills s on s.id = h.skill_id and s.organization_id = h.organization_id';

export function toHabit(row: HabitRow): Habit {
  return {
    id: row.id,
    organizationId: row.organization_id,
    skillId: row.skill_id,
    userId: row.user_id,
    scheduleCron: row.schedule_cron,
    scheduleDescription: row.schedule_description,
    timezone: row.timezone,
    lastRunAt: row.last_run_at,
    nextRunAt: row.next_run_at,
    runCount: row.run_count,
    isActive: row.is_active,
    config: row.config,
    consecutiveFailures: row.consecutive_failures,
    lastErrorMessage: row.last_error_message,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    skill: {
      id: row.skill_id,
      name: row.skill_name,
      category: row.skill_category,
      outputFormat: row.skill_output_format,
      isActive: row.skill_is_active,
    },
  };
}

/** One habit the caller can see (row level security scopes it to the selected organization). */
export const HABIT_BY_ID = `select ${HABIT_COLUMNS} from ${HABIT_FROM} where h.id = $1`;

/** The same, locked for a change in this transaction. */
export const HABIT_BY_ID_FOR_UPDATE = `${HABIT_BY_ID} for update of h`;

/**
 * A change made through `update ... returning` re-reads the habit with its
 * skill, so every answer has the same shape. $1 is the habit id.
 */
export function updateHabitSql(assignments: string[]): string {
  return `with changed as (
      update public.habits h set ${assignments.join(', ')} where h.id = $1 returning h.*
    )
    select ${HABIT_COLUMNS} from changed h
    join public.skills s on s.id = h.skill_id and s.organization_id = h.organization_id`;
}

export const DELETE_HABIT = 'delete from public.habits h where h.id = $1';

/** Whether the caller's organization has this skill (row level security hides every other). */
export const SKILL_EXISTS = 'select 1 from public.skills s where s.id = $1';

export const HABIT_SORTS: Record<string, string> = {
  createdAt: 'h.created_at asc, h.id asc',
  '-createdAt': 'h.created_at desc, h.id desc',
  // Default null placement (last ascending, first descending) lets habits_organization_next_run_idx serve both.
  nextRunAt: 'h.next_run_at asc, h.id asc',
  '-nextRunAt': 'h.next_run_at desc, h.id desc',
};

type ListQuery = NonNullable<operations['listHabits']['parameters']['query']>;

/** `h.organization_id = $1` leads so the organization's indexes drive the scan ahead of row level security. */
export function habitListQuery(organizationId: string, filters: ListQuery, page: PageRequest): PageQuery<HabitRow> {
  const params: unknown[] = [organizationId];
  const where = ['h.organization_id = $1'];
  if (filters.skillId !== undefined) {
    params.push(filters.skillId);
    where.push(`h.skill_id = $${params.length}`);
  }
  if (filters.isActive !== undefined) {
    params.push(filters.isActive);
    where.push(`h.is_active = $${params.length}`);
  }
  return {
    select: HABIT_COLUMNS,
    fromWhere: `${HABIT_FROM} where ${where.join(' and ')}`,
    params,
    orderBy: HABIT_SORTS[filters.sort ?? '-createdAt']!,
    page,
  };
}

export interface UpcomingRow {
  habit_id: string;
  skill_id: string;
  skill_name: string;
  skill_category: SkillCategory;
  skill_is_active: boolean;
  user_id: string | null;
  schedule_cron: string;
  schedule_description: string | null;
  timezone: string;
  next_run_at: string;
  last_run_at: string | null;
}

export function toUpcomingRun(row: UpcomingRow): UpcomingHabitRun {
  return {
    habitId: row.habit_id,
    skillId: row.skill_id,
    skillName: row.skill_name,
    skillCategory: row.skill_category,
    skillIsActive: row.skill_is_active,
    userId: row.user_id,
    scheduleCron: row.schedule_cron,
    scheduleDescription: row.schedule_description,
    timezone: row.timezone,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at,
  };
}

type UpcomingQuery = NonNullable<operations['listUpcomingHabitRuns']['parameters']['query']>;

/** Runs due within the window (overdue ones included: the scheduler has yet to pick them up), soonest first. */
export function upcomingRunsQuery(organizationId: string, filters: UpcomingQuery, page: PageRequest): PageQuery<UpcomingRow> {
  const params: unknown[] = [organizationId, filters.windowHours ?? 24];
  const where = ['u.organization_id = $1', "u.next_run_at <= now() + make_interval(hours => $2)"];
  if (filters.skillId !== undefined) {
    params.push(filters.skillId);
    where.push(`u.skill_id = $${params.length}`);
  }
  return {
    select: `u.habit_id, u.skill_id, u.skill_name, u.skill_category, u.skill_is_active, u.user_id, u.schedule_cron,
      u.schedule_description, u.timezone, u.next_run_at, u.last_run_at`,
    fromWhere: `public.upcoming_habit_runs u where ${where.join(' and ')}`,
    params,
    orderBy: 'u.next_run_at asc, u.habit_id asc',
    page,
  };
}

export interface HabitStatsRow extends ExecutionStatusCounts {
  average_duration_ms: number | null;
}

/** The habit's executions by status, through the history view (served by skill_executions_reference_idx). */
export const HABIT_STATS = `select count(*)::int as total,
    count(*) filter (where x.status = 'pending')::int as pending,
    count(*) filter (where x.status = 'running')::int as running,
    count(*) filter (where x.status = 'completed')::int as completed,
    count(*) filter (where x.status = 'failed')::int as failed,
    count(*) filter (where x.status = 'cancelled')::int as cancelled,
    round(avg(x.duration_ms) filter (where x.status = 'completed'))::int as average_duration_ms
  from public.habit_execution_history x
  where x.habit_id = $1 and x.organization_id = $2`;

export function toHabitStats(habit: HabitRow, row: HabitStatsRow): HabitStats {
  const finished = row.completed + row.failed;
  return {
    habitId: habit.id,
    runCount: habit.run_count,
    executions: {
      total: row.total,
      pending: row.pending,
      running: row.running,
      completed: row.completed,
      failed: row.failed,
      cancelled: row.cancelled,
    },
    successRate: finished === 0 ? null : Math.round((row.completed / finished) * 10000) / 10000,
    averageDurationMs: row.average_duration_ms,
    lastRunAt: habit.last_run_at,
    nextRunAt: habit.next_run_at,
    consecutiveFailures: habit.consecutive_failures,
    lastErrorMessage: habit.last_error_message,
  };
}

/** A run of the habit queued now: $1 organization, $2 skill, $3 user, $4 habit, $5 input. */
export const INSERT_HABIT_EXECUTION = `insert into public.skill_executions as e
    (organization_id, skill_id, user_id, execution_type, reference_id, input)
  values ($1, $2, $3, 'habit', $4, $5)
  returning ${EXECUTION_COLUMNS}`;

export interface HabitTotalsRow {
  total_habits: number;
  active_habits: number;
  total_runs: number;
  failed_habits: number;
}

/** The organization's habits counted in one pass ($1 the organization; its index on organization_id drives it). */
export const ORGANIZATION_HABIT_TOTALS = `select count(*)::int as total_habits,
    count(*) filter (where h.is_active)::int as active_habits,
    coalesce(sum(h.run_count), 0)::bigint as total_runs,
    count(*) filter (where h.consecutive_failures > 0)::int as failed_habits
  from public.habits h
  where h.organization_id = $1`;

export interface SoonestRunRow {
  habit_id: string;
  skill_name: string;
  next_run_at: string;
}

/** The five soonest runs, served by habits_organization_next_run_idx (inactive habits have no next run). */
export const ORGANIZATION_SOONEST_RUNS = `select h.id as habit_id, s.name as skill_name, h.next_run_at
  from ${HABIT_FROM}
  where h.organization_id = $1 and h.next_run_at is not null
  order by h.next_run_at asc, h.id asc
  limit 5`;

export function toOrganizationHabitStats(totals: HabitTotalsRow, soonest: SoonestRunRow[]): OrganizationHabitStats {
  return {
    totalHabits: totals.total_habits,
    activeHabits: totals.active_habits,
    totalRuns: totals.total_runs,
    failedHabits: totals.failed_habits,
    upcomingRuns: soonest.map((row) => ({ habitId: row.habit_id, skillName: row.skill_name, nextRunAt: row.next_run_at })),
  };
}
