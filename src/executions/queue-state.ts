import type pg from 'pg';
import { withServiceTransaction } from '../db/transaction';
import { EXECUTION_QUEUE_STATE } from './sql';

/** The execution queue as a scrape sees it: how many wait, and for how long the oldest has. */
export interface ExecutionQueueState {
  pending: number;
  oldestPendingSeconds: number;
}

/** Read across every organization as service_role, like the worker that claims from the queue. */
export async function executionQueueState(pool: pg.Pool, statementTimeoutMs: number): Promise<ExecutionQueueState> {
  const { rows } = await withServiceTransaction(pool, statementTimeoutMs, (tx) =>
    tx.queryLast<{ pending: number; oldest_pending_seconds: number }>(EXECUTION_QUEUE_STATE),
  );
  const row = rows[0]!;
  return { pending: row.pending, oldestPendingSeconds: Math.max(row.oldest_pending_seconds, 0) };
}
