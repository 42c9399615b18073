import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

/** Everything the server reads from its environment, parsed once. */
export interface Config {
  port: number;
  host: string;
  /**
   * SHUTDOWN_DRAIN_DELAY_MS: after SIGTERM, how long the server keeps taking
   * new requests while /ready answers 503, so a load balancer stops sending
   * before the listener closes.
   */
  shutdownDrainDelayMs: number;
  /** SHUTDOWN_TIMEOUT_MS: the longest a shutdown may take (drain delay included) before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** External PostgreSQL for requests and workers, as the login role; when absent an embedded server is started. */
  databaseUrl: string | undefined;
  /** The same database as its owner, for migrations and demo data; DATABASE_URL when absent. */
  migrationDatabaseUrl: string | undefined;
  /**
   * DATABASE_CA_FILE: the certificate authority (PEM) that signed the database server's certificate,
   * given to every connection (requests, migrations, worker) as `sslrootcert`.
   */
  databaseCaFile: string | undefined;
  /** Serve requests even when DATABASE_URL logs in as a superuser, a BYPASSRLS role or the schema's owner. */
  allowPrivilegedDatabaseRole: boolean;
  dataDir: string;
  embeddedDbPort: number | undefined;
  migrateOnStart: boolean;
  /** How long an instance that does not migrate (MIGRATE_ON_START=false) waits for another one to bring the schema up to date. */
  migrationWaitSeconds: number;
  seedDemoData: boolean;
  jwtSecret: string | undefined;
  supabaseUrl: string | undefined;
  supabaseAnonKey: string | undefined;
  dbPoolSize: number;
  /** Statements each pooled connection keeps prepared (0: none, for a pooler that cannot carry them). */
  dbPreparedStatements: number;
  statementTimeoutMs: number;
  validateResponses: boolean;
  /** LOG_REQUESTS: one structured log line per request (at level info). */
  logRequests: boolean;
  /** LOG_LEVEL: the least severe level written; `silent` writes nothing. */
  logLevel: LogLevel;
  /** LOG_FORMAT: `json` (one object a line), `pretty` (pino-pretty, a development dependency); unset: pretty on a terminal when installed. */
  logFormat: LogFormat | undefined;
  /** METRICS_TOKEN: the bearer token /metrics asks for (on the API port it is served only with one). */
  metricsToken: string | undefined;
  /** METRICS_PORT: a port of its own for /metrics (bind it where only the scraper reaches it). */
  metricsPort: number | undefined;
  /** Run the background loops (scheduler, execution worker) inside this process. */
  backgroundWork: boolean;
  /** Pause between scheduler passes that found less than a full batch of due habits. */
  schedulerIntervalMs: number;
  /** Due habits one scheduler pass claims at most. */
  schedulerBatchSize: number;
  /** Days product analytics events are kept before the analytics-retention loop deletes them. */
  analyticsRetentionDays: number;
  /**
   * EVENTS_DATABASE_URL: a direct connection for the one LISTEN session of each
   * process (a transaction pooler cannot hold one); MIGRATION_DATABASE_URL, else
   * DATABASE_URL, else the embedded database when absent.
   */
  eventsDatabaseUrl: string | undefined;
  /** Days activity events (the outbox of live streams) are kept. */
  activityEventsRetentionDays: number;
  /** Streams one user may hold open on one instance. */
  streamLimitPerUser: number;
  /** Seconds between a stream's heartbeats. */
  streamHeartbeatSeconds: number;
  /** The API's public address (e.g. https://api.example.com), for the webhook URLs reflexes show; never taken from a request's Host. */
  publicBaseUrl: string | undefined;
  /** TRUST_PROXY: which proxies' X-Forwarded-* headers Express believes (req.ip, req.protocol); false: none. */
  trustProxy: TrustProxy;
  /** CORS_ORIGINS: the browser origins that may call the API from another origin; '*' for any. */
  corsOrigins: CorsOrigins;
  /** Largest body a signed reflex webhook (and an event) may send. */
  webhookMaxBodyBytes: number;
  /** How far a webhook's signed timestamp may be from the server's clock. */
  webhookToleranceSeconds: number;
  /** Outbound webhooks: where they may go, how long an attempt may take, when to retry and when to give up. */
  outboundWebhooks: OutboundWebhookConfig;
  /**
   * Plan quotas answer 429 past their limits; when false, usage is counted but
   * never refused. Written to the database (app.deployment_settings) when this
   * process runs the migrations; the database enforces it.
   */
  quotasEnabled: boolean;
  /** Local accounts (no Supabase project): how long an access token lives. */
  accessTokenTtlSeconds: number;
  /** Local accounts: days a session lives without a refresh. */
  refreshTokenTtlDays: number;
  /** Local accounts: how stale this instance's knowledge that a session has not ended may be. */
  sessionCheckSeconds: number;
  /** SESSION_RATE_PER_SECOND and SESSION_BURST: each signed-in user's session traffic, per instance (token bucket). */
  sessionBurst: { ratePerSecond: number; burst: number };
  /** API_KEY_CACHE_SECONDS: how long a verified API key is trusted before it is looked up again. */
  apiKeyCacheSeconds: number;
  // ---- Skills and executions ----
  /**
   * How skills run: `template` renders the prompt and calls no model; `http` posts it to an LLM gateway;
   * `openai` and `anthropic` call a model through the vendor's SDK (any server speaking that API).
   */
  skillRunner: SkillRunnerKind;
  /** The gateway (`http`), or the API's base URL (`openai`, `anthropic`; the vendor's when unset). */
  skillRunnerUrl: string | undefined;
  skillRunnerApiKey: string | undefined;
  /** One limit for a whole run: every attempt, the streamed answer included. */
  skillRunnerTimeoutMs: number;
  /** Retries of a model call that failed with 408, 409, 429, a 5xx or a dropped connection (`openai`, `anthropic`). */
  skillRunnerMaxRetries: number;
  /** The request field that carries a skill's max_tokens to an OpenAI-compatible API. */
  skillRunnerMaxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** MODEL_PRICES: euros per million input and output tokens, by model name (exact decimal strings). */
  modelPrices: ModelPrices;
  /** Pause of the execution worker when its queue is empty. */
  executionWorkerIntervalMs: number;
  /** Executions one worker runs at once (each slot takes the next as soon as it frees up). */
  executionWorkerConcurrency: number;
  /** Attempts an execution gets in all when its runs fail transiently (timeout, 429, 5xx, unreachable, worker lost). */
  executionMaxAttempts: number;
  /** Wait before the first retry; each later one waits twice as long (jittered, at most five minutes). */
  executionRetryDelayMs: number;
  /** The longest `POST /skills/{id}/execute?wait=true` holds a request open. */
  executeWaitMaxMs: number;
  /** Billing: Stripe (both keys or neither), the seller on invoices, the optional VIES check. */
  billing: BillingConfig;
  /**
   * SECRETS_ENCRYPTION_KEYS: base64 keys of 32 bytes, separated by commas; the
   * first seals the secrets kept at rest (webhook and TOTP secrets), every one
   * opens them. Absent: embedded mode keeps a generated key in DATA_DIR.
   */
  secretsEncryptionKeys: string[] | undefined;
  /** SUPABASE_SERVICE_ROLE_KEY: lets an erased account be deleted from Supabase Auth too (its admin API). */
  supabaseServiceRoleKey: string | undefined;
  /** Outgoing mail: SMTP when SMTP_URL is set, else .eml files in the local outbox directory. */
  mail: MailConfig;
}

