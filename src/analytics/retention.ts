import type pg from 'pg';
import { retentionTask, type BackgroundTask } from '../background/loop';
import { purgeOldEvents } from './operations';

export interface AnalyticsRetentionSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** ANALYTICS_RETENTION_DAYS. */
  retentionDays: number;
  batchSize?: number;
  intervalMs?: number;
}

/** Deletes product events past their retention. */
export function analyticsRetentionTask(settings: AnalyticsRetentionSettings): BackgroundTask {
  return retentionTask({
    name: 'analytics-retention',
    intervalMs: settings.intervalMs ?? 60 * 60 * 1000,
    batchSize: settings.batchSize,
    deleteBatch: (batchSize) => purgeOldEvents(settings.pool, settings.statementTimeoutMs, settings.retentionDays, batchSize),
  });
}
