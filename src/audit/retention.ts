import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { PURGE_EXPIRED_ENTRIES } from './sql';

export interface AuditRetentionSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Entries one pass deletes at most: short transactions on a table that only grows. */
  batchSize?: number;
  intervalMs?: number;
}

/**
 * Deletes audit entries past their organization's plan retention (the database
 * decides which: app.purge_audit_log is the only delete its triggers let
 * through), a batch a pass, again at once while full batches go.
 */
export function auditRetentionTask(settings: AuditRetentionSettings): BackgroundTask {
  const batchSize = settings.batchSize ?? 5000;
  return {
    name: 'audit-retention',
    intervalMs: settings.intervalMs ?? 60 * 60 * 1000,
    tick: async () => {
      const purged = await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
        tx.query<{ deleted: number }>(PURGE_EXPIRED_ENTRIES, [batchSize]),
      );
      return purged.rows[0]!.deleted === batchSize;
    },
  };
}
