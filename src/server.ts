import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { localJwtSecret } from './auth/local-secret';
import { resealTotpSecrets } from './accounts/sealing';
import { secretBoxOf, type SecretBox } from './db/secret-box';
import { resealReflexSecrets } from './reflexes/sealing';
import { createTokenVerifier } from './auth/verifier';
import { startBackgroundWork } from './background';
import { localAccounts, redirectOriginsOf } from './accounts/settings';
import { tokenVerificationProblem, type Config } from './config';
import { isLoopbackUrl, migrateAndApplySettings, migrationVersions } from './db/migrations';
import { createPool } from './db/pool';
import { listenUrlOf, resolveDatabase } from './db/resolve';
import { LiveHub } from './live/hub';
import { loginRoleRights, privilegedReason } from './db/roles';
import { seedDemoData } from './db/seed';
import { createApp, scrapeCollectors } from './app';
import { startMetricsServer } from './http/metrics';
import { lineLogger, processLogger, startupLines, type Logger } from './observability/logger';
import { createSkillRunner } from './skills/runner';
import { webhookSettings } from './reflexes/hooks/settings';
import { resealWebhookSecrets } from './webhooks/sealing';
import { outboundWebhookSettings } from './webhooks/settings';

export interface RunningServer {
  baseUrl: string;
  /** The owner's connection (for tools such as the benchmark that arrange data). */
  databaseUrl: string;
  jwtSecret: string | undefined;
  /** METRICS_PORT as bound (a free one when it was 0), when /metrics has a port of its own. */
  metricsPort: number | undefined;
  /**
   * Drains: /ready answers 503 at once and executions running here go back
   * to the queue; after SHUTDOWN_DRAIN_DELAY_MS it stops taking requests, lets
   * those in flight finish, then closes the pool and the database.
   */
  stop(): Promise<void>;
}

/**
 * The HS256 secret in force: configured, or (in the embedded sandbox, without a
 * Supabase project) the local one kept in DATA_DIR. With an external database
 * a secret of this process alone would split the instances, so that is refused.
 */
export function effectiveJwtSecret(config: Config): string | undefined {
  const problem = tokenVerificationProblem(config);
  if (problem) throw new Error(problem);
  if (config.jwtSecret) return config.jwtSecret;
  return config.supabaseUrl ? undefined : localJwtSecret(config.dataDir);
}

/**
 * Seals what is not yet sealed under the current key (secrets written before
 * sealing, or under a key being retired). Every instance may run it at once:
 * rows one holds, the others skip. Also `npm run secrets:reencrypt`.
 */
export async function resealSecrets(
  pool: Pool,
  statementTimeoutMs: number,
  box: SecretBox,
): Promise<{ reflexSecrets: number; totpSecrets: number; webhookSecrets: number }> {
  const deps = { pool, statementTimeoutMs };
  return {
    reflexSecrets: await resealReflexSecrets(deps, box),
    totpSecrets: await resealTotpSecrets(deps, box),
    webhookSecrets: await resealWebhookSecrets(deps, box),
  };
}

/** A setting of an external database that breaks things quietly; said once at start. */
async function warnAboutExternalDatabase(pool: Pool, url: string, log: (line: string) => void): Promise<void> {
  const parsed = new URL(url);
  if (!isLoopbackUrl(parsed) && !parsed.searchParams.has('sslmode')) {
    log(`Warning   DATABASE_URL names no sslmode: the pool connects without TLS and dbmate insists on it; add ?sslmode=verify-full (node-postgres verifies the certificate fully for require too; give a private CA with DATABASE_CA_FILE)`);
  }
  // The SECURITY DEFINER helpers run as the role that ran the migrations, and
  // forced row level security applies to it unless it may bypass it.
  const owner = await pool.query<{ ok: boolean; name: string }>(
    `select r.rolname as name, (r.rolsuper or r.rolbypassrls) as ok
     from pg_catalog.pg_proc p
     join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     join pg_catalog.pg_roles r on r.oid = p.proowner
     where n.nspname = 'app' and p.proname = 'begin_request'`,
  );
  const row = owner.rows[0];
  if (row && !row.ok) {
    log(`Warning   the functions in schema app belong to ${row.name}, which neither is a superuser nor has BYPASSRLS: first sign-ins will fail; run the migrations as such a role`);
  }
}

