import type pg from 'pg';
import { retentionTask, type BackgroundTask } from '../background/loop';
import type { SecretBox } from '../db/secret-box';
import { withServiceTransaction } from '../db/transaction';
import { postJson, type PostOutcome } from './post';
import { isSuccess, retryDelayMs, shouldPause, signedHeaders, webhookSecretContext } from './rules';
import type { OutboundWebhookSettings } from './settings';
import {
  CLAIM_DELIVERIES,
  ENDPOINT_FAILED,
  ENDPOINT_SUCCEEDED,
  PAUSE_FAILING_ENDPOINT,
  PURGE_FINISHED_DELIVERIES,
  RECORD_ATTEMPT,
  type ClaimedDelivery,
  type EndpointFailureRow,
} from './sql';

/** The name of the delivery loop: wake it (src/background) when deliveries were just queued. */
export const WEBHOOK_DELIVERY_LOOP = 'webhooks';

/** What one attempt came to, for whoever counts them (metrics). */
export interface DeliveryAttempt {
  organizationId: string;
  webhookId: string;
  deliveryId: string;
  attempt: number;
  /** `retry`: failed, another attempt is scheduled; `failed`: that was the last. */
  outcome: 'success' | 'retry' | 'failed';
  responseStatus?: number;
  durationMs: number;
}

export interface DeliveryDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
  secrets: SecretBox;
  settings: OutboundWebhookSettings;
  /** Attempts made at once by this process. */
  concurrency: number;
  /** Called after each attempt is recorded (a metrics hook; must not throw). */
  onAttempt?: (attempt: DeliveryAttempt) => void;
  log?: (line: string) => void;
  /** [0, 1): the retry jitter's source (tests fix it). */
  random?: () => number;
}

const USER_AGENT = 'devtools-backend-webhooks/1';

/**
 * One pass: claims what is due (up to `concurrency`), attempts each at once,
 * records every result. Returns how many it attempted.
 */
export async function deliverDue(deps: DeliveryDeps): Promise<number> {
  // The lease outlasts one attempt by a margin: only a worker that died leaves one to expire.
  const leaseSeconds = Math.ceil(deps.settings.timeoutMs / 1000) + 60;
  const claimed = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) =>
    tx.queryLast<ClaimedDelivery>(CLAIM_DELIVERIES, [deps.concurrency, leaseSeconds]),
  );
  await Promise.all(claimed.rows.map((delivery) => attempt(deps, delivery)));
  return claimed.rows.length;
}

async function send(deps: DeliveryDeps, delivery: ClaimedDelivery): Promise<PostOutcome> {
  let secret: string;
  try {
    secret = deps.secrets.open(delivery.secret, webhookSecretContext(delivery.webhook_id));
  } catch {
    return { error: 'The signing secret could not be opened (see SECRETS_ENCRYPTION_KEYS).', durationMs: 0 };
  }
  const body = JSON.stringify(delivery.payload);
  const headers = { ...signedHeaders(secret, delivery.message_id, new Date(), body), 'user-agent': USER_AGENT };
  return postJson(delivery.endpoint_url, body, headers, {
    policy: deps.settings.policy,
    timeoutMs: deps.settings.timeoutMs,
    resolve: deps.settings.resolve,
  });
}

async function attempt(deps: DeliveryDeps, delivery: ClaimedDelivery): Promise<void> {
  const outcome = await send(deps, delivery);
  const succeeded = isSuccess(outcome.status);
  const delayMs = succeeded ? null : retryDelayMs(delivery.attempt_number, deps.settings.retryScheduleSeconds, (deps.random ?? Math.random)());
  const status = succeeded ? 'success' : delayMs === null ? 'failed' : 'pending';
  try {
    await withServiceTransaction(deps.pool, deps.statementTimeoutMs, async (tx) => {
      const recorded = await tx.query(RECORD_ATTEMPT, [
        delivery.id,
        delivery.attempt_number,
        status,
        delayMs,
        outcome.status ?? null,
        outcome.body ?? null,
        outcome.error ?? null,
        Math.round(outcome.durationMs),
      ]);
      // Another worker took the delivery over after this one's lease ran out: its result stands.
      if (recorded.rowCount === 0) return;
      if (succeeded) {
        await tx.query(ENDPOINT_SUCCEEDED, [delivery.webhook_id]);
        return;
      }
      const endpoint = (await tx.query<EndpointFailureRow>(ENDPOINT_FAILED, [delivery.webhook_id, status === 'failed'])).rows[0];
      if (status !== 'failed' || !endpoint || endpoint.status !== 'active') return;
      const state = { consecutiveFailures: endpoint.consecutive_failures, failingForMs: endpoint.failing_for_ms };
      if (shouldPause(state, deps.settings.autoPause)) {
        const days = Math.floor((endpoint.failing_for_ms ?? 0) / 86_400_000);
        await tx.query(PAUSE_FAILING_ENDPOINT, [
          delivery.webhook_id,
          `Paused automatically: ${endpoint.consecutive_failures} ${endpoint.consecutive_failures === 1 ? 'delivery' : 'deliveries'} in a row failed after every retry` +
            (days > 0 ? `, over ${days} day${days === 1 ? '' : 's'}.` : '.'),
        ]);
      }
    });
  } catch (error) {
    // The lease runs out and the attempt is made again: at least once, never lost.
    deps.log?.(`webhooks: recording delivery ${delivery.id} failed: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  deps.onAttempt?.({
    organizationId: delivery.organization_id,
    webhookId: delivery.webhook_id,
    deliveryId: delivery.id,
    attempt: delivery.attempt_number,
    outcome: succeeded ? 'success' : status === 'failed' ? 'failed' : 'retry',
    responseStatus: outcome.status,
    durationMs: outcome.durationMs,
  });
}

/** The delivery loop for src/background: again at once while passes come back full. */
export function webhookDeliveryTask(deps: DeliveryDeps & { intervalMs: number }): BackgroundTask {
  return {
    name: WEBHOOK_DELIVERY_LOOP,
    intervalMs: deps.intervalMs,
    tick: async () => (await deliverDue(deps)) === deps.concurrency,
  };
}

/** How long a finished delivery stays in the log. */
export const DELIVERY_RETENTION_DAYS = 30;

/** Deletes deliveries finished (succeeded or failed for good) more than DELIVERY_RETENTION_DAYS ago, hourly. */
export function webhookDeliveryRetentionTask(settings: { pool: pg.Pool; statementTimeoutMs: number; batchSize?: number }): BackgroundTask {
  return retentionTask({
    name: 'webhook-deliveries-retention',
    intervalMs: 60 * 60 * 1000,
    batchSize: settings.batchSize,
    deleteBatch: async (batchSize) =>
      (
        await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
          tx.query(PURGE_FINISHED_DELIVERIES, [DELIVERY_RETENTION_DAYS, batchSize]),
        )
      ).rowCount ?? 0,
  });
}
