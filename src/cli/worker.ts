// npm run worker: the background loops (scheduler, execution worker) without the HTTP API.
// Against DATABASE_URL; otherwise the embedded database of an `npm start` running
// with the same DATA_DIR, or, when none runs, the embedded database started here.
import { startBackgroundWork } from '../background';
import { loadConfig } from '../config';
import { runningEmbeddedDatabaseUrl } from '../db/embedded';
import { createPool } from '../db/pool';
import { embeddedHandle, resolveDatabase, type DatabaseHandle } from '../db/resolve';

async function databaseForWorker(): Promise<DatabaseHandle> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    const shared = await runningEmbeddedDatabaseUrl(config.dataDir);
    if (shared) return { ...embeddedHandle(config.dataDir, shared), stop: async () => undefined };
  }
  return resolveDatabase(config);
}

async function main(): Promise<void> {
  // This process exists to run the loops, whatever BACKGROUND_WORK says for the API.
  const config = { ...loadConfig(), backgroundWork: true };
  const database = await databaseForWorker();
  const pool = createPool(await database.requestUrl(), config.dbPoolSize, config.statementTimeoutMs);
  const background = startBackgroundWork({ pool, config, log: console.log });
  console.log(`Worker    running against ${database.embedded ? 'the embedded PostgreSQL' : 'DATABASE_URL'}; Ctrl-C stops it`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => {
      console.log(`\n${signal}: finishing the pass in progress, then stopping`);
      void background
        .stop()
        .then(() => pool.end())
        .then(() => database.stop())
        .then(() => process.exit(0), () => process.exit(1));
    });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
