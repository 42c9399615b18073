import { ApiCallLeases } from '../db/api-call-leases';
import type pg from 'pg';
import { createApiKeyUsage, type ApiKeyUsage } from '../api-keys/usage';
import { storeEvents } from '../analytics/operations';
import { createAnalyticsQueue, DEFAULT_QUEUE_SIZES, type AnalyticsQueue } from '../analytics/queue';
import { analyticsRetentionTask } from '../analytics/retention';
import { auditRetentionTask } from '../audit/retention';
import { billingPeriodsTask } from '../billing/background';
import type { Config } from '../config';
import { secretBoxOf, type SecretBox } from '../db/secret-box';
import { digestTask } from '../mail/digests';
import { mailSenderTask } from '../mail/sender';
import { createMailTransport, type MailTransport } from '../mail/transport';
import { idempotencyPurgeTask } from '../idempotency/purge';
import { activityRetentionTask } from '../live/retention';
import { executionWorkerTask } from '../skills/worker';
import { schedulerTask } from '../habits/scheduler';
import { createSkillRunner } from '../skills/runner';
import { lineLogger, type Logger } from '../observability/logger';
import { webhookDeliveries } from '../observability/metrics';
import { startLoop, type BackgroundTask, type RunningLoop } from './loop';
import { webhookDeliveryRetentionTask, webhookDeliveryTask, type DeliveryAttempt } from '../webhooks/delivery';
import { outboundWebhookSettings } from '../webhooks/settings';

export interface BackgroundDeps {
  pool: pg.Pool;
  config: Config;
  /** The process's logger: each loop and queue logs through a child of it that names it. */
  logger: Logger;
  /**
   * Opens sealed secrets: outbound webhooks' signing secrets and the invitation
   * tokens queued mail carries; the configured box (secretBoxOf) when absent.
   */
  secrets?: SecretBox;
  /** Called after each outbound webhook attempt is recorded (where a deliveries metric can count them). */
  onWebhookAttempt?: (attempt: DeliveryAttempt) => void;
  /** Where mail goes; built from the config (SMTP_URL, else the local outbox directory) when absent. */
  mailTransport?: MailTransport;
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
  /**
   * Ends the loops only: executions running here are handed back to the
   * queue at once. A shutdown calls it as the drain starts; stop() (which
   * does it too) then writes what the requests left.
   */
  stopLoops?(): Promise<void>;
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
  tasks.push(
    activityRetentionTask({ pool: deps.pool, statementTimeoutMs: deps.config.statementTimeoutMs, retentionDays: deps.config.activityEventsRetentionDays }),
  );
  tasks.push(idempotencyPurgeTask({ pool: deps.pool, statementTimeoutMs: deps.config.statementTimeoutMs }));
  tasks.push(
    executionWorkerTask({
      pool: deps.pool,
      statementTimeoutMs: deps.config.statementTimeoutMs,
      runner: createSkillRunner(deps.config),
      runnerKind: deps.config.skillRunner,
      concurrency: deps.config.executionWorkerConcurrency,
      retry: {
        maxAttempts: deps.config.executionMaxAttempts,
        baseDelayMs: deps.config.executionRetryDelayMs,
        maxDelayMs: Math.max(deps.config.executionRetryDelayMs, 300_000),
      },
      log: loopLog(deps, 'executions'),
      intervalMs: deps.config.executionWorkerIntervalMs,
      // Well past the runner's own limit, so only a worker that died leaves one this old (queued again while attempts remain).
      staleAfterMs: deps.config.skillRunnerTimeoutMs * 2 + 60_000,
    }),
  );
  const secrets = sealedSecrets(deps);
  if (secrets) {
    tasks.push(
      webhookDeliveryTask({
        pool: deps.pool,
        statementTimeoutMs: deps.config.statementTimeoutMs,
        secrets,
        settings: outboundWebhookSettings(deps.config),
        concurrency: deps.config.outboundWebhooks.concurrency,
        intervalMs: deps.config.outboundWebhooks.intervalMs,
        onAttempt: (attempt) => {
          webhookDeliveries.inc({ outcome: attempt.outcome === 'success' ? 'delivered' : attempt.outcome === 'retry' ? 'failed' : 'gave_up' });
          deps.onWebhookAttempt?.(attempt);
        },
        log: loopLog(deps, 'webhooks'),
      }),
    );
  }
  tasks.push(webhookDeliveryRetentionTask({ pool: deps.pool, statementTimeoutMs: deps.config.statementTimeoutMs }));
  if (secrets) {
    tasks.push(
      mailSenderTask({
        pool: deps.pool,
        statementTimeoutMs: deps.config.statementTimeoutMs,
        transport: deps.mailTransport ?? createMailTransport(deps.config.mail),
        secrets,
        webAppUrl: deps.config.billing.webAppUrl,
        maxAttempts: deps.config.mail.maxAttempts,
        intervalMs: deps.config.mail.intervalMs,
        log: loopLog(deps, 'mail'),
      }),
    );
  }
  tasks.push(
    digestTask({
      pool: deps.pool,
      statementTimeoutMs: deps.config.statementTimeoutMs,
      intervalMs: Math.max(deps.config.mail.intervalMs, 60_000),
      onQueued: () => wake('mail'),
    }),
  );
  return tasks;
}

/** What a loop reports about its items (a run retried, a delivery failed), under the loop's name. */
function loopLog(deps: BackgroundDeps, loop: string): (line: string) => void {
  return lineLogger(deps.logger.child({ loop }), 'warn');
}

/**
 * The box that opens sealed secrets (outbound webhooks' signing secrets, the
 * invitation tokens in queued mail): the one given, else the configured one.
 * Without a key (DATABASE_URL and no SECRETS_ENCRYPTION_KEYS) this process
 * neither delivers webhooks nor sends mail, and says so; the other loops run,
 * and another process with the key does both.
 */
function sealedSecrets(deps: BackgroundDeps): SecretBox | undefined {
  if (deps.secrets) return deps.secrets;
  try {
    return secretBoxOf(deps.config);
  } catch (error) {
    deps.logger.warn(`webhooks, mail: not delivering outbound webhooks nor sending mail here: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
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
  let loopsStopped: Promise<void> | undefined;
  const stopLoops = () => (loopsStopped ??= Promise.all(loops.map((loop) => loop.stop())).then(() => undefined));
  return {
    wake,
    analytics,
    apiKeyUsage,
    apiCallLeases,
    stopLoops,
    async stop() {
      await stopLoops();
      await Promise.all([analytics.close(), apiKeyUsage.close(), apiCallLeases.returnUnused()]);
    },
  };
}

/** For apps built without background work (tests that drive the tasks themselves). */
export const NO_BACKGROUND_WORK: BackgroundWork = { wake: () => undefined, stop: async () => undefined };
