import type pg from 'pg';
import type { SecretBox } from '../db/secret-box';
import { withServiceTransaction } from '../db/transaction';
import { webhookSecretContext } from './rules';
import { RESEAL_WEBHOOK_SECRET, WEBHOOK_SECRETS_TO_RESEAL } from './sql';

/**
 * Seals every endpoint's signing secret that an older key sealed under the
 * current one (after a key rotation), in batches of their own as the back
 * office; rows another instance is resealing are skipped. How many were resealed.
 */
export async function resealWebhookSecrets(deps: { pool: pg.Pool; statementTimeoutMs: number }, box: SecretBox): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, async (tx) => {
      const rows = (await tx.query<{ id: string; secret: string }>(WEBHOOK_SECRETS_TO_RESEAL, [`enc:v1:${box.currentKeyId}:%`])).rows;
      for (const row of rows) {
        const context = webhookSecretContext(row.id);
        await tx.query(RESEAL_WEBHOOK_SECRET, [row.id, row.secret, box.seal(box.open(row.secret, context), context)]);
      }
      return rows.length;
    });
    total += done;
    if (done === 0) return total;
  }
}
