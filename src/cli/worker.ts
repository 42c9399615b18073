// npm run worker: the background loops (scheduler, execution worker) without the HTTP API.
// Against DATABASE_URL; otherwise the embedded database of an `npm start` running
// with the same DATA_DIR, or, when none runs, the embedded database started here.
// Before serving, it brings the schema up to date under the same advisory lock as
// the API instances (MIGRATE_ON_START, the default), or waits until another
// process has (MIGRATE_ON_START=false, up to MIGRATION_WAIT_SECONDS).
import type pg from 'pg';
import { startBackgroundWork } from '../background';
import { loadConfig, loadEnvFileIfPresent, type Config } from '../config';
import { migrateAndApplySettings, migrationVersions } from '../db/migrations';
import { runningEmbeddedDatabaseUrl } from '../db/postmaster';
import { createPool } from '../db/pool';
import { embeddedHandle, listenUrlOf, resolveDatabase, type DatabaseHandle } from '../db/resolve';
import { LiveHub } from '../live/hub';
import { readiness } from '../health/readiness';
import { lineLogger, processLogger, startupLines, type Logger } from '../observability/logger';

async function databaseForWorker(config: Config): Promise<DatabaseHandle> {
  if (!config.databaseUrl) {
    const shared = await runningEmbeddedDatabaseUrl(config.dataDir);
    if (shared) return { ...embeddedHandle(config.dataDir, shared), stop: async () => undefined };
  }
  return resolveDatabase(config);
}

/** Polls until every migration this code expects is applied; the loops would fail on an older schema. */
async function waitForMigrations(pool: pg.Pool, config: Config, logger: Logger): Promise<void> {
  const deadline = Date.now() + config.migrationWaitSeconds * 1000;
  for (let said = false; ; said = true) {
    const state = await readiness({ pool, statementTimeoutMs: config.statementTimeoutMs, expectedMigrations: migrationVersions() });
    if (state.status === 'ready') return;
    if (Date.now() >= deadline) {
      throw new Error(`the database has ${state.migrations.applied} of ${state.migrations.expected} migrations after ${config.migrationWaitSeconds} s; run npm run db:migrate or start an instance with MIGRATE_ON_START=true`);
    }
    if (!said) logger.info(`Worker    waiting for the migrations (${state.migrations.applied} of ${state.migrations.expected} applied)`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function main(): Promise<void> {
  loadEnvFileIfPresent();
  // This process exists to run the loops, whatever BACKGROUND_WORK says for the API.
  const config = { ...loadConfig(), backgroundWork: true };
  const logger = processLogger(config);
  const database = await databaseForWorker(config);
  if (config.migrateOnStart) await migrateAndApplySettings(database.ownerUrl, { quotasEnforced: config.quotasEnabled }, startupLines(logger));
  const requestUrl = await database.requestUrl();
  const pool = createPool(requestUrl, config.dbPoolSize, config.statementTimeoutMs, config.dbPreparedStatements);
  if (!config.migrateOnStart) await waitForMigrations(pool, config, logger);
  const background = startBackgroundWork({ pool, config, logger });
  // No streams here: the LISTEN session only wakes the execution worker when any instance queues a run.
  const live = new LiveHub({
    pool,
    statementTimeoutMs: config.statementTimeoutMs,
    listenUrl: listenUrlOf(config, database, requestUrl),
    log: lineLogger(logger.child({ component: 'live' }), 'warn'),
    wake: (loop) => background.wake(loop),
  }).start();
  logger.info(`Worker    running against ${database.embedded ? 'the embedded PostgreSQL' : 'DATABASE_URL'}; Ctrl-C stops it`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => {
      logger.info(`${signal}: handing the executions running here back to the queue, then stopping`);
      void live
        .close()
        .then(() => background.stop())
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
