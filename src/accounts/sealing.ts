import type { SecretBox } from '../db/secret-box';
import { withAccountKeeper, type KeeperDeps } from './keeper';
import { FACTORS_TO_RESEAL, RESEAL_FACTOR } from './sql';
import { totpSecretContext } from './two-factor';

/**
 * Seals every TOTP secret not yet sealed under the current key (written
 * before sealing existed, or under a retired key), in batches as
 * account_keeper, rows another instance holds skipped. Returns how many.
 */
export async function resealTotpSecrets(deps: KeeperDeps, box: SecretBox): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await withAccountKeeper(deps, async (tx) => {
      const rows = (await tx.query<{ user_id: string; secret: string }>(FACTORS_TO_RESEAL, [`enc:v1:${box.currentKeyId}:%`])).rows;
      for (const row of rows) {
        const context = totpSecretContext(row.user_id);
        await tx.query(RESEAL_FACTOR, [row.user_id, row.secret, box.seal(box.open(row.secret, context), context)]);
      }
      return rows.length;
    });
    total += done;
    if (done === 0) return total;
  }
}
