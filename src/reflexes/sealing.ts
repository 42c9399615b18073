import type pg from 'pg';
import type { SecretBox } from '../db/secret-box';
import { withServiceTransaction } from '../db/transaction';
import { RESEAL_SECRET, SECRETS_TO_RESEAL } from './sql';
import { reflexSecretContext } from './store';

/**
 * Seals every webhook secret not yet sealed under the current key: those
 * written before secrets were sealed, and those of a retired key after a
 * rotation. Batches in transactions of their own (as the back office), rows
 * another instance is resealing skipped. Returns how many were resealed.
 */
export async function resealReflexSecrets(deps: { pool: pg.Pool; statementTimeoutMs: number }, box: SecretBox): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, async (tx) => {
      const rows = (await tx.query<{ reflex_id: string; secret: string }>(SECRETS_TO_RESEAL, [`enc:v1:${box.currentKeyId}:%`])).rows;
      for (const row of rows) {
        const context = reflexSecretContext(row.reflex_id);
        await tx.query(RESEAL_SECRET, [row.reflex_id, row.secret, box.seal(box.open(row.secret, context), context)]);
      }
      return rows.length;
    });
    total += done;
    if (done === 0) return total;
  }
}
