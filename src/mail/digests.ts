import type pg from 'pg';
import { withServiceTransaction } from '../db/transaction';
import { latestDigestSlot } from './schedule';
import { DIGEST_CANDIDATES, QUEUE_DIGEST, type DigestCandidateRow } from './sql';

export interface DigestSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  intervalMs: number;
  /** Wakes the mail loop when a digest was queued. */
  onQueued: () => void;
  now?: () => Date;
}

const PAGE = 500;

/**
 * The digest loop: for each person who asked for daily or weekly digests,
 * the latest digest moment in their time zone; when it is newer than the one
 * last handled, app.queue_digest queues their unread notifications as one
 * mail (once per moment, whichever instance gets there first).
 */
export function digestTask(settings: DigestSettings) {
  const now = settings.now ?? (() => new Date());
  return {
    name: 'digests',
    intervalMs: settings.intervalMs,
    async tick(): Promise<boolean> {
      const at = now();
      let after = '00000000-0000-0000-0000-000000000000';
      let queued = 0;
      for (;;) {
        const page = await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
          tx.queryLast<DigestCandidateRow>(DIGEST_CANDIDATES, [PAGE, after]),
        );
        for (const person of page.rows) {
          const slot = latestDigestSlot(
            { frequency: person.frequency, digestTime: person.digest_time, digestDay: person.digest_day, timeZone: person.time_zone },
            at,
          );
          if (!slot || (person.last_digest_at && Date.parse(person.last_digest_at) >= slot.getTime())) continue;
          const result = await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
            tx.queryLast<{ queued: number }>(QUEUE_DIGEST, [person.user_id, slot, person.frequency]),
          );
          if (result.rows[0]!.queued > 0) queued += 1;
        }
        if (page.rows.length < PAGE) break;
        after = page.rows[page.rows.length - 1]!.user_id;
      }
      if (queued > 0) settings.onQueued();
      return false;
    },
  };
}
