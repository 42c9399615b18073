// npm run secrets:reencrypt
// Seals every stored secret (webhook and TOTP secrets) under the first key of
// SECRETS_ENCRYPTION_KEYS: the step of a key rotation between adding the new
// key in front and removing the old one. Against DATABASE_URL, or the embedded
// database in DATA_DIR (started for the command, then stopped). Safe to run
// while servers run: they open what either key sealed.
import { loadConfig } from '../config';
import { createPool } from '../db/pool';
import { resolveDatabase } from '../db/resolve';
import { secretBoxOf } from '../db/secret-box';
import { resealSecrets } from '../server';

async function main(): Promise<void> {
  const config = loadConfig();
  const box = secretBoxOf(config);
  const database = await resolveDatabase(config);
  try {
    const pool = createPool(await database.requestUrl(), 2, config.statementTimeoutMs);
    try {
      const resealed = await resealSecrets(pool, config.statementTimeoutMs, box);
      console.log(
        `sealed ${resealed.reflexSecrets} reflex webhook, ${resealed.webhookSecrets} outbound webhook and ${resealed.totpSecrets} TOTP secrets under key ${box.currentKeyId}; every other stored secret already was`,
      );
    } finally {
      await pool.end();
    }
  } finally {
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
