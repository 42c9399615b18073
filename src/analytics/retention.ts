import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { purgeOldEvents } from './operations';

export interface AnalyticsRetentionSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** ANALYTICS_RETENTION_DAYS. */
  retentionDays: number;
  /** Rows one pass deletes at most: short transactions, no long lock on a large table. */
  batchSize?: number;
  intervalMs?: number;
}

/** Deletes product events past their retention, a batch a pass, again at once while full batches go. */
export function analyticsRetentionTask(settings: AnalyticsRetentionSettings): BackgroundTask {
  const batchSize = settings.batchSize ?? 5000;
  return {
    name: 'analytics-retention',
    intervalMs: settings.intervalMs ?? 60 * 60 * 1000,
    tick: async () => (await purgeOldEvents(settings.pool, settings.statementTimeoutMs, settings.retentionDays, batchSize)) === batchSize,
  };
}