/**
 * Requests run as the login role and SET ROLE from there; if that role is
 * itself powerful, one injection (or a RESET ROLE) would own the database.
 * Refused unless the operator says otherwise.
 */
async function checkLoginRole(pool: Pool, config: Config, log: (line: string) => void): Promise<void> {
  const reason = privilegedReason(await loginRoleRights(pool));
  if (!reason) return;
  const advice = 'connect DATABASE_URL as a login role without privileges of its own (see SECURITY.md) and give MIGRATION_DATABASE_URL the owner';
  if (!config.allowPrivilegedDatabaseRole) {
    throw new Error(`DATABASE_URL logs in as a role too powerful to serve requests: ${reason}; ${advice}, or set ALLOW_PRIVILEGED_DATABASE_ROLE=true to run anyway`);
  }
  log(`Warning   DATABASE_URL: ${reason} (allowed by ALLOW_PRIVILEGED_DATABASE_ROLE); ${advice}`);
}

/**
 * Starts the API (and, unless BACKGROUND_WORK=false, the background loops).
 * `logger` is the process's (LOG_LEVEL, LOG_FORMAT); start-up lines go to
 * `log`, by default through it.
 */
export async function startServer(config: Config, log?: (line: string) => void, logger: Logger = processLogger(config)): Promise<RunningServer> {
  log ??= startupLines(logger);
  // Before anything starts: a configuration that cannot verify tokens is refused outright.
  const problem = tokenVerificationProblem(config);
  if (problem) throw new Error(problem);
  // Checked before anything starts: a deployment without its keys must not come up half-way.
  const secrets = secretBoxOf(config);
  const database = await resolveDatabase(config);
  try {
    if (config.migrateOnStart) await migrateAndApplySettings(database.ownerUrl, { quotasEnforced: config.quotasEnabled }, log);
    if (config.seedDemoData) await seedDemoData(database.ownerUrl);
    const requestUrl = await database.requestUrl();
    const pool = createPool(requestUrl, config.dbPoolSize, config.statementTimeoutMs, config.dbPreparedStatements);
    if (!database.embedded) await warnAboutExternalDatabase(pool, requestUrl, log);
    if (!database.embedded && !config.publicBaseUrl) {
      log('Warning   PUBLIC_BASE_URL is not set: webhook reflexes show only the path of their URL (never one built from a request\'s Host header)');
    }
    await checkLoginRole(pool, config, log);
    const resealed = await resealSecrets(pool, config.statementTimeoutMs, secrets);
    if (resealed.reflexSecrets + resealed.totpSecrets + resealed.webhookSecrets > 0) {
      log(
        `Secrets   sealed ${resealed.reflexSecrets} reflex webhook, ${resealed.webhookSecrets} outbound webhook and ${resealed.totpSecrets} TOTP secrets under key ${secrets.currentKeyId}`,
      );
    }

    const jwtSecret = effectiveJwtSecret(config);
    const background = startBackgroundWork({ pool, config, logger, secrets });
    let draining = false;
    // One LISTEN session for this process: streams fan out from it, and an execution queued anywhere wakes this worker.
    const live = new LiveHub({
      pool,
      statementTimeoutMs: config.statementTimeoutMs,
      listenUrl: listenUrlOf(config, database, requestUrl),
      log: lineLogger(logger.child({ component: 'live' }), 'warn'),
      wake: (loop) => background.wake(loop),
      settings: { limitPerUser: config.streamLimitPerUser, heartbeatMs: config.streamHeartbeatSeconds * 1000 },
    }).start();
    const app = createApp({
      live,
      pool,
      isDraining: () => draining,
      verifyToken: createTokenVerifier({
        jwtSecret,
        supabaseUrl: config.supabaseUrl,
        supabaseAnonKey: config.supabaseAnonKey,
      }),
      statementTimeoutMs: config.statementTimeoutMs,
      validateResponses: config.validateResponses,
      logRequests: config.logRequests,
      logger,
      metricsToken: config.metricsToken,
      expectedMigrations: migrationVersions(),
      background,
      secrets,
      billing: { config: config.billing },
      reflexWebhooks: webhookSettings(config),
      outboundWebhooks: outboundWebhookSettings(config),
      trustProxy: config.trustProxy,
      corsOrigins: config.corsOrigins,
      quotasEnabled: config.quotasEnabled,
      sessionBurst: config.sessionBurst,
      apiKeyCacheMs: config.apiKeyCacheSeconds * 1000,
      skills: { runner: createSkillRunner(config), executeWaitMaxMs: config.executeWaitMaxMs },
      accounts: config.supabaseUrl
        ? {
            mode: 'supabase',
            url: config.supabaseUrl,
            anonKey: config.supabaseAnonKey!,
            redirectOrigins: redirectOriginsOf(config.corsOrigins, config.publicBaseUrl),
            serviceRoleKey: config.supabaseServiceRoleKey,
          }
        : jwtSecret
          ? localAccounts(jwtSecret, `${config.publicBaseUrl ?? `http://localhost:${config.port}`}/auth/v1`, {
              accessTokenTtlSeconds: config.accessTokenTtlSeconds,
              refreshTokenTtlDays: config.refreshTokenTtlDays,
              sessionCheckSeconds: config.sessionCheckSeconds,
            })
          : undefined,
    });
    const server = http.createServer(app);
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const wildcard = ['0.0.0.0', '::', 'localhost'].includes(config.host);
    const baseUrl = `http://${wildcard ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log(`API       ${baseUrl}/api/v1`);
    log(`Docs      ${baseUrl}/docs`);
    // A port of its own for the scraper (bind it where only the scraper reaches it); METRICS_TOKEN also serves it on the API port.
    const metrics = config.metricsPort === undefined
      ? undefined
      : await startMetricsServer({ port: config.metricsPort, host: config.host, token: config.metricsToken, collectors: scrapeCollectors({ pool, statementTimeoutMs: config.statementTimeoutMs, live }) });
    if (metrics) log(`Metrics   ${baseUrl.replace(/:\d+$/, `:${metrics.port}`)}/metrics${config.metricsToken ? ' (bearer METRICS_TOKEN)' : ''}`);
    else if (config.metricsToken) log(`Metrics   ${baseUrl}/metrics (bearer METRICS_TOKEN)`);
    const { hostname, port: databasePort, username, pathname } = new URL(requestUrl);
    const databaseName = decodeURIComponent(pathname.slice(1));
    // Relative to the working folder when inside it: the line reads as the README's.
    const passwordFile = path.relative(process.cwd(), path.join(config.dataDir, 'postgres-password'));
    const shownPasswordFile = passwordFile.startsWith('..') ? path.join(config.dataDir, 'postgres-password') : passwordFile;
    log(
      database.embedded
        ? `Database  embedded PostgreSQL on ${hostname}:${databasePort}, database ${databaseName} (requests as ${username}; owner postgres, password in ${shownPasswordFile})`
        : `Database  DATABASE_URL (requests as ${username})`,
    );
    if (database.embedded) log(`psql      PGPASSWORD=$(cat ${shownPasswordFile}) psql -h ${hostname} -p ${databasePort} -U postgres ${databaseName}`);
    if (jwtSecret && !config.jwtSecret) log('Token     npm run -s token -- alice@acme.test');

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        draining = true;
        // Runs in flight go back to the queue now (another instance takes them), not after a long model call.
        const loopsStopped = background.stopLoops?.() ?? Promise.resolve();
        // Still serving while load balancers see /ready fail and stop sending here.
        if (config.shutdownDrainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainDelayMs));
        // Streams never finish on their own: end them now, when their clients reconnect elsewhere (with Last-Event-ID).
        await live.close();
        await new Promise<void>((resolve) => {
          // Idle keep-alive sockets would hold close() open, and a busy one turns
          // idle once its response is sent: keep closing those until none is left.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        });
        await loopsStopped;
        await metrics?.close();
        await background.stop();
        await pool.end();
        await database.stop();
      })();
      return stopping;
    };
    return { baseUrl, databaseUrl: database.ownerUrl, jwtSecret, metricsPort: metrics?.port, stop };
  } catch (error) {
    await database.stop();
    throw error;
  }
}