export interface MailConfig {
  /** SMTP_URL, e.g. smtps://user:password@smtp.example.com:465; absent: mail is written to `outboxDir`. */
  smtpUrl: string | undefined;
  /** MAIL_FROM: the sender of every mail. */
  from: string;
  /** MAIL_OUTBOX_DIR: where mail goes without SMTP, one .eml file each (default DATA_DIR/mail-outbox). */
  outboxDir: string;
  /** MAIL_INTERVAL_MS: pause of the mail and digest loops when nothing is due. */
  intervalMs: number;
  /** MAIL_MAX_ATTEMPTS: sends of one mail before it is given up. */
  maxAttempts: number;
}

/** Outbound webhooks as the environment sets them (src/webhooks/settings.ts checks and parses the lists). */
export interface OutboundWebhookConfig {
  /** WEBHOOK_ALLOW_HTTP: plain http endpoints too (https only by default). */
  allowHttp: boolean;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: endpoints on private, loopback, link-local ... addresses too (never cloud metadata). */
  allowPrivateTargets: boolean;
  /** WEBHOOK_ALLOWED_TARGETS: CIDR blocks, addresses and host names allowed whatever they resolve to. */
  allowedTargets: string | undefined;
  /** WEBHOOK_TIMEOUT_MS: one attempt, connection to the end of the answer's excerpt. */
  timeoutMs: number;
  /** WEBHOOK_RETRY_SCHEDULE: seconds before each retry, comma-separated. */
  retrySchedule: string | undefined;
  /** WEBHOOK_DELIVERY_INTERVAL_MS: pause of the delivery loop when nothing is due. */
  intervalMs: number;
  /** WEBHOOK_DELIVERY_CONCURRENCY: attempts one process makes at once. */
  concurrency: number;
  /** WEBHOOK_AUTO_PAUSE_FAILURES and WEBHOOK_AUTO_PAUSE_DAYS: an endpoint is paused after either. */
  autoPauseFailures: number;
  autoPauseDays: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

export type SkillRunnerKind = 'template' | 'http' | 'openai' | 'anthropic';

/** Prices of a model in euros per million tokens, as exact decimal strings. */
export interface ModelPrice {
  input: string;
  output: string;
}

/**
 * By model name: an exact name, a prefix ending in `*` ("gpt-4o*"), or `*`
 * alone for every model no other entry names.
 */
export type ModelPrices = Record<string, ModelPrice>;

export interface BillingConfig {
  stripeSecretKey: string | undefined;
  stripeWebhookSecret: string | undefined;
  sellerName: string;
  sellerAddress: string;
  sellerBtw: string | undefined;
  sellerKvk: string | undefined;
  /** Ask the EU's VIES service about VAT numbers (off: checks stay local). */
  viesCheck: boolean;
  /** Where the web app lives, for the pages Stripe Checkout returns to. */
  webAppUrl: string;
}

function bool(name: string, fallback: boolean, env: NodeJS.ProcessEnv): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

function int(name: string, fallback: number | undefined, env: NodeJS.ProcessEnv, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function text(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

function publicBaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = text('PUBLIC_BASE_URL', env);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`PUBLIC_BASE_URL must be an http or https URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`PUBLIC_BASE_URL must be an http or https URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** Express's `trust proxy` setting: all, none, a number of hops, or the proxies' addresses and subnets. */
export type TrustProxy = boolean | number | string[];

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function trustProxy(env: NodeJS.ProcessEnv): TrustProxy {
  const raw = text('TRUST_PROXY', env);
  if (raw === undefined || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d{1,2}$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0 || !entries.every(isProxyAddress)) {
    throw new Error(
      `TRUST_PROXY must be false, true, a number of proxies, or addresses and subnets (CIDR) separated by commas (loopback, linklocal and uniquelocal name common ones), got "${raw}"`,
    );
  }
  return entries;
}

/** Origins a browser may call the API from: a list, or any ('*'). */
export type CorsOrigins = readonly string[] | '*';

/** The usual local development servers of a web app (Vite, its preview, Create React App, Next.js). */
export const DEFAULT_CORS_ORIGINS: readonly string[] = [
  'http://localhost:5173',
  'http://127.0.0.1:5173',
  'http://localhost:4173',
  'http://localhost:3000',
  'http://127.0.0.1:3000',
];

/** An origin as a browser sends it: scheme, host and port only, no path. */
function asOrigin(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/+$/, '')) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

export function corsOrigins(env: NodeJS.ProcessEnv): CorsOrigins {
  const raw = text('CORS_ORIGINS', env);
  if (raw === undefined) return DEFAULT_CORS_ORIGINS;
  if (raw === '*') return '*';
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const origins = entries.map(asOrigin);
  if (origins.some((origin) => origin === undefined)) {
    throw new Error(`CORS_ORIGINS must be * or origins such as https://app.example.com (scheme, host and port, no path) separated by commas, got "${raw}"`);
  }
  return origins as string[];
}

/**
 * The web frontend's development server listens on 3000 and forwards /api/v1
 * to localhost:8000 (its vite.config.ts), so the API takes 8000 and the two
 * run side by side without settings.
 */
export const DEFAULT_PORT = 8000;
export const DEFAULT_WEB_APP_URL = 'http://localhost:3000';

function caFile(env: NodeJS.ProcessEnv): string | undefined {
  const raw = text('DATABASE_CA_FILE', env);
  if (raw === undefined) return undefined;
  const file = path.resolve(raw);
  // Said at start, not at the first connection, where it would look like a network error.
  if (!existsSync(file)) throw new Error(`DATABASE_CA_FILE names ${file}, which does not exist`);
  return file;
}

/**
 * Reads `.env` from the working folder into process.env when it exists. A
 * variable already set in the environment wins over the file, so a deployment's
 * real settings are never overridden by a stray file.
 */
export function loadEnvFileIfPresent(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * Whether this process may sign or verify tokens with a secret it makes up
 * itself. Only the embedded sandbox may: with DATABASE_URL, several instances
 * would each generate their own and refuse one another's tokens.
 */
export function tokenVerificationProblem(config: Pick<Config, 'databaseUrl' | 'jwtSecret' | 'supabaseUrl'>): string | null {
  if (!config.databaseUrl || config.jwtSecret || config.supabaseUrl) return null;
  return 'DATABASE_URL is set but nothing verifies tokens: set SUPABASE_JWT_SECRET (the HS256 secret every instance shares; local accounts sign with it too) or SUPABASE_URL with SUPABASE_ANON_KEY';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = text('DATABASE_URL', env);
  const supabaseUrl = text('SUPABASE_URL', env)?.replace(/\/+$/, '');
  const supabaseAnonKey = text('SUPABASE_ANON_KEY', env);
  if (supabaseUrl && !supabaseAnonKey) {
    throw new Error('SUPABASE_URL is set but SUPABASE_ANON_KEY is not: both are needed to verify tokens with Supabase');
  }
  return {
    port: int('PORT', DEFAULT_PORT, env, 0, 65535)!,
    host: text('HOST', env) ?? '0.0.0.0',
    shutdownDrainDelayMs: int('SHUTDOWN_DRAIN_DELAY_MS', 0, env, 0, 600000)!,
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 15000, env, 1000, 3600000)!,
    databaseUrl,
    migrationDatabaseUrl: text('MIGRATION_DATABASE_URL', env),
    databaseCaFile: caFile(env),
    allowPrivilegedDatabaseRole: bool('ALLOW_PRIVILEGED_DATABASE_ROLE', false, env),
    dataDir: path.resolve(text('DATA_DIR', env) ?? '.data'),
    embeddedDbPort: int('EMBEDDED_DB_PORT', undefined, env, 1, 65535),
    migrateOnStart: bool('MIGRATE_ON_START', true, env),
    migrationWaitSeconds: int('MIGRATION_WAIT_SECONDS', 300, env, 0, 86400)!,
    // Demo users and projects belong in the embedded sandbox, never in a real database by default.
    seedDemoData: bool('SEED_DEMO_DATA', databaseUrl === undefined, env),
    jwtSecret: text('SUPABASE_JWT_SECRET', env),
    supabaseUrl,
    supabaseAnonKey,
    dbPoolSize: int('DB_POOL_SIZE', 10, env, 1, 500)!,
    dbPreparedStatements: int('DB_PREPARED_STATEMENTS', 200, env, 0, 10_000)!,
    statementTimeoutMs: int('STATEMENT_TIMEOUT_MS', 5000, env, 100, 600000)!,
    // A contract check of every response costs throughput: on in development and tests, off in production unless asked for.
    validateResponses: bool('VALIDATE_RESPONSES', env.NODE_ENV !== 'production', env),
    logRequests: bool('LOG_REQUESTS', true, env),
    ...observabilityConfig(env),
    backgroundWork: bool('BACKGROUND_WORK', true, env),
    schedulerIntervalMs: int('SCHEDULER_INTERVAL_MS', 10000, env, 100, 3600000)!,
    schedulerBatchSize: int('SCHEDULER_BATCH_SIZE', 50, env, 1, 1000)!,
    analyticsRetentionDays: int('ANALYTICS_RETENTION_DAYS', 90, env, 1, 3650)!,
    eventsDatabaseUrl: text('EVENTS_DATABASE_URL', env),
    activityEventsRetentionDays: int('ACTIVITY_EVENTS_RETENTION_DAYS', 30, env, 1, 3650)!,
    streamLimitPerUser: int('STREAM_LIMIT_PER_USER', 5, env, 1, 1000)!,
    streamHeartbeatSeconds: int('STREAM_HEARTBEAT_SECONDS', 15, env, 1, 300)!,
    publicBaseUrl: publicBaseUrl(env),
    trustProxy: trustProxy(env),
    corsOrigins: corsOrigins(env),
    webhookMaxBodyBytes: int('WEBHOOK_MAX_BODY_BYTES', 65536, env, 1024, 1048576)!,
    webhookToleranceSeconds: int('WEBHOOK_TOLERANCE_SECONDS', 300, env, 10, 3600)!,
    outboundWebhooks: {
      allowHttp: bool('WEBHOOK_ALLOW_HTTP', false, env),
      allowPrivateTargets: bool('WEBHOOK_ALLOW_PRIVATE_TARGETS', false, env),
      allowedTargets: text('WEBHOOK_ALLOWED_TARGETS', env),
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10000, env, 100, 120000)!,
      retrySchedule: text('WEBHOOK_RETRY_SCHEDULE', env),
      intervalMs: int('WEBHOOK_DELIVERY_INTERVAL_MS', 1000, env, 10, 3600000)!,
      concurrency: int('WEBHOOK_DELIVERY_CONCURRENCY', 8, env, 1, 100)!,
      autoPauseFailures: int('WEBHOOK_AUTO_PAUSE_FAILURES', 50, env, 1, 100000)!,
      autoPauseDays: int('WEBHOOK_AUTO_PAUSE_DAYS', 5, env, 1, 365)!,
    },
    quotasEnabled: bool('QUOTAS_ENABLED', true, env),
    accessTokenTtlSeconds: int('ACCESS_TOKEN_TTL_SECONDS', 3600, env, 60, 86400)!,
    refreshTokenTtlDays: int('REFRESH_TOKEN_TTL_DAYS', 30, env, 1, 365)!,
    sessionCheckSeconds: int('SESSION_CHECK_SECONDS', 5, env, 0, 300)!,
    sessionBurst: {
      ratePerSecond: int('SESSION_RATE_PER_SECOND', 20, env, 1, 100000)!,
      burst: int('SESSION_BURST', 40, env, 1, 1000000)!,
    },
    apiKeyCacheSeconds: int('API_KEY_CACHE_SECONDS', 30, env, 0, 3600)!,
    billing: loadBillingConfig(env),
    secretsEncryptionKeys: secretsEncryptionKeys(env),
    supabaseServiceRoleKey: text('SUPABASE_SERVICE_ROLE_KEY', env),
    mail: mailConfig(env),
    ...skillsConfig(env),
  };
}

/** Logs and metrics: LOG_LEVEL, LOG_FORMAT, METRICS_TOKEN, METRICS_PORT. */
function observabilityConfig(env: NodeJS.ProcessEnv) {
  const level = (text('LOG_LEVEL', env) ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const format = text('LOG_FORMAT', env)?.toLowerCase();
  if (format !== undefined && format !== 'json' && format !== 'pretty') throw new Error(`LOG_FORMAT must be json or pretty, got "${format}"`);
  const metricsToken = text('METRICS_TOKEN', env);
  // A scraper's token sits in its configuration for good: short ones are guessable.
  if (metricsToken !== undefined && metricsToken.length < 16) throw new Error('METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)');
  return {
    logLevel: level as LogLevel,
    logFormat: format as LogFormat | undefined,
    metricsToken,
    metricsPort: int('METRICS_PORT', undefined, env, 0, 65535),
  };
}

/** The keys as written (checked for form when the server builds its secret box). */
function secretsEncryptionKeys(env: NodeJS.ProcessEnv): string[] | undefined {
  // Looked at only to refuse it: a near miss of the real name would otherwise leave secrets unsealed.
  if (env.SECRETS_ENCRYPTION_KEY) {
    throw new Error('SECRETS_ENCRYPTION_KEY is not read: name the key SECRETS_ENCRYPTION_KEYS (several keys, separated by commas, rotate)');
  }
  const raw = text('SECRETS_ENCRYPTION_KEYS', env);
  if (raw === undefined) return undefined;
  const keys = raw.split(',').map((key) => key.trim()).filter((key) => key !== '');
  if (keys.length === 0 || keys.some((key) => !/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(key))) {
    throw new Error('SECRETS_ENCRYPTION_KEYS must be base64 keys of 32 bytes (openssl rand -base64 32), separated by commas, the sealing key first');
  }
  return keys;
}

export function loadBillingConfig(env: NodeJS.ProcessEnv): BillingConfig {
  const stripeSecretKey = text('STRIPE_SECRET_KEY', env);
  const stripeWebhookSecret = text('STRIPE_WEBHOOK_SECRET', env);
  if (Boolean(stripeSecretKey) !== Boolean(stripeWebhookSecret)) {
    throw new Error('STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET go together: set both to take payments with Stripe, or neither');
  }
  return {
    stripeSecretKey,
    stripeWebhookSecret,
    sellerName: text('BILLING_SELLER_NAME', env) ?? 'DevTools B.V.',
    sellerAddress: text('BILLING_SELLER_ADDRESS', env) ?? 'Keizersgracht 1, 1015 AA Amsterdam, Netherlands',
    sellerBtw: text('BILLING_SELLER_BTW', env),
    sellerKvk: text('BILLING_SELLER_KVK', env),
    viesCheck: bool('VIES_CHECK', false, env),
    webAppUrl: (text('WEB_APP_URL', env) ?? DEFAULT_WEB_APP_URL).replace(/\/+$/, ''),
  };
}

export function mailConfig(env: NodeJS.ProcessEnv): MailConfig {
  const smtpUrl = text('SMTP_URL', env);
  if (smtpUrl && !/^smtps?:\/\/[^/]/i.test(smtpUrl)) throw new Error('SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtps://user:password@smtp.example.com:465');
  const from = text('MAIL_FROM', env) ?? 'DevTools <no-reply@localhost>';
  // Said at start, not at the first mail: an address without @ would fail every send.
  if (!/@[^@\s>]+>?$/.test(from)) throw new Error(`MAIL_FROM must be an address, optionally with a name ("DevTools <no-reply@example.com>"), got "${from}"`);
  return {
    smtpUrl,
    from,
    outboxDir: path.resolve(text('MAIL_OUTBOX_DIR', env) ?? path.join(text('DATA_DIR', env) ?? '.data', 'mail-outbox')),
    intervalMs: int('MAIL_INTERVAL_MS', 5000, env, 100, 3600000)!,
    maxAttempts: int('MAIL_MAX_ATTEMPTS', 8, env, 1, 50)!,
  };
}

// ---- Skills and executions ----
const RUNNERS: readonly SkillRunnerKind[] = ['template', 'http', 'openai', 'anthropic'];
const PRICE = /^\d{1,9}(\.\d{1,12})?$/;

/**
 * MODEL_PRICES: a JSON object of model name to { "input": "0.15", "output": "0.60" },
 * euros per million tokens. Strings keep the decimals exact; plain JSON numbers
 * are read through their decimal text.
 */
export function parseModelPrices(raw: string | undefined): ModelPrices {
  if (raw === undefined) return {};
  const fail = (why: string) => new Error(`MODEL_PRICES ${why}; expected e.g. {"gpt-4o-mini": {"input": "0.15", "output": "0.60"}} (euros per million tokens)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw fail('is not JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('must be a JSON object');
  const prices: ModelPrices = {};
  for (const [model, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (model.length === 0 || model.length > 100) throw fail(`has a model name of ${model.length} characters`);
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw fail(`gives "${model}" no object`);
    const { input, output, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw fail(`gives "${model}" unknown fields (${Object.keys(rest).join(', ')})`);
    const text = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value);
    const [inputText, outputText] = [text(input), text(output)];
    if (typeof inputText !== 'string' || !PRICE.test(inputText) || typeof outputText !== 'string' || !PRICE.test(outputText)) {
      throw fail(`gives "${model}" an input or output price that is not a non-negative decimal`);
    }
    // defineProperty: a model named "__proto__" is a name, not the object's prototype.
    Object.defineProperty(prices, model, { value: { input: inputText, output: outputText }, enumerable: true, writable: true, configurable: true });
  }
  return prices;
}

function skillsConfig(env: NodeJS.ProcessEnv) {
  const runner = (text('SKILL_RUNNER', env) ?? 'template') as SkillRunnerKind;
  if (!RUNNERS.includes(runner)) throw new Error(`SKILL_RUNNER must be one of ${RUNNERS.join(', ')}, got "${runner}"`);
  const url = text('SKILL_RUNNER_URL', env);
  if (runner === 'http' && !url) throw new Error('SKILL_RUNNER=http needs SKILL_RUNNER_URL (the LLM gateway to post prompts to)');
  if (url && runner !== 'template' && !/^https?:\/\//i.test(url)) throw new Error(`SKILL_RUNNER_URL must be an http or https URL, got "${url}"`);
  const apiKey = text('SKILL_RUNNER_API_KEY', env);
  if ((runner === 'openai' || runner === 'anthropic') && !apiKey) {
    // A local server that checks no key (Ollama, vLLM) takes any value.
    throw new Error(`SKILL_RUNNER=${runner} needs SKILL_RUNNER_API_KEY (any value for a local server that checks none)`);
  }
  const maxTokensField = text('SKILL_RUNNER_MAX_TOKENS_FIELD', env) ?? (url ? 'max_tokens' : 'max_completion_tokens');
  if (maxTokensField !== 'max_tokens' && maxTokensField !== 'max_completion_tokens') {
    throw new Error(`SKILL_RUNNER_MAX_TOKENS_FIELD must be max_tokens or max_completion_tokens, got "${maxTokensField}"`);
  }
  return {
    skillRunner: runner,
    skillRunnerUrl: url,
    skillRunnerApiKey: apiKey,
    skillRunnerTimeoutMs: int('SKILL_RUNNER_TIMEOUT_MS', 60000, env, 100, 600000)!,
    skillRunnerMaxRetries: int('SKILL_RUNNER_MAX_RETRIES', 2, env, 0, 10)!,
    skillRunnerMaxTokensField: maxTokensField as Config['skillRunnerMaxTokensField'],
    modelPrices: parseModelPrices(text('MODEL_PRICES', env)),
    executionWorkerIntervalMs: int('EXECUTION_WORKER_INTERVAL_MS', 1000, env, 10, 3600000)!,
    executionWorkerConcurrency: int('EXECUTION_WORKER_CONCURRENCY', 4, env, 1, 100)!,
    executionMaxAttempts: int('EXECUTION_MAX_ATTEMPTS', 3, env, 1, 20)!,
    executionRetryDelayMs: int('EXECUTION_RETRY_DELAY_MS', 5000, env, 0, 300000)!,
    executeWaitMaxMs: int('EXECUTE_WAIT_MAX_MS', 10000, env, 0, 60000)!,
  };
}
