import type pg from 'pg';
import type { Identity } from '../auth/caller';
import { withRequestTransaction, withServiceTransaction } from '../db/transaction';
import { problems, type Problem } from '../problems';
import { toProject } from '../projects/sql';
import { activityFrame, formatFrame, formatPosition, HEARTBEAT, ingestionFrame, type ActivityEvent, type Frame } from './frames';
import { ActivityListener } from './listener';
import { covers, visibleIn, type Snapshot } from './snapshot';
import { READABLE_EVENTS, READABLE_EXECUTIONS, STREAMED_OUTPUTS, type ReadableEventRow } from './sql';

/** What a stream follows. */
export type StreamSubject =
  | { kind: 'organization' }
  | { kind: 'execution'; executionId: string }
  | { kind: 'ingestion'; projectId: string };

/** One open stream, as the hub keeps it. */
export interface Subscriber {
  readonly identity: Identity;
  readonly subject: StreamSubject;
  /** The organization its request acted in (known once it has opened). */
  organizationId: string;
  /** Everything visible in this snapshot has been sent or was not for it; undefined while opening. */
  position: Snapshot | undefined;
  /** The id the client holds now (what it would send as Last-Event-ID). */
  lastSentId: string;
  /** Characters of streamed output it has (execution streams). */
  outputOffset: number;
  /** Writes frames; false when the client is too far behind (the stream is then closed: it replays on reconnect). */
  write(text: string): boolean;
  /** Ends the response. */
  end(): void;
}

export interface LiveSettings {
  /** Streams one user may hold open on this instance (STREAM_LIMIT_PER_USER). */
  limitPerUser: number;
  /** Pause between heartbeats (STREAM_HEARTBEAT_SECONDS). */
  heartbeatMs: number;
  /** Seconds a stream ticket lives (60). */
  ticketTtlSeconds: number;
}

export const DEFAULT_LIVE_SETTINGS: LiveSettings = { limitPerUser: 5, heartbeatMs: 15_000, ticketTtlSeconds: 60 };

export interface LiveDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** The direct URL of the LISTEN session (EVENTS_DATABASE_URL). */
  listenUrl: string;
  log: (line: string) => void;
  /** Wakes one of this process's background loops (an execution was queued: 'executions'; any event: 'webhooks'). */
  wake?: (loop: string) => void;
  settings?: Partial<LiveSettings>;
}

/** A batch of events, or grown output, waiting for its turn. */
type Delivery = { events: ActivityEvent[]; snapshot: Snapshot };

/** How long a stream waits for the listener to be ready before it is refused (503). */
const READY_WAIT_MS = 5000;

/**
 * The live events of one process: its LISTEN session, the streams open on it,
 * and the fan-out between them. Each batch is checked once per subscriber
 * identity (user or API key, in an organization) in a transaction as that
 * identity, so row level security decides what reaches whom at the moment it
 * is sent (a member removed meanwhile gets nothing more). Those checks are not
 * API calls: a stream is billed once, for the request that opens it.
 */
