import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { skillRunDuration, skillRuns, type RunOutcome } from '../observability/metrics';
import { liveOutput } from './live-output';
import { afterFailure, type RetryPolicy } from './retry';
import type { RunResult, SkillRunner } from './runner';
import { runnableSkill, SKILLS_BY_IDS, type SkillRow } from './sql';
import { CLAIM_EXECUTION, FINISH_EXECUTION, HAND_BACK_EXECUTION, NO_LONGER_RUNNING, RECOVER_STALE_EXECUTIONS, RETRY_EXECUTION } from './worker-sql';

export interface ExecutionWorkerOptions {
  pool: pg.Pool;
  statementTimeoutMs: number;
  runner: SkillRunner;
  /** The runner's kind (SKILL_RUNNER), as the run metrics name it. */
  runnerKind?: string;
  /** Executions run at once: each slot takes the next one as soon as it is free. */
  concurrency: number;
  /** A running execution older than this is taken to have lost its worker: queued again while attempts remain, else failed. */
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
  /** Retries of transient failures (default DEFAULT_RETRY_POLICY). */
  retry?: RetryPolicy;
  /** Where failures to record an outcome go (the execution is then recovered as stale later). */
  log?: (line: string) => void;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 5000, maxDelayMs: 300_000 };

const CANCEL_CHECK_MS = 1000;
const MAX_MESSAGE = 2000;

/** The abort reason of runs interrupted because this worker stops: they are handed back, not failed. */
const SHUTDOWN = new Error('the worker is shutting down');

interface Claimed {
  id: string;
  skill_id: string | null;
  input: Record<string, unknown>;
  /** This attempt's number, from 1. */
  attempts: number;
  skill?: SkillRow;
}

function failure(code: string, message: string): RunResult {
  return { ok: false, code, message, durationMs: 0 };
}

/**
 * `concurrency` slots over the execution queue. Each free slot claims one
 * execution (fairly across organizations, app.claim_execution) and runs it
 * outside any transaction; the slot is free again the moment its run is
 * recorded, so a slow run holds one slot and never the others.
 */
export class ExecutionSlots {
  /** Executions claimed in all. */
  claimed = 0;
  /** Results dropped because the execution had been cancelled meanwhile. */
  dropped = 0;
  private readonly runs = new Set<Promise<void>>();
  private readonly inFlight = new Map<string, AbortController>();
  private waiters: (() => void)[] = [];
  private stopping = false;
  private filling: Promise<number> | undefined;
  private watcher: Promise<void> | undefined;
  private wakeWatcher: () => void = () => undefined;
  private readonly retry: RetryPolicy;
  private readonly log: (line: string) => void;

  constructor(private readonly options: ExecutionWorkerOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.log = options.log ?? ((line) => console.error(line));
  }

  /** Runs in progress. */
  get busy(): number {
    return this.runs.size;
  }

  get full(): boolean {
    return this.runs.size >= this.options.concurrency;
  }

  /**
   * Recovers runs of lost workers, then claims for every free slot until all
   * are busy, nothing is due, or `limit` were claimed; how many it claimed.
   */
  fill(limit = Infinity): Promise<number> {
    this.filling ??= this.claimForFreeSlots(limit).finally(() => (this.filling = undefined));
    return this.filling;
  }

