import type pg from 'pg';
import { withServiceTransaction } from '../db/transaction';
import { ADD_KEY_USAGE } from './sql';

/** How often usage is written when nothing asks for it sooner. */
export const DEFAULT_USAGE_FLUSH_MS = 5000;

interface Pending {
  count: number;
  lastUsedAt: Date;
}

export interface ApiKeyUsage {
  /** Counts one request made with the key (in memory). */
  record(keyId: string): void;
  /** Writes what was counted, in one statement. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left (call before the pool closes). */
  close(): Promise<void>;
}

/**
 * lastUsedAt and usageCount without a write per request: each process counts
 * in memory and adds its counts every few seconds (and on shutdown) in one
 * statement, as service_role. A crash loses at most one interval of counts;
 * a failed write puts its counts back for the next try.
 */
export function createApiKeyUsage(deps: { pool: pg.Pool; statementTimeoutMs: number; flushIntervalMs?: number; log?: (line: string) => void }): ApiKeyUsage {
  let pending = new Map<string, Pending>();
  let flushing: Promise<void> = Promise.resolve();

  const write = async () => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const ids = [...batch.keys()];
    try {
      await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) =>
        tx.query(ADD_KEY_USAGE, [ids, ids.map((id) => batch.get(id)!.count), ids.map((id) => batch.get(id)!.lastUsedAt)]),
      );
    } catch (error) {
      for (const [id, counted] of batch) merge(id, counted.count, counted.lastUsedAt);
      deps.log?.(`API key usage not written (kept for the next try): ${(error as Error).message}`);
    }
  };

  const merge = (id: string, count: number, at: Date) => {
    const known = pending.get(id);
    if (known) {
      known.count += count;
      if (at > known.lastUsedAt) known.lastUsedAt = at;
    } else {
      pending.set(id, { count, lastUsedAt: at });
    }
  };

  const flush = () => {
    // One write at a time, in order: a flush waits for the one before it.
    flushing = flushing.then(write);
    return flushing;
  };

  const timer = setInterval(() => void flush(), deps.flushIntervalMs ?? DEFAULT_USAGE_FLUSH_MS);
  timer.unref();

  return {
    record: (keyId) => merge(keyId, 1, new Date()),
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
