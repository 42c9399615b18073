import { asServiceRole, requireOrganization, requireUser, type RequestTransaction } from '../db/transaction';
import { toExecution, type ExecutionRow } from '../executions/sql';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery } from '../http/route';
import { problems } from '../problems';
import { describeCron } from './cron';
import { insertHabit, nextRunFor, validateHabitDefinition, type ValidHabitDefinition } from './definition';
import {
  DELETE_HABIT,
  HABIT_BY_ID,
  HABIT_BY_ID_FOR_UPDATE,
  HABIT_STATS,
  habitListQuery,
  INSERT_HABIT_EXECUTION,
  ORGANIZATION_HABIT_TOTALS,
  ORGANIZATION_SOONEST_RUNS,
  SKILL_EXISTS,
  toHabit,
  toHabitStats,
  toOrganizationHabitStats,
  toUpcomingRun,
  updateHabitSql,
  upcomingRunsQuery,
  type Habit,
  type HabitRow,
  type HabitRunNow,
  type HabitStats,
  type HabitStatsRow,
  type HabitTotalsRow,
  type OrganizationHabitStats,
  type SoonestRunRow,
  type UpcomingHabitRun,
} from './sql';

// Each operation of /habits: given the request transaction and the request's
// parts (typed from the contract), it checks, stores and answers.

type ListQuery = RequestQuery<'listHabits'>;
type UpcomingQuery = RequestQuery<'listUpcomingHabitRuns'>;
type CreateBody = RequestBody<'createHabit'>;
type UpdateBody = RequestBody<'updateHabit'>;

const NOT_FOUND = 'There is no such habit in this organization.';
const FORBIDDEN = 'Only the owner of this habit and the organization owners and admins may change it.';
const SKILL_NOT_FOUND = 'There is no such skill in this organization.';

