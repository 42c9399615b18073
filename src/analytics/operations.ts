import type pg from 'pg';
import type { Identity } from '../auth/caller';
import { withRequestTransaction, withServiceTransaction } from '../db/transaction';
import type { RequestBody } from '../http/route';
import { problems } from '../problems';
import type { AnalyticsQueue, QueuedBatch } from './queue';
import { checkEvents, toStoredEvent } from './rules';
import { INSERT_EVENTS, PURGE_EVENTS } from './sql';

type EventBatch = RequestBody<'recordAnalyticsEvents'>;

/** Rows one INSERT writes at most; a larger group is split. */
const ROWS_PER_STATEMENT = 1000;

/**
 * Checks a batch and hands it to the queue; nothing waits for the database.
 * Only signed-in people report product events. Returns how many events were
 * queued: all of them, or none when the queue was full.
 */
export function acceptEvents(queue: AnalyticsQueue, identity: Identity | undefined, organizationId: string | undefined, body: EventBatch, now = new Date()): number {
  if (!identity) throw problems.unauthorized('Authentication is required.');
  if (identity.role !== 'authenticated' || !identity.userId) {
    throw problems.forbidden('Product events are reported by signed-in users, not service tokens.');
  }
  const errors = checkEvents(body.events, now);
  if (errors.length > 0) throw problems.validation('The events are not valid; none was kept.', errors);
  const batch: QueuedBatch = { identity, organizationId: organizationId ?? null, events: body.events.map(toStoredEvent) };
  return queue.enqueue(batch) ? batch.events.length : 0;
}

/**
 * Writes one caller's queued events for one organization, in a transaction
 * under that caller's own identity (not metered: analytics is no API call),
 * so the database decides whether they may: an organization they are not a
 * member of is refused, and the events are counted as failed.
 */
export function storeEvents(pool: pg.Pool, statementTimeoutMs: number): (batch: QueuedBatch) => Promise<void> {
  return (batch) =>
    withRequestTransaction(
      pool,
      batch.identity,
      { requestedOrganizationId: batch.organizationId ?? undefined, statementTimeoutMs, meterApiCall: false },
      async (tx) => {
        for (let start = 0; start < batch.events.length; start += ROWS_PER_STATEMENT) {
          const rows = batch.events.slice(start, start + ROWS_PER_STATEMENT);
          await tx.query(INSERT_EVENTS, [batch.identity.userId, batch.organizationId, JSON.stringify(rows)]);
        }
      },
    );
}

/** Deletes one batch of events older than the retention; how many went. */
export async function purgeOldEvents(pool: pg.Pool, statementTimeoutMs: number, retentionDays: number, batchSize: number): Promise<number> {
  const purged = await withServiceTransaction(pool, statementTimeoutMs, (tx) => tx.query<{ deleted: number }>(PURGE_EVENTS, [retentionDays, batchSize]));
  return purged.rows[0]!.deleted;
}
