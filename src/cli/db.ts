// npm run db:migrate | db:rollback | db:status | db:new <name>
// Against DATABASE_URL, or the embedded database in DATA_DIR (started for the command, then stopped).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, loadEnvFileIfPresent } from '../config';
import { migrateAndApplySettings, MIGRATIONS_DIR, migrationVersions, runDbmate } from '../db/migrations';
import { resolveDatabase } from '../db/resolve';

const COMMANDS: Record<string, string[]> = {
  migrate: ['up', '--strict'],
  rollback: ['rollback'],
  status: ['status'],
};

async function main(): Promise<void> {
  loadEnvFileIfPresent();
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'new') {
    const name = rest[0];
    if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: npm run db:new -- <name_in_snake_case>');
    // Migrations are numbered in sequence (000_, 001_, ...), not by timestamp.
    const versions = migrationVersions();
    const next = String(Math.max(-1, ...versions.map(Number)) + 1).padStart(3, '0');
    const file = path.join(MIGRATIONS_DIR, `${next}_${name}.sql`);
    writeFileSync(file, '-- migrate:up\n\n\n-- migrate:down\n\n', { flag: 'wx' });
    console.log(`created ${path.relative(process.cwd(), file)}`);
    return;
  }
  const args = command ? COMMANDS[command] : undefined;
  if (!args) throw new Error(`usage: db.ts ${Object.keys(COMMANDS).join('|')}|new <name>`);
  const config = loadConfig();
  const database = await resolveDatabase(config);
  try {
    if (command === 'migrate') {
      // The same lock as the servers' own migrations, so a deploy step and a starting instance never race.
      // QUOTAS_ENABLED lives in the database, where only the owner may change it.
      await migrateAndApplySettings(database.ownerUrl, { quotasEnforced: config.quotasEnabled }, (line) => console.error(line), { quiet: false });
    } else {
      await runDbmate(database.ownerUrl, args);
    }
  } finally {
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