async function loadHabit(tx: RequestTransaction, habitId: string): Promise<HabitRow> {
  requireOrganization(tx);
  const found = await tx.query<HabitRow>(HABIT_BY_ID, [habitId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return found.rows[0]!;
}

/**
 * The habit, locked for a change: the scheduler may be advancing it right now,
 * and a change computed from a stale next run could make it run twice. Row
 * level security applies the update policy to a locking read, so a habit the
 * caller sees but cannot lock is one they may not change (403, not 404).
 */
async function loadHabitForChange(tx: RequestTransaction, habitId: string): Promise<HabitRow> {
  await loadHabit(tx, habitId);
  const locked = await tx.query<HabitRow>(HABIT_BY_ID_FOR_UPDATE, [habitId]);
  if (locked.rowCount === 0) throw problems.forbidden(FORBIDDEN);
  return locked.rows[0]!;
}

/**
 * Applies a change to a habit the caller can see; row level security lets
 * only its owner and the organization's owners and admins through, so "no
 * row changed" after a successful load means forbidden.
 */
async function changeHabit(tx: RequestTransaction, habitId: string, assignments: string[], values: unknown[]): Promise<Habit> {
  const updated = await tx.query<HabitRow>(updateHabitSql(assignments), [habitId, ...values]);
  if (updated.rowCount === 0) throw problems.forbidden(FORBIDDEN);
  return toHabit(updated.rows[0]!);
}

/** The skill a habit is to run: 422 with a field error when the caller's organization has no such skill. */
async function requireSkill(tx: RequestTransaction, skillId: string): Promise<void> {
  const skill = await tx.query(SKILL_EXISTS, [skillId]);
  if (skill.rowCount === 0) throw problems.unprocessable(SKILL_NOT_FOUND, [{ path: '/body/skillId', message: SKILL_NOT_FOUND }]);
}

export function listHabits(tx: RequestTransaction, query: ListQuery): Promise<Page<Habit>> {
  return paginate(tx, habitListQuery(requireOrganization(tx), query, pageRequest(query)), toHabit);
}

export function listUpcomingRuns(tx: RequestTransaction, query: UpcomingQuery): Promise<Page<UpcomingHabitRun>> {
  return paginate(tx, upcomingRunsQuery(requireOrganization(tx), query, pageRequest(query)), toUpcomingRun);
}

/** Checked before any SQL: a bad schedule or time zone is the caller's 400, whatever else holds. */
export function checkNewHabit(body: CreateBody): ValidHabitDefinition {
  const { errors, definition } = validateHabitDefinition(body);
  if (!definition) throw problems.validation('The habit definition is not valid.', errors);
  return definition;
}

export async function createHabit(tx: RequestTransaction, body: CreateBody, definition: ValidHabitDefinition): Promise<Habit> {
  const organizationId = requireOrganization(tx);
  const userId = requireUser(tx);
  await requireSkill(tx, body.skillId);
  return toHabit(await insertHabit(tx, { organizationId, userId, skillId: body.skillId, definition }));
}

export async function getHabit(tx: RequestTransaction, habitId: string): Promise<Habit> {
  return toHabit(await loadHabit(tx, habitId));
}

export async function updateHabit(tx: RequestTransaction, habitId: string, body: UpdateBody): Promise<Habit> {
  const current = await loadHabitForChange(tx, habitId);
  // The whole definition after the change is checked, so the answer names every bad field.
  const { errors, definition } = validateHabitDefinition({
    scheduleCron: body.scheduleCron ?? current.schedule_cron,
    timezone: body.timezone ?? current.timezone,
    scheduleDescription: body.scheduleDescription !== undefined ? body.scheduleDescription : current.schedule_description,
    config: body.config ?? current.config,
    isActive: body.isActive ?? current.is_active,
  });
  if (!definition) throw problems.validation('The habit definition is not valid.', errors);
  if (body.skillId !== undefined) await requireSkill(tx, body.skillId);

  const scheduleChanged = definition.scheduleCron !== current.schedule_cron || definition.timezone !== current.timezone;
  // A new schedule without new words gets a new generated description (the old one would describe the old schedule).
  if (scheduleChanged && body.scheduleDescription === undefined) {
    definition.scheduleDescription = describeCron(definition.scheduleCron, definition.timezone);
  }
  const activating = definition.isActive && !current.is_active;
  const nextRunAt = !definition.isActive ? null : scheduleChanged || activating ? nextRunFor(definition, new Date()) : current.next_run_at;
  return changeHabit(
    tx,
    current.id,
    ['skill_id = $2', 'schedule_cron = $3', 'schedule_description = $4', 'timezone = $5', 'config = $6', 'is_active = $7', 'next_run_at = $8'],
    [
      body.skillId ?? current.skill_id,
      definition.scheduleCron,
      definition.scheduleDescription,
      definition.timezone,
      JSON.stringify(definition.config),
      definition.isActive,
      nextRunAt,
    ],
  );
}

export async function deleteHabit(tx: RequestTransaction, habitId: string): Promise<void> {
  await loadHabit(tx, habitId);
  const deleted = await tx.query(DELETE_HABIT, [habitId]);
  if (deleted.rowCount === 0) throw problems.forbidden(FORBIDDEN);
}

export async function activateHabit(tx: RequestTransaction, habitId: string): Promise<Habit> {
  const current = await loadHabitForChange(tx, habitId);
  // Already active: keep the schedule as it is (recomputing could only skip a due run).
  const nextRunAt = current.is_active
    ? current.next_run_at
    : nextRunFor({ scheduleCron: current.schedule_cron, timezone: current.timezone, isActive: true }, new Date());
  return changeHabit(tx, current.id, ['is_active = true', 'next_run_at = $2'], [nextRunAt]);
}

export async function deactivateHabit(tx: RequestTransaction, habitId: string): Promise<Habit> {
  const current = await loadHabitForChange(tx, habitId);
  return changeHabit(tx, current.id, ['is_active = false', 'next_run_at = null'], []);
}

export async function resetHabitErrors(tx: RequestTransaction, habitId: string): Promise<Habit> {
  const current = await loadHabitForChange(tx, habitId);
  return changeHabit(tx, current.id, ['consecutive_failures = 0', 'last_error_message = null'], []);
}

export async function runHabitNow(tx: RequestTransaction, habitId: string): Promise<HabitRunNow> {
  // Not locked: a run now must not wait for (or block) the scheduler.
  const habit = await loadHabit(tx, habitId);
  const userId = requireUser(tx);
  if (!habit.skill_is_active) throw problems.conflict('The skill of this habit is inactive; activate the skill to run it.');
  // A habit run moves the habit's counters, so signed-in users cannot create
  // one themselves (008_least_privilege): the habit was read under row level
  // security above, and the run is written for it as the back office.
  const inserted = await asServiceRole(tx, () =>
    tx.query<ExecutionRow>(INSERT_HABIT_EXECUTION, [habit.organization_id, habit.skill_id, userId, habit.id, JSON.stringify(habit.config)]),
  );
  const execution = toExecution(inserted.rows[0]!);
  return {
    executionId: execution.id,
    // A new run waits for the execution worker: "queued" in the frontend's words, "pending" in the execution's.
    status: execution.status === 'running' ? 'running' : 'queued',
    message: `Habit "${habit.schedule_description ?? habit.schedule_cron}" queued for immediate execution.`,
    execution,
  };
}

export async function habitStats(tx: RequestTransaction, habitId: string): Promise<HabitStats> {
  const habit = await loadHabit(tx, habitId);
  const counted = await tx.query<HabitStatsRow>(HABIT_STATS, [habit.id, habit.organization_id]);
  return toHabitStats(habit, counted.rows[0]!);
}

export async function organizationHabitStats(tx: RequestTransaction): Promise<OrganizationHabitStats> {
  const organizationId = requireOrganization(tx);
  const totals = await tx.query<HabitTotalsRow>(ORGANIZATION_HABIT_TOTALS, [organizationId]);
  const soonest = await tx.query<SoonestRunRow>(ORGANIZATION_SOONEST_RUNS, [organizationId]);
  return toOrganizationHabitStats(totals.rows[0]!, soonest.rows);
}
