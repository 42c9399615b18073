import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { KEY_LIFETIME_HOURS } from './rules';
import { purgeExpiredKeys } from './sql';

export interface IdempotencyPurgeSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Records one pass deletes at most: short transactions, no long lock. */
  batchSize?: number;
  intervalMs?: number;
}

/**
 * Deletes Idempotency-Key records past their 24 hours, a batch a pass, again
 * at once while full batches go. Nothing depends on it for correctness: an
 * expired record is taken over by the next request with its key anyway.
 */
export function idempotencyPurgeTask(settings: IdempotencyPurgeSettings): BackgroundTask {
  const batchSize = settings.batchSize ?? 5000;
  return {
    name: 'idempotency-keys',
    intervalMs: settings.intervalMs ?? 15 * 60 * 1000,
    tick: async () =>
      (await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) => purgeExpiredKeys(tx, KEY_LIFETIME_HOURS, batchSize))) === batchSize,
  };
}