  /** Resolves when a slot is free (at once if one is), or when the worker stops. */
  slotFreed(): Promise<void> {
    if (!this.full || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Waits until every run in progress has ended and been recorded. */
  async idle(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
  }

  /** Ends the cancel checks once nothing runs (a one-off pass). */
  async close(): Promise<void> {
    await this.idle();
    this.wakeWatcher();
    await this.watcher;
  }

  /**
   * Shutdown: claims nothing more, aborts the runner calls in progress and
   * hands their executions back to the queue (the attempt not counted), so
   * another worker runs them instead of this one waiting out a long call.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const controller of this.inFlight.values()) controller.abort(SHUTDOWN);
    this.releaseWaiters();
    await this.filling?.catch(() => undefined);
    await this.close();
  }

  private async claimForFreeSlots(limit: number): Promise<number> {
    const { pool, statementTimeoutMs } = this.options;
    const scope = this.options.organizationIds ?? null;
    await withServiceTransaction(pool, statementTimeoutMs, (tx) =>
      tx.query(RECOVER_STALE_EXECUTIONS, [this.options.staleAfterMs, scope, this.retry.maxAttempts]),
    );
    let claimed = 0;
    while (!this.stopping && !this.full && claimed < limit) {
      const execution = await withServiceTransaction(pool, statementTimeoutMs, async (tx): Promise<Claimed | undefined> => {
        const row = (await tx.query<Omit<Claimed, 'skill'>>(CLAIM_EXECUTION, [scope])).rows[0];
        if (!row) return undefined;
        const skill = row.skill_id ? (await tx.query<SkillRow>(SKILLS_BY_IDS, [[row.skill_id]])).rows[0] : undefined;
        return { ...row, skill };
      });
      if (!execution) break;
      claimed += 1;
      this.claimed += 1;
      this.start(execution);
    }
    return claimed;
  }

  private start(execution: Claimed): void {
    const controller = new AbortController();
    // Claimed while the worker began to stop: it goes back untouched.
    if (this.stopping) controller.abort(SHUTDOWN);
    else this.inFlight.set(execution.id, controller);
    const run: Promise<void> = this.run(execution, controller)
      .catch((error: unknown) => {
        this.log(`executions: could not record the outcome of ${execution.id}: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.inFlight.delete(execution.id);
        this.runs.delete(run);
        this.releaseWaiters();
      });
    this.runs.add(run);
    this.watchForCancels();
  }

  private async run(execution: Claimed, controller: AbortController): Promise<void> {
    const { pool, statementTimeoutMs } = this.options;
    let result: RunResult;
    if (controller.signal.aborted) result = failure('cancelled', 'The worker stopped before the execution ran.');
    else if (!execution.skill) result = failure('skill_deleted', 'The skill was deleted before the execution ran.');
    else if (!execution.skill.is_active) result = failure('skill_inactive', 'The skill was deactivated before the execution ran.');
    else {
      // Streamed text shows in the execution while the model works; the last write lands before the result.
      const live = liveOutput(pool, statementTimeoutMs, execution.id, this.options.outputWriteMs);
      const started = process.hrtime.bigint();
      try {
        result = await this.options.runner.run(runnableSkill(execution.skill), execution.input, { signal: controller.signal, onOutput: live.push });
      } catch (error) {
        // Runners report failures as results; anything thrown is a bug, recorded rather than lost.
        result = failure('runner_error', error instanceof Error ? error.message : String(error));
      } finally {
        await live.close();
      }
      const outcome: RunOutcome = result.ok ? 'completed' : result.code === 'runner_timeout' ? 'timeout' : 'failed';
      const labels = { runner: this.options.runnerKind ?? 'unknown', outcome };
      skillRunDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      skillRuns.inc(labels);
    }
    this.inFlight.delete(execution.id);

    const handedBack = controller.signal.aborted && controller.signal.reason === SHUTDOWN && !result.ok;
    const next = result.ok || handedBack ? undefined : afterFailure(result.code, execution.attempts, this.retry);
    const recorded = await withServiceTransaction(pool, statementTimeoutMs, async (tx) => {
      if (handedBack) return (await tx.query(HAND_BACK_EXECUTION, [execution.id])).rowCount === 1;
      if (next?.retry) return (await tx.query(RETRY_EXECUTION, [execution.id, next.delayMs])).rowCount === 1;
      const params = result.ok
        ? [execution.id, 'completed', JSON.stringify(result.output), result.promptTokens, result.completionTokens, result.costCents, result.durationMs, null, null]
        : [execution.id, 'failed', null, 0, 0, '0', result.durationMs, result.code.slice(0, 100), result.message.slice(0, MAX_MESSAGE)];
      return (await tx.query(FINISH_EXECUTION, params)).rowCount === 1;
    });
    if (!recorded) this.dropped += 1;
  }

  private releaseWaiters(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  /**
   * Every `cancelCheckMs` while anything runs here, one query over those
   * executions; a run whose execution is no longer running (cancelled) has
   * its runner call aborted, saving the model's time and spend. The guarded
   * write of its result would drop it anyway.
   */
  private watchForCancels(): void {
    if (this.watcher) return;
    const every = this.options.cancelCheckMs ?? CANCEL_CHECK_MS;
    this.watcher = (async () => {
      while (this.inFlight.size > 0 && !this.stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, every);
          this.wakeWatcher = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (this.inFlight.size === 0 || this.stopping) break;
        try {
          const ended = await withServiceTransaction(this.options.pool, this.options.statementTimeoutMs, (tx) =>
            tx.query<{ id: string }>(NO_LONGER_RUNNING, [[...this.inFlight.keys()]]),
          );
          for (const { id } of ended.rows) this.inFlight.get(id)?.abort();
        } catch {
          // A missed check only means the result is dropped later instead of the call being cut short.
        }
      }
    })().finally(() => {
      this.watcher = undefined;
      this.wakeWatcher = () => undefined;
      // A run that started while this check was ending needs a check of its own.
      if (this.inFlight.size > 0 && !this.stopping) this.watchForCancels();
    });
  }
}

export interface PassResult {
  claimed: number;
  /** Results dropped because the execution had been cancelled meanwhile. */
  dropped: number;
}

/** One pass: claims up to `concurrency` executions, one a slot, and waits for those runs (scripts and tests drive the worker with it). */
export async function runPendingExecutions(options: ExecutionWorkerOptions): Promise<PassResult> {
  const slots = new ExecutionSlots(options);
  try {
    await slots.fill(options.concurrency);
  } finally {
    await slots.close();
  }
  return { claimed: slots.claimed, dropped: slots.dropped };
}

/**
 * The `executions` background loop. A pass fills the free slots; while all
 * are busy it waits for the first to free up and goes again at once, so the
 * next execution starts the moment any run ends. With slots to spare, the
 * queue is empty (or nothing is due yet): the loop pauses until its interval
 * or a wake-up.
 */
export function executionWorkerTask(options: ExecutionWorkerOptions & { intervalMs: number }): BackgroundTask {
  const slots = new ExecutionSlots(options);
  return {
    name: 'executions',
    intervalMs: options.intervalMs,
    tick: async () => {
      await slots.fill();
      if (!slots.full) return false;
      await slots.slotFreed();
      return true;
    },
    stop: () => slots.stop(),
  };
}
