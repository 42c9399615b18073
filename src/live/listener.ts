import pg from 'pg';
import { withServiceTransaction } from '../db/transaction';
import type { ActivityEvent } from './frames';
import { parseSnapshot, type Snapshot } from './snapshot';
import { NEW_EVENTS, toActivityEvent, type SnapshotEventRow } from './sql';

/** The channels migrations 025 and 026 notify on. */
export const EVENTS_CHANNEL = 'activity_events';
export const OUTPUT_CHANNEL = 'execution_output';

export interface ListenerDeps {
  /** A direct connection (not a transaction pooler, which cannot hold a LISTEN). */
  connectionString: string;
  /** Where the new events are read (as service_role, once per process). */
  pool: pg.Pool;
  statementTimeoutMs: number;
  log: (line: string) => void;
  /** Each read, in order: the events committed since the last one and the snapshot it read in. */
  onEvents(events: ActivityEvent[], snapshot: Snapshot): void;
  /** Executions whose streamed output grew. */
  onOutput(executionIds: string[]): void;
  /** How long a burst of notifications is gathered into one read (default 20 ms). */
  coalesceMs?: number;
  /** Longest pause between attempts to reconnect (default 10 s). */
  maxBackoffMs?: number;
}

const FIRST_BACKOFF_MS = 100;

/**
 * One LISTEN session per process. A notification only says "something
 * committed": the listener then reads what is new from the table, once for
 * the whole process, by snapshot (nothing missed, nothing repeated), and hands
 * it on. Bursts are gathered into one read; a read never overlaps another.
 * When the session drops it reconnects with growing pauses and reads from
 * where it was, so nothing committed meanwhile is lost.
 */
export class ActivityListener {
  private client: pg.Client | undefined;
  private cursor: string | undefined;
  private stopped = false;
  private reading = false;
  private readAgain = false;
  private readTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = FIRST_BACKOFF_MS;
  private readonly outputIds = new Set<string>();
  private outputTimer: NodeJS.Timeout | undefined;
  private markReady!: () => void;
  /** Resolves once the listener listens and knows where it starts: streams may open from then on. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.markReady = resolve;
  });

  constructor(private readonly deps: ListenerDeps) {}

  /** Whether the LISTEN session is up right now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.readTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.outputTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.deps.connectionString, keepAlive: true, application_name: 'devtools-backend-listen' });
    let dropped = false;
    const drop = (why: string) => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.deps.log(`live events: the LISTEN connection dropped (${why}); reconnecting in ${this.backoffMs} ms`);
      this.reconnectTimer = setTimeout(() => void this.connect(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.deps.maxBackoffMs ?? 10_000);
    };
    client.on('error', (error) => drop(error.message));
    client.on('end', () => drop('closed'));
    client.on('notification', (message) => {
      if (message.channel === EVENTS_CHANNEL) this.scheduleRead(this.deps.coalesceMs ?? 20);
      else if (message.channel === OUTPUT_CHANNEL && message.payload) this.outputGrew(message.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}; listen ${OUTPUT_CHANNEL}`);
    } catch (error) {
      drop(error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = FIRST_BACKOFF_MS;
    // Listening first, reading second: whatever commits from here on is both
    // notified and after the cursor; what committed while away is read now.
    this.scheduleRead(0);
  }

  private scheduleRead(delayMs: number): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      void this.read();
    }, delayMs);
  }

  private async read(): Promise<void> {
    this.reading = true;
    this.readAgain = false;
    let failed = false;
    try {
      const rows = (
        await withServiceTransaction(this.deps.pool, this.deps.statementTimeoutMs, (tx) => tx.queryLast<SnapshotEventRow>(NEW_EVENTS, [this.cursor ?? null]))
      ).rows;
      const snapshot = parseSnapshot(rows[0]!.snapshot)!;
      const first = this.cursor === undefined;
      this.cursor = snapshot.text;
      if (first) {
        this.markReady();
      } else {
        this.deps.onEvents(rows.filter((row) => row.sequence !== null).map(toActivityEvent), snapshot);
      }
    } catch (error) {
      failed = true;
      if (!this.stopped) this.deps.log(`live events: reading new events failed (${error instanceof Error ? error.message : String(error)}); retrying`);
    } finally {
      this.reading = false;
    }
    if (failed) this.scheduleRead(1000);
    else if (this.readAgain) this.scheduleRead(0);
  }

  private outputGrew(executionId: string): void {
    this.outputIds.add(executionId);
    if (this.outputTimer || this.stopped) return;
    this.outputTimer = setTimeout(() => {
      this.outputTimer = undefined;
      const ids = [...this.outputIds];
      this.outputIds.clear();
      this.deps.onOutput(ids);
    }, this.deps.coalesceMs ?? 20);
  }
}
