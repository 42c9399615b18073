import type { Identity } from '../auth/caller';
import type { StoredAnalyticsEvent } from './rules';

/** One accepted batch: whose events, for which organization (none: the user's own), and the events. */
export interface QueuedBatch {
  identity: Identity;
  organizationId: string | null;
  events: StoredAnalyticsEvent[];
}

/** What became of the events handed to the queue, since it started. */
export interface AnalyticsCounters {
  /** Events accepted into the queue. */
  accepted: number;
  /** Events refused because the queue was full (never written). */
  dropped: number;
  /** Events written. */
  stored: number;
  /** Events whose write failed (the database refused them, or was unreachable). */
  failed: number;
}

export interface AnalyticsQueueOptions {
  /** Events held at most; a batch that would pass it is dropped whole. Bounds the memory analytics can take. */
  capacity: number;
  /** Pending events that start a flush at once, without waiting for the timer. */
  flushAt: number;
  /** Pause between timed flushes. */
  flushIntervalMs: number;
  /** Writes one caller's events for one organization (one transaction under that caller's identity). */
  store: (batch: QueuedBatch) => Promise<void>;
  log: (line: string) => void;
}

export interface AnalyticsQueue {
  /** Takes the batch whole or not at all (false: the queue is full, the batch is dropped and counted). */
  enqueue(batch: QueuedBatch): boolean;
  /** Writes everything pending; resolves when done (a flush already running is waited for first). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
  counters(): AnalyticsCounters;
}

/** Merges the batches of the same caller and organization, in arrival order, so each gets one write. */
export function groupBatches(batches: QueuedBatch[]): QueuedBatch[] {
  const groups = new Map<string, QueuedBatch>();
  for (const batch of batches) {
    const key = `${batch.identity.userId ?? ''}|${batch.organizationId ?? ''}`;
    const group = groups.get(key);
    if (group) group.events.push(...batch.events);
    else groups.set(key, { identity: batch.identity, organizationId: batch.organizationId, events: [...batch.events] });
  }
  return [...groups.values()];
}

/**
 * Product events wait here, off the request path, and are written in batches:
 * a request only checks its body and hands the events over. Memory is bounded
 * by `capacity` events; past it, batches are dropped (and counted), never
 * waited for: analytics must not slow the app down. Flushes run one at a time.
 */
export function createAnalyticsQueue(options: AnalyticsQueueOptions): AnalyticsQueue {
  let pending: QueuedBatch[] = [];
  let pendingEvents = 0;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  let lastDropLog = 0;
  let lastFailureLog = 0;
  const counters: AnalyticsCounters = { accepted: 0, dropped: 0, stored: 0, failed: 0 };

  async function writeAll(batches: QueuedBatch[]): Promise<void> {
    for (const group of groupBatches(batches)) {
      try {
        await options.store(group);
        counters.stored += group.events.length;
      } catch (error) {
        counters.failed += group.events.length;
        // A caller naming an organization that is not theirs fails every flush: say so once a minute at most.
        const now = Date.now();
        if (now - lastFailureLog > 60_000) {
          lastFailureLog = now;
          options.log(
            `analytics: ${group.events.length} events not written (${counters.failed} so far): ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
  }

  function flush(): Promise<void> {
    running = running.then(() => {
      const batches = pending;
      pending = [];
      pendingEvents = 0;
      return batches.length === 0 ? undefined : writeAll(batches);
    });
    return running;
  }

  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  // A queue waiting to flush must not keep a process alive that has nothing else to do.
  timer.unref();

  return {
    enqueue(batch) {
      if (closed || pendingEvents + batch.events.length > options.capacity) {
        counters.dropped += batch.events.length;
        const now = Date.now();
        if (now - lastDropLog > 60_000) {
          lastDropLog = now;
          options.log(`analytics: queue full (${options.capacity} events), dropping batches; ${counters.dropped} dropped so far`);
        }
        return false;
      }
      pending.push(batch);
      pendingEvents += batch.events.length;
      counters.accepted += batch.events.length;
      if (pendingEvents >= options.flushAt) void flush();
      return true;
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
    counters: () => ({ ...counters }),
  };
}

/** The queue's sizes in this server: 10,000 events (a few MB at most), written every second or every 500 events. */
export const DEFAULT_QUEUE_SIZES = { capacity: 10_000, flushAt: 500, flushIntervalMs: 1000 } as const;
