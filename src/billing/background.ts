import type pg from 'pg';
import type { BackgroundTask } from '../background/loop';
import { withServiceTransaction } from '../db/transaction';
import { rollOverEndedPeriods } from './subscriptions/rollover';

const BATCH = 50;

/** Starts the next period of subscriptions whose period ended (renewals, scheduled downgrades, cancellations). */
export function billingPeriodsTask(pool: pg.Pool, statementTimeoutMs: number): BackgroundTask {
  return {
    name: 'billing-periods',
    intervalMs: 60_000,
    tick: async () => (await withServiceTransaction(pool, statementTimeoutMs, (tx) => rollOverEndedPeriods(tx, BATCH))) === BATCH,
  };
}