export class LiveHub {
  readonly settings: LiveSettings;
  private readonly listener: ActivityListener;
  private readonly subscribers = new Set<Subscriber>();
  private readonly opening = new Map<Subscriber, Delivery[]>();
  private readonly perUser = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: LiveDeps) {
    this.settings = { ...DEFAULT_LIVE_SETTINGS, ...deps.settings };
    this.listener = new ActivityListener({
      connectionString: deps.listenUrl,
      pool: deps.pool,
      statementTimeoutMs: deps.statementTimeoutMs,
      log: deps.log,
      onEvents: (events, snapshot) => this.received(events, snapshot),
      onOutput: (ids) => this.enqueue(() => this.outputGrew(ids)),
    });
  }

  start(): this {
    this.listener.start();
    this.heartbeat = setInterval(() => this.beat(), this.settings.heartbeatMs);
    this.heartbeat.unref();
    return this;
  }

  /** Streams open on this instance now (a gauge for the metrics). */
  openStreams(): number {
    return this.subscribers.size + this.opening.size;
  }

  /** Whether the LISTEN session is up. */
  get listening(): boolean {
    return this.listener.listening;
  }

  /** Ends every stream (clients reconnect elsewhere with Last-Event-ID) and the LISTEN session. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const subscriber of [...this.subscribers, ...this.opening.keys()]) subscriber.end();
    this.subscribers.clear();
    this.opening.clear();
    await this.listener.stop();
    await this.queue;
  }

  /**
   * Takes one of the caller's stream places (429 past the limit) and starts
   * keeping the batches that arrive while the stream opens. Returns the way to
   * let go of it.
   */
  async admit(subscriber: Subscriber): Promise<() => void> {
    if (this.closed) throw problems.unavailable('This server is shutting down; reconnect.');
    const user = userKey(subscriber.identity);
    const open = this.perUser.get(user) ?? 0;
    if (open >= this.settings.limitPerUser) {
      throw streamLimitReached(this.settings.limitPerUser);
    }
    this.perUser.set(user, open + 1);
    this.opening.set(subscriber, []);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.opening.delete(subscriber);
      this.subscribers.delete(subscriber);
      const left = (this.perUser.get(user) ?? 1) - 1;
      if (left > 0) this.perUser.set(user, left);
      else this.perUser.delete(user);
    };
    // A stream opened before the listener knows where it starts could miss what commits in between.
    const ready = await Promise.race([this.listener.ready.then(() => true), delay(READY_WAIT_MS).then(() => false)]);
    if (!ready) {
      release();
      throw problems.unavailable('Live events are not available right now; retry shortly.');
    }
    return release;
  }

  /** The stream has sent its opening (state and replay) as of `subscriber.position`: what arrived meanwhile follows. */
  opened(subscriber: Subscriber): void {
    const waiting = this.opening.get(subscriber);
    if (!waiting) return;
    this.opening.delete(subscriber);
    this.subscribers.add(subscriber);
    for (const delivery of waiting) this.enqueue(() => this.deliver([subscriber], delivery));
  }

  private received(events: ActivityEvent[], snapshot: Snapshot): void {
    // Another process's POST .../execute: this process's worker takes it now, not at its next poll.
    if (events.some((event) => event.type === 'execution.queued')) this.deps.wake?.('executions');
    // Each event may have queued outbound webhook deliveries (a trigger did, in its transaction): deliver them now.
    if (events.length > 0) this.deps.wake?.('webhooks');
    const delivery = { events, snapshot };
    for (const waiting of this.opening.values()) waiting.push(delivery);
    const subscribers = [...this.subscribers];
    if (subscribers.length > 0) this.enqueue(() => this.deliver(subscribers, delivery));
  }

  /** One fan-out at a time, in the order the reads happened. */
  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => {
      this.deps.log(`live events: a delivery failed (${error instanceof Error ? error.message : String(error)})`);
    });
  }

  private async deliver(subscribers: Subscriber[], { events, snapshot }: Delivery): Promise<void> {
    const candidates = new Map<Subscriber, ActivityEvent[]>();
    for (const subscriber of subscribers) {
      if (!this.subscribers.has(subscriber) || !subscriber.position) continue;
      const position = subscriber.position;
      candidates.set(
        subscriber,
        events.filter((event) => !visibleIn(event.xactId, position) && follows(subscriber, event)),
      );
    }
    const groups = groupByIdentity([...candidates.keys()]);
    await Promise.all(
      groups.map(async (group) => {
        const wanted = new Set(group.flatMap((subscriber) => candidates.get(subscriber)!.map((event) => event.sequence)));
        let readable = new Map<string, ReadableEventRow>();
        if (wanted.size > 0) {
          try {
            readable = await this.readable(group[0]!, [...wanted]);
          } catch (error) {
            // Not a member any more (404), or the database is away: end these
            // streams. A client that may still read reconnects and replays.
            this.endAll(group, error);
            return;
          }
        }
        for (const subscriber of group) {
          const frames: Frame[] = [];
          for (const event of candidates.get(subscriber)!) {
            const row = readable.get(event.sequence);
            if (!row) continue;
            const frame = frameFor(subscriber, event, row);
            if (frame) frames.push(frame);
          }
          this.send(subscriber, frames, snapshot);
        }
      }),
    );
  }

  /** Which of the events one identity may read, in a transaction as that identity (not metered). */
  private async readable(subscriber: Subscriber, sequences: string[]): Promise<Map<string, ReadableEventRow>> {
    const rows = await withRequestTransaction(
      this.deps.pool,
      subscriber.identity,
      { requestedOrganizationId: subscriber.organizationId, statementTimeoutMs: this.deps.statementTimeoutMs, meterApiCall: false },
      async (tx) => (await tx.queryLast<ReadableEventRow>(READABLE_EVENTS, [sequences])).rows,
    );
    return new Map(rows.map((row) => [row.sequence, row]));
  }

  /** Writes a batch's frames: each but the last with the position before it, the last with the new one. */
  private send(subscriber: Subscriber, frames: Frame[], snapshot: Snapshot): void {
    const before = subscriber.position!;
    const after = covers(snapshot, before) ? snapshot : before;
    subscriber.position = after;
    if (frames.length === 0) return;
    let text = '';
    frames.forEach((frame, index) => {
      text += formatFrame(frame, index === frames.length - 1 ? after.text : before.text);
    });
    subscriber.lastSentId = after.text;
    if (!subscriber.write(text)) this.endAll([subscriber]);
  }

  private async outputGrew(executionIds: string[]): Promise<void> {
    const ids = new Set(executionIds);
    const watching = [...this.subscribers].filter((s) => s.subject.kind === 'execution' && ids.has(s.subject.executionId));
    if (watching.length === 0) return;
    const wanted = [...new Set(watching.map((s) => (s.subject as { executionId: string }).executionId))];
    const outputs = await withServiceTransaction(this.deps.pool, this.deps.statementTimeoutMs, (tx) =>
      tx.queryLast<{ id: string; text: string }>(STREAMED_OUTPUTS, [wanted]),
    );
    const textOf = new Map(outputs.rows.map((row) => [row.id, row.text]));
    await Promise.all(
      groupByIdentity(watching).map(async (group) => {
        let visible: Set<string>;
        try {
          const rows = await withRequestTransaction(
            this.deps.pool,
            group[0]!.identity,
            { requestedOrganizationId: group[0]!.organizationId, statementTimeoutMs: this.deps.statementTimeoutMs, meterApiCall: false },
            async (tx) => (await tx.queryLast<{ id: string }>(READABLE_EXECUTIONS, [wanted])).rows,
          );
          visible = new Set(rows.map((row) => row.id));
        } catch (error) {
          this.endAll(group, error);
          return;
        }
        for (const subscriber of group) {
          const executionId = (subscriber.subject as { executionId: string }).executionId;
          const text = textOf.get(executionId);
          if (!visible.has(executionId) || text === undefined || text.length <= subscriber.outputOffset) continue;
          const chunk = { executionId, offset: subscriber.outputOffset, text: text.slice(subscriber.outputOffset) };
          subscriber.outputOffset = text.length;
          // The position does not move: output is not an event, and a reconnect starts with the output so far.
          if (!subscriber.write(formatFrame({ event: 'execution.output', data: chunk }, subscriber.lastSentId))) this.endAll([subscriber]);
        }
      }),
    );
  }

  private beat(): void {
    for (const subscriber of this.subscribers) {
      const position = subscriber.position?.text;
      let text = HEARTBEAT;
      if (position && position !== subscriber.lastSentId) {
        // Quiet for this stream, but the position moved on: a reconnect need not replay from further back.
        text += formatPosition(position);
        subscriber.lastSentId = position;
      }
      if (!subscriber.write(text)) this.endAll([subscriber]);
    }
  }

  private endAll(subscribers: Subscriber[], error?: unknown): void {
    if (error !== undefined && !isClientProblem(error)) {
      this.deps.log(`live events: checking what a subscriber may read failed (${error instanceof Error ? error.message : String(error)}); its streams end and replay on reconnect`);
    }
    for (const subscriber of subscribers) {
      this.subscribers.delete(subscriber);
      subscriber.end();
    }
  }
}

