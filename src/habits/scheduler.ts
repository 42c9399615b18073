import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { unlessQuotaRefuses } from '../billing/quotas/refusal';
import { withServiceTransaction, type RequestTransaction } from '../db/transaction';
import { nextRunAfter } from './cron';

export interface SchedulerOptions {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Due habits one pass claims at most. */
  batchSize: number;
  intervalMs: number;
  /** Called after a pass queued executions (wakes the execution worker). */
  onQueued?: () => void;
}

export interface SchedulerPass {
  /** Habits claimed in this pass. */
  claimed: number;
  /** Executions queued (claimed habits whose skill is active). */
  queued: number;
  /** Claimed habits skipped because their skill is inactive (their next run still moved on). */
  skipped: number;
  /** Claimed habits whose run the organization's plan refused (daily oracle queries used up). */
  refused: number;
}

interface DueHabit {
  id: string;
  organization_id: string;
  skill_id: string;
  user_id: string | null;
  schedule_cron: string;
  timezone: string;
  config: Record<string, unknown>;
  skill_is_active: boolean;
  now: Date;
}

// Due habits across every organization, soonest first. SKIP LOCKED lets any
// number of scheduler instances share the queue: a habit another instance is
// working on is passed over, and once that instance commits the habit's next
// run lies in the future, so the locking re-check drops it. `now` is the
// database's clock, the same one the due test used.
// The locking read itself returns the columns, so they are the row version
// that passed the re-check, never an older one from the statement's snapshot.
const CLAIM_DUE_HABITS = `
  with due as (
    select h.id, h.organization_id, h.skill_id, h.user_id, h.schedule_cron, h.timezone, h.config, h.next_run_at
    from public.habits h
    where h.is_active and h.next_run_at <= now()
    order by h.next_run_at, h.id
    limit $1
    for update of h skip locked
  )
  select due.id, due.organization_id, due.skill_id, due.user_id, due.schedule_cron, due.timezone, due.config,
         s.is_active as skill_is_active, now() as now
  from due
  join public.skills s on s.id = due.skill_id and s.organization_id = due.organization_id
  order by due.next_run_at, due.id`;

// One statement for the whole batch: each habit's next run. A schedule that
// cannot run again (only possible for rows written past the API, whose checks
// the database cannot repeat) deactivates its habit with a message saying why,
// instead of failing the pass for every other habit.
const ADVANCE_HABITS = `
  update public.habits h
  set next_run_at = advanced.next_run_at,
      is_active = advanced.next_run_at is not null,
      last_error_message = case when advanced.next_run_at is null
        then 'The schedule or time zone cannot produce another run; the habit was deactivated.'
        else h.last_error_message end
  from unnest($1::uuid[], $2::timestamptz[]) as advanced(id, next_run_at)
  where h.id = advanced.id`;

// One execution per due habit with an active skill, as the habit's owner and
// with its config as input. The count_habit_run trigger bumps run_count and
// last_run_at in the same transaction; the quota trigger may refuse it.
const QUEUE_EXECUTIONS = `
  insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, input)
  select h.organization_id, h.skill_id, h.user_id, 'habit', h.id, h.config
  from public.habits h
  where h.id = any($1::uuid[])`;

// A run the plan refused: the slot is skipped (not a failure of the habit),
// and the habit says why.
const NOTE_REFUSED_RUNS = `
  update public.habits h set last_error_message = refused.message
  from unnest($1::uuid[], $2::text[]) as refused(id, message)
  where h.id = refused.id`;

/**
 * Queues the runs; an organization whose daily oracle queries are used up must
 * not stop everyone else's. The whole batch goes in one statement; only when
 * the plan refuses some run is it retried habit by habit, each behind its own
 * savepoint, and the refused habits are reported with the plan's message.
 */
async function queueRuns(tx: RequestTransaction, habitIds: string[]): Promise<{ queued: string[]; refused: Map<string, string> }> {
  const refused = new Map<string, string>();
  if (habitIds.length === 0) return { queued: [], refused };
  const whole = await unlessQuotaRefuses(tx, () => tx.query(QUEUE_EXECUTIONS, [habitIds]));
  if (!whole.refused) return { queued: habitIds, refused };
  const queued: string[] = [];
  for (const id of habitIds) {
    const one = await unlessQuotaRefuses(tx, () => tx.query(QUEUE_EXECUTIONS, [[id]]));
    if (one.refused) refused.set(id, one.reason);
    else queued.push(id);
  }
  return { queued, refused };
}

/**
 * One scheduler pass: claims up to `batchSize` due habits, queues one
 * execution for each, and moves each habit's next run to its first slot after
 * now. Slots missed while no scheduler ran are not made up: after downtime a
 * habit runs once, then continues on schedule. A habit whose skill is
 * inactive is skipped for this slot (no execution, no failure) and moves on
 * like the others, so it resumes by itself once the skill is active again.
 */
export async function runSchedulerPass(
  pool: pg.Pool,
  statementTimeoutMs: number,
  batchSize: number,
): Promise<SchedulerPass> {
  const pass = async (tx: RequestTransaction): Promise<SchedulerPass> => {
    const due = (await tx.query<Omit<DueHabit, 'now'> & { now: string }>(CLAIM_DUE_HABITS, [batchSize])).rows;
    if (due.length === 0) return { claimed: 0, queued: 0, skipped: 0, refused: 0 };

    const ids: string[] = [];
    const nextRuns: Array<string | null> = [];
    const runnable: string[] = [];
    for (const habit of due) {
      ids.push(habit.id);
      nextRuns.push(nextRunAfter(habit.schedule_cron, habit.timezone, new Date(habit.now))?.toISOString() ?? null);
      if (habit.skill_is_active) runnable.push(habit.id);
    }
    // Executions first: the run trigger stamps last_run_at from the execution's creation time.
    const { queued, refused } = await queueRuns(tx, runnable);
    await tx.query(ADVANCE_HABITS, [ids, nextRuns]);
    if (refused.size > 0) await tx.query(NOTE_REFUSED_RUNS, [[...refused.keys()], [...refused.values()]]);
    return { claimed: due.length, queued: queued.length, skipped: due.length - runnable.length, refused: refused.size };
  };
  return withServiceTransaction(pool, statementTimeoutMs, pass);
}

/** The scheduler as a background loop; a full batch means more may be due, so it goes again at once. */
export function schedulerTask(options: SchedulerOptions): BackgroundTask {
  return {
    name: 'scheduler',
    intervalMs: options.intervalMs,
    async tick() {
      const pass = await runSchedulerPass(options.pool, options.statementTimeoutMs, options.batchSize);
      if (pass.queued > 0) options.onQueued?.();
      return pass.claimed === options.batchSize;
    },
  };
}
