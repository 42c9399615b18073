import type pg from 'pg';
import { retentionTask, type BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { PURGE_OLD_EVENTS } from './sql';

export interface ActivityRetentionSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** ACTIVITY_EVENTS_RETENTION_DAYS: the outbox keeps what a reconnecting stream (or a late consumer) may still ask for. */
  retentionDays: number;
  batchSize?: number;
  intervalMs?: number;
}

/** Deletes activity events past their retention, oldest first, a batch a pass. */
export function activityRetentionTask(settings: ActivityRetentionSettings): BackgroundTask {
  return retentionTask({
    name: 'activity-retention',
    intervalMs: settings.intervalMs ?? 60 * 60 * 1000,
    batchSize: settings.batchSize,
    deleteBatch: async (batchSize) =>
      (
        await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
          tx.queryLast<{ deleted: number }>(PURGE_OLD_EVENTS, [settings.retentionDays, batchSize]),
        )
      ).rows[0]!.deleted,
  });
}