/** The 429 of the per-user stream limit. */
export function streamLimitReached(limit: number): Problem {
  return problems
    .rateLimited(`You already have ${limit} streams open on this server; close one first.`, { 'Retry-After': '5' })
    .because('stream_limit_reached');
}

function userKey(identity: Identity): string {
  return identity.userId ?? identity.role;
}

/** Subscribers that share a user or API key and an organization: one check serves them all. */
function groupByIdentity(subscribers: Subscriber[]): Subscriber[][] {
  const groups = new Map<string, Subscriber[]>();
  for (const subscriber of subscribers) {
    const key = `${subscriber.identity.apiKey?.id ?? 'session'}:${subscriber.identity.userId}:${subscriber.organizationId}`;
    const group = groups.get(key);
    if (group) group.push(subscriber);
    else groups.set(key, [subscriber]);
  }
  return [...groups.values()];
}

/** Whether an event is about what the stream follows. */
export function follows(subscriber: Pick<Subscriber, 'subject' | 'organizationId'>, event: ActivityEvent): boolean {
  if (event.organizationId !== subscriber.organizationId) return false;
  const subject = subscriber.subject;
  switch (subject.kind) {
    case 'organization':
      return true;
    case 'execution':
      return event.subjectId === subject.executionId && event.type.startsWith('execution.');
    case 'ingestion':
      return event.projectId === subject.projectId && event.type.startsWith('ingestion.');
  }
}

/** The frame an event becomes on this stream (the ingestion stream speaks the frontend's names). */
export function frameFor(subscriber: Pick<Subscriber, 'subject'>, event: ActivityEvent, row?: ReadableEventRow): Frame | undefined {
  if (subscriber.subject.kind !== 'ingestion') return activityFrame(event);
  const project = row && row.id !== null ? toProject(row as Parameters<typeof toProject>[0]) : undefined;
  return ingestionFrame(event, project);
}

function isClientProblem(error: unknown): boolean {
  return typeof (error as { status?: unknown }).status === 'number' && (error as { status: number }).status < 500;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
