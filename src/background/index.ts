import { ApiCallLeases } from '../db/api-call-leases';
import type pg from 'pg';
import { createApiKeyUsage, type ApiKeyUsage } from '../api-keys/usage';
import { storeEvents } from '../analytics/operations';
import { createAnalyticsQueue, DEFAULT_QUEUE_SIZES, type AnalyticsQueue } from '../analytics/queue';
import { analyticsRetentionTask } from '../analytics/retention';
import { auditRetentionTask } from '../audit/retention';
import { billingPeriodsTask } from '../billing/background';
import type { Config } from '../config';
import { idempotencyPurgeTask } from '../idempotency/purge';
import { executionWorkerTask } from '../skills/worker';
import { schedulerTask } from '../habits/scheduler';
import { createSkillRunner } from '../skills/runner';
import { lineLogger, type Logger } from '../observability/logger';
import { startLoop, type BackgroundTask, type RunningLoop } from './loop';

export interface BackgroundDeps {
  pool: pg.Pool;
  config: Config;
  /** The process's logger: each loop and queue logs through a child of it that names it. */
  logger: Logger;
}

/** The loops a server (or `npm run worker`) runs beside the API. */
export interface BackgroundWork {
  /** Runs the named loop's next pass now (no-op when it is not running here). */
  wake(name: string): void;
  /**
   * Product events waiting to be written; this process's API queues into it,
   * and stop() writes what is left (before the pool closes). Absent: the API
   * makes its own.
   */
  analytics?: AnalyticsQueue;
  /** API-key usage counted by this process's API, written every few seconds; stop() writes what is left. */
  apiKeyUsage?: ApiKeyUsage;
  /** The API-call blocks this process's API leased; stop() hands back the calls it never served. */
  apiCallLeases?: ApiCallLeases;
  stop(): Promise<void>;
}

/** Every kind of background work; each domain contributes its task here. */
function backgroundTasks(deps: BackgroundDeps, wake: (name: string) => void): BackgroundTask[] {
  const tasks: BackgroundTask[] = [];
  tasks.push(
    schedulerTask({
      pool: deps.pool,
      statementTimeoutMs: deps.config.statementTimeoutMs,
      batchSize: deps.config.schedulerBatchSize,
      intervalMs: deps.config.schedulerIntervalMs,
      // Habit runs just queued: the execution worker need not wait for its next poll.
      onQueued: () => wake('executions'),
    }),
  );
  tasks.push(billingPeriodsTask(deps.pool, deps.config.statementTimeoutMs));
  tasks.push(
    analyticsRetentionTask({ pool: deps.pool, statementTimeoutMs: deps.config.statementTimeoutMs, retentionDays: deps.config.analyticsRetentionDays }),
  );
  tasks.push(auditRetentionTask({ pool: deps.pool, statementTimeoutMs: deps.config.statementTimeoutMs }));
  tasks.push(idempotencyPurgeTask({ pool: deps.pool, statementTimeoutMs: deps.config.statementTimeoutMs }));
  tasks.push(
    executionWorkerTask({
      pool: deps.pool,
      statementTimeoutMs: deps.config.statementTimeoutMs,
      runner: createSkillRunner(deps.config),
      concurrency: deps.config.executionWorkerConcurrency,
      intervalMs: deps.config.executionWorkerIntervalMs,
      // Well past the runner's own limit, so only a worker that died leaves one this old.
      staleAfterMs: deps.config.skillRunnerTimeoutMs * 2 + 60_000,
    }),
  );
  return tasks;
}

export function startBackgroundWork(deps: BackgroundDeps): BackgroundWork {
  let loops: RunningLoop[] = [];
  // Tasks may wake each other (the scheduler wakes the execution worker), so they get `wake` before the loops exist.
  const wake = (name: string) => loops.find((loop) => loop.name === name)?.wake();
  if (deps.config.backgroundWork) {
    loops = backgroundTasks(deps, wake).map((task) => startLoop(task, lineLogger(deps.logger.child({ loop: task.name }), 'error')));
  }
  // Not a loop: an API-only instance (BACKGROUND_WORK=false) still writes the events its requests accept.
  const analytics = createAnalyticsQueue({
    ...DEFAULT_QUEUE_SIZES,
    store: storeEvents(deps.pool, deps.config.statementTimeoutMs),
    log: lineLogger(deps.logger.child({ component: 'analytics' }), 'error'),
  });
  const apiKeyUsage = createApiKeyUsage({
    pool: deps.pool,
    statementTimeoutMs: deps.config.statementTimeoutMs,
    log: lineLogger(deps.logger.child({ component: 'api-key-usage' }), 'error'),
  });
  const apiCallLeases = new ApiCallLeases(deps.pool, deps.config.statementTimeoutMs);
  return {
    wake,
    analytics,
    apiKeyUsage,
    apiCallLeases,
    async stop() {
      await Promise.all(loops.map((loop) => loop.stop()));
      await Promise.all([analytics.close(), apiKeyUsage.close(), apiCallLeases.returnUnused()]);
    },
  };
}

/** For apps built without background work (tests that drive the tasks themselves). */
export const NO_BACKGROUND_WORK: BackgroundWork = { wake: () => undefined, stop: async () => undefined };
