import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { liveOutput } from './live-output';
import type { RunResult, SkillRunner } from './runner';
import { runnableSkill, SKILLS_BY_IDS, type SkillRow } from './sql';

export interface ExecutionWorkerOptions {
  pool: pg.Pool;
  statementTimeoutMs: number;
  runner: SkillRunner;
  /** Executions claimed and run at once per pass. */
  concurrency: number;
  /** A running execution older than this is taken to have lost its worker and is failed. */
  staleAfterMs: number;
  /**
   * Only these organizations' executions (a worker dedicated to some tenants,
   * or a test sharing its database with others); every organization when absent.
   */
  organizationIds?: string[];
  /** How often executions being run are checked for a cancel, which aborts their runner call. */
  cancelCheckMs?: number;
  /** How often text a model streams is written to its execution at most (default OUTPUT_WRITE_MS). */
  outputWriteMs?: number;
}

const CANCEL_CHECK_MS = 1000;

interface ClaimedRow {
  id: string;
  skill_id: string | null;
  input: Record<string, unknown>;
}

const MAX_MESSAGE = 2000;

// Oldest pending first; SKIP LOCKED lets several workers take disjoint
// batches, and the update to running commits before anything runs, so a
// claimed execution is never claimed again.
const CLAIM = `with claimed as (
    select e.id from public.skill_executions e
    where e.status = 'pending' and ($2::uuid[] is null or e.organization_id = any($2::uuid[]))
    order by e.created_at, e.id
    limit $1
    for update skip locked
  )
  update public.skill_executions e set status = 'running'
  from claimed where e.id = claimed.id
  returning e.id, e.skill_id, e.input`;

// Only a still-running execution takes its result: a cancel that came while
// the runner worked wins, and the late result is dropped.
const FINISH = `update public.skill_executions e set
    status = $2, output = $3::jsonb, prompt_tokens = $4::int, completion_tokens = $5::int, tokens_used = $4::int + $5::int,
    cost_cents = $6, duration_ms = $7, error_code = $8, error_message = $9
  where e.id = $1 and e.status = 'running'`;

const FAIL_STALE = `update public.skill_executions e
  set status = 'failed', error_code = 'worker_lost',
      error_message = 'The worker running this execution stopped before it finished.'
  where e.status = 'running' and e.executed_at < now() - make_interval(secs => $1::double precision / 1000)
    and ($2::uuid[] is null or e.organization_id = any($2::uuid[]))`;

/** Which of the executions being run here have been cancelled (or otherwise ended) meanwhile. */
const NO_LONGER_RUNNING = `select e.id from public.skill_executions e where e.id = any($1::uuid[]) and e.status <> 'running'`;

function failure(code: string, message: string): RunResult {
  return { ok: false, code, message, durationMs: 0 };
}

export interface PassResult {
  claimed: number;
  /** Results dropped because the execution had been cancelled meanwhile. */
  dropped: number;
}

/** One pass: claim up to `concurrency` pending executions, run them outside any transaction, record each result. */
export async function runPendingExecutions(options: ExecutionWorkerOptions): Promise<PassResult> {
  const { pool, statementTimeoutMs } = options;
  const claimed = await withServiceTransaction(pool, statementTimeoutMs, async (tx) => {
    const scope = options.organizationIds ?? null;
    await tx.query(FAIL_STALE, [options.staleAfterMs, scope]);
    const rows = (await tx.query<ClaimedRow>(CLAIM, [options.concurrency, scope])).rows;
    if (rows.length === 0) return [];
    const skillIds = [...new Set(rows.map((row) => row.skill_id).filter((id): id is string => id !== null))];
    const skills = await tx.query<SkillRow>(SKILLS_BY_IDS, [skillIds]);
    const byId = new Map(skills.rows.map((skill) => [skill.id, skill]));
    return rows.map((row) => ({ ...row, skill: row.skill_id ? byId.get(row.skill_id) : undefined }));
  });

  // Cancels that arrive while runners work abort their calls (saving the
  // model's time and spend); the guarded write below would drop them anyway.
  const inFlight = new Map(claimed.map((execution) => [execution.id, new AbortController()]));
  const watcher = watchForCancels(options, inFlight);

  const outcomes = await Promise.all(
    claimed.map(async (execution) => {
      let result: RunResult;
      if (!execution.skill) result = failure('skill_deleted', 'The skill was deleted before the execution ran.');
      else if (!execution.skill.is_active) result = failure('skill_inactive', 'The skill was deactivated before the execution ran.');
      else {
        // Streamed text shows in the execution while the model works; the last write lands before the result.
        const live = liveOutput(pool, statementTimeoutMs, execution.id, options.outputWriteMs);
        try {
          result = await options.runner.run(runnableSkill(execution.skill), execution.input, {
            signal: inFlight.get(execution.id)!.signal,
            onOutput: live.push,
          });
        } catch (error) {
          // Runners report failures as results; anything thrown is a bug, recorded rather than lost.
          result = failure('runner_error', error instanceof Error ? error.message : String(error));
        } finally {
          await live.close();
        }
      }
      inFlight.delete(execution.id);
      return withServiceTransaction(pool, statementTimeoutMs, async (tx) => {
        const params = result.ok
          ? [execution.id, 'completed', JSON.stringify(result.output), result.promptTokens, result.completionTokens, result.costCents, result.durationMs, null, null]
          : [execution.id, 'failed', null, 0, 0, '0', result.durationMs, result.code.slice(0, 100), result.message.slice(0, MAX_MESSAGE)];
        return (await tx.query(FINISH, params)).rowCount === 1;
      });
    }),
  );
  await watcher.stop();
  return { claimed: claimed.length, dropped: outcomes.filter((recorded) => !recorded).length };
}

/** Every `cancelCheckMs`, one query over the executions still running here; aborts those no longer running. */
function watchForCancels(options: ExecutionWorkerOptions, inFlight: Map<string, AbortController>): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: () => void = () => undefined;
  const every = options.cancelCheckMs ?? CANCEL_CHECK_MS;
  const done = (async () => {
    while (!stopped && inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, every);
      });
      clearTimeout(timer);
      if (stopped || inFlight.size === 0) break;
      try {
        const ended = await withServiceTransaction(options.pool, options.statementTimeoutMs, (tx) =>
          tx.query<{ id: string }>(NO_LONGER_RUNNING, [[...inFlight.keys()]]),
        );
        for (const { id } of ended.rows) inFlight.get(id)?.abort();
      } catch {
        // A missed check only means the result is dropped later instead of the call being cut short.
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await done;
    },
  };
}

/** The `executions` background loop. */
export function executionWorkerTask(options: ExecutionWorkerOptions & { intervalMs: number }): BackgroundTask {
  return {
    name: 'executions',
    intervalMs: options.intervalMs,
    // A full batch means more may be waiting: go again at once.
    tick: async () => (await runPendingExecutions(options)).claimed === options.concurrency,
  };
}
