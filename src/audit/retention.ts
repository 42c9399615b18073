import type pg from 'pg';
import { retentionTask, type BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { PURGE_EXPIRED_ENTRIES } from './sql';

export interface AuditRetentionSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  batchSize?: number;
  intervalMs?: number;
}

/**
 * Deletes audit entries past their organization's plan retention: the database
 * decides which, since app.purge_audit_log is the only delete its triggers let
 * through.
 */
export function auditRetentionTask(settings: AuditRetentionSettings): BackgroundTask {
  return retentionTask({
    name: 'audit-retention',
    intervalMs: settings.intervalMs ?? 60 * 60 * 1000,
    batchSize: settings.batchSize,
    deleteBatch: async (batchSize) =>
      (
        await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
          tx.query<{ deleted: number }>(PURGE_EXPIRED_ENTRIES, [batchSize]),
        )
      ).rows[0]!.deleted,
  });
}
