/**
 * A PostgreSQL snapshot (pg_snapshot) as its text form `xmin:xmax:xip,...`,
 * and the visibility rule of pg_visible_in_snapshot applied to the
 * transaction that wrote an event (activity_events.xact_id).
 *
 * Why snapshots and not event ids: ids are handed out at insert, transactions
 * commit in another order, so "ids above the last one seen" can skip an event
 * whose transaction committed late. "Not visible in the snapshot a reader last
 * read with" skips nothing and repeats nothing. A stream's frame ids are such
 * snapshots, so a reconnect with Last-Event-ID resumes exactly.
 */
export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
  /** Transactions in progress when it was taken (each in [xmin, xmax)). */
  inProgress: ReadonlySet<bigint>;
  /** The text it was read from, as PostgreSQL writes it. */
  text: string;
}

/** Longest snapshot text taken (a Last-Event-ID is client input). */
export const MAX_SNAPSHOT_TEXT = 4096;

const SHAPE = /^(\d{1,20}):(\d{1,20}):((?:\d{1,20}(?:,\d{1,20})*)?)$/;
const XID8_MAX = 2n ** 64n - 1n;

/** Parses a snapshot's text; undefined when it is not one PostgreSQL could have written. */
export function parseSnapshot(text: string): Snapshot | undefined {
  if (text.length > MAX_SNAPSHOT_TEXT) return undefined;
  const match = SHAPE.exec(text);
  if (!match) return undefined;
  const xmin = BigInt(match[1]!);
  const xmax = BigInt(match[2]!);
  if (xmin > xmax || xmax > XID8_MAX) return undefined;
  const inProgress = new Set<bigint>();
  for (const part of match[3] ? match[3].split(',') : []) {
    const xid = BigInt(part);
    if (xid < xmin || xid >= xmax) return undefined;
    inProgress.add(xid);
  }
  return { xmin, xmax, inProgress, text };
}

/** Whether the transaction `xid` had committed (its rows were visible) when `snapshot` was taken. */
export function visibleIn(xid: bigint, snapshot: Snapshot): boolean {
  if (xid < snapshot.xmin) return true;
  if (xid >= snapshot.xmax) return false;
  return !snapshot.inProgress.has(xid);
}

/**
 * Whether `later` sees everything `earlier` saw (it was taken after it): a
 * stream's position only moves forward, also when a batch read before the
 * stream opened is handed to it afterwards.
 */
export function covers(later: Snapshot, earlier: Snapshot): boolean {
  if (later.xmax < earlier.xmax) return false;
  for (const xid of later.inProgress) {
    if (xid < earlier.xmax && visibleIn(xid, earlier)) return false;
  }
  return true;
}
