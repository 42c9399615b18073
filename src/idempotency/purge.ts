import type pg from 'pg';
import { retentionTask, type BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { KEY_LIFETIME_HOURS } from './rules';
import { purgeExpiredKeys } from './sql';

export interface IdempotencyPurgeSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  batchSize?: number;
  intervalMs?: number;
}

/**
 * Deletes Idempotency-Key records past their 24 hours. Nothing depends on it
 * for correctness: an expired record is taken over by the next request with
 * its key anyway.
 */
export function idempotencyPurgeTask(settings: IdempotencyPurgeSettings): BackgroundTask {
  return retentionTask({
    name: 'idempotency-keys',
    intervalMs: settings.intervalMs ?? 15 * 60 * 1000,
    batchSize: settings.batchSize,
    deleteBatch: (batchSize) =>
      withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) => purgeExpiredKeys(tx, KEY_LIFETIME_HOURS, batchSize)),
  });
}
