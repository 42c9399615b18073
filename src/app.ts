import type { Express } from 'express';
import type pg from 'pg';
import { refusingEndedSessions, sessionLiveness } from './accounts/liveness';
import { accountsRoutes } from './accounts/routes';
import type { AccountsSettings } from './accounts/settings';
import { analyticsRoutes } from './analytics/routes';
import { storeEvents } from './analytics/operations';
import { createAnalyticsQueue, DEFAULT_QUEUE_SIZES, type AnalyticsQueue } from './analytics/queue';
import { auditRoutes } from './audit/routes';
import type { BackgroundWork } from './background';
import { refusePaymentSecrets } from './billing/card-data';
import { apiKeysRoutes } from './api-keys/routes';
import { createApiKeyUsage, type ApiKeyUsage } from './api-keys/usage';
import { createApiKeyVerifier } from './api-keys/verifier';
import { monthlyQuotaHeaders, rateLimitHeaders } from './billing/quotas/headers';
import { billingRoutes, DEFAULT_BILLING, type BillingDeps } from './billing/routes';
import { usageRoutes } from './billing/usage/routes';
import { loadConfig } from './config';
import type { SecretBox } from './db/secret-box';
import { eventsRoutes } from './events/routes';
import { executionQueueState } from './executions/queue-state';
import { executionsRoutes } from './executions/routes';
import { habitsRoutes } from './habits/routes';
import { DEFAULT_LIVE_SETTINGS, type LiveHub } from './live/hub';
import { liveRoutes } from './live/routes';
import { streamTicketHandler } from './live/tickets';
import { healthRoutes } from './health/routes';
import { idempotencyKeys } from './idempotency/middleware';
import { assembleHttpApp, type HttpSettings } from './http/assemble';
import { API_BASE, transactionRunner } from './http/context';
import { Operations } from './http/route';
import { poolCollector, type ScrapeCollector } from './http/metrics';
import { createLogger, lineLogger, type Logger } from './observability/logger';
import { eventStreamsOpen, executionsOldestPendingAge, executionsPending } from './observability/metrics';
import { ApiCallLeases } from './db/api-call-leases';
import { RequestContexts } from './db/request-contexts';
import { invitationMailer } from './mail/invitations';
import { meRoutes } from './me/routes';
import { notificationsRoutes } from './notifications/routes';
import { organizationMembersRoutes } from './organizations/members/routes';
import { organizationsRoutes } from './organizations/routes';
import { filesRoutes } from './projects/files/routes';
import { ingestionsRoutes } from './projects/ingestions/routes';
import { invitationsRoutes } from './projects/invitations/routes';
import { membersRoutes } from './projects/members/routes';
import { repositoriesRoutes } from './projects/repositories/routes';
import { projectsRoutes } from './projects/routes';
import { reflexesRoutes } from './reflexes/routes';
import { skillBundleRoutes } from './skills/bundle';
import { skillsRoutes } from './skills/routes';
import { skillRunsRoutes } from './skills/run-routes';
import { createSkillRunner, type SkillRunner } from './skills/runner';
import { DEFAULT_WEBHOOK_SETTINGS, type ReflexWebhookSettings } from './reflexes/hooks/settings';
import { reflexHooksRoutes } from './reflexes/hooks/routes';
import { WEBHOOK_DELIVERY_LOOP } from './webhooks/delivery';
import { webhooksRoutes } from './webhooks/routes';
import { DEFAULT_OUTBOUND_WEBHOOK_SETTINGS, type OutboundWebhookSettings } from './webhooks/settings';

/** Everything the API is assembled from: the HTTP stack's settings and each domain's own. */
export interface AppDeps extends HttpSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Migration versions the code expects to be applied (for /ready). */
  expectedMigrations: string[];
  /** The background loops of this process, to wake one when work was just queued. */
  background: BackgroundWork;
  /** Billing settings (payment provider, seller); embedded defaults when absent. */
  billing?: BillingDeps;
  /** Inbound reflex webhooks: public address, body limit, clock tolerance (defaults when absent). */
  reflexWebhooks?: ReflexWebhookSettings;
  /** Outbound webhooks: where endpoints may point (checked on registration), retries; strict defaults when absent. */
  outboundWebhooks?: OutboundWebhookSettings;
  /**
   * QUOTAS_ENABLED (the server passes its config): metered responses carry the
   * X-RateLimit-* headers of the API-call quota. What is refused is the
   * database's decision (app.deployment_settings), never this flag's.
   */
  quotasEnabled?: boolean;
  /** Where API-key usage is counted; the background work's, else one of the app's own (tests pass theirs to flush it). */
  apiKeyUsage?: ApiKeyUsage;
  /** Where API-key calls are counted: the background work's, else one of the app's own (tests pass theirs to settle it). */
  apiCallLeases?: ApiCallLeases;
  /** How long a verified API key is trusted before it is looked up again (default 30 s; revocation is checked on every request regardless). */
  apiKeyCacheMs?: number;
  /** How skills run; built from the environment (SKILL_RUNNER ...) when not given. */
  skills?: { runner: SkillRunner; executeWaitMaxMs: number };
  /** Signing in (/auth): the local account store, or Supabase's; absent, the endpoints answer 501. */
  accounts?: AccountsSettings;
  /** Seals the secrets kept at rest (webhook and TOTP secrets): SECRETS_ENCRYPTION_KEYS, or the embedded key. */
  secrets: SecretBox;
  /** True once the server has begun to shut down (/ready answers 503 from then on). */
  isDraining?: () => boolean;
  /** This process's live events (LISTEN session and streams); absent, the streams answer 503 (tickets are still issued). */
  live?: LiveHub;
  /** METRICS_TOKEN: with it, GET /metrics is served on the API port to callers that send it; without, not at all there. */
  metricsToken?: string;
}

/** The values a /metrics scrape reads when asked (the pool's counters, the execution queue), on whichever port serves it. */
export function scrapeCollectors(deps: Pick<AppDeps, 'pool' | 'statementTimeoutMs' | 'live'>): ScrapeCollector[] {
  return [
    poolCollector(deps.pool),
    {
      name: 'streams',
      async collect() {
        eventStreamsOpen.set(deps.live?.openStreams() ?? 0);
      },
    },
    {
      name: 'executions',
      async collect() {
        const queue = await executionQueueState(deps.pool, deps.statementTimeoutMs);
        executionsPending.set(queue.pending);
        executionsOldestPendingAge.set(queue.oldestPendingSeconds);
      },
    },
  ];
}

/**
 * The composition root of the API: the one place that sees every domain, and
 * hands each its own settings.
 */
export function createApp(deps: AppDeps): Express {
  const logger = deps.logger ?? createLogger();
  const apiCalls = deps.apiCallLeases ?? deps.background.apiCallLeases ?? new ApiCallLeases(deps.pool, deps.statementTimeoutMs);
  const inTransaction = transactionRunner({
    pool: deps.pool,
    statementTimeoutMs: deps.statementTimeoutMs,
    // Every metered response says where the organization stands on its API-call quota.
    meteredHeaders: deps.quotasEnabled === true ? (quota) => ({ ...rateLimitHeaders(quota), ...monthlyQuotaHeaders(quota) }) : undefined,
    apiCalls,
    contexts: new RequestContexts(),
  });
  const apiKeys = createApiKeyVerifier({
    pool: deps.pool,
    statementTimeoutMs: deps.statementTimeoutMs,
    usage: deps.apiKeyUsage ?? deps.background.apiKeyUsage ?? createApiKeyUsage({ pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, log: lineLogger(logger.child({ component: 'api-key-usage' }), 'error') }),
    cacheMs: deps.apiKeyCacheMs,
  });
  const wakeExecutions = () => deps.background.wake('executions');
  const webhooks = deps.reflexWebhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  const skills = deps.skills ?? defaultSkills();
  const analytics = deps.background.analytics ?? defaultAnalytics(deps, logger);
  // Invitations queue their mail (the token sealed) in the inviting transaction; the mail loop sends it.
  const mailer = invitationMailer(deps.secrets);

  // Access tokens of a local session that has ended stop working before they expire.
  const liveness = deps.accounts?.mode === 'local' ? sessionLiveness(deps, deps.accounts.sessionCheckSeconds) : undefined;
  const verifyToken = liveness ? refusingEndedSessions(deps.verifyToken, liveness) : deps.verifyToken;

  return assembleHttpApp({ ...deps, verifyToken, logger }, {
    verifyApiKey: apiKeys.verify,
    // A browser's EventSource cannot send Authorization: streams also take a single-use ticket.
    streamTicket: streamTicketHandler({ pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs }),
    // A skill bundle (up to 1000 skills with their habits and reflexes) holds more values than any other body.
    largeJsonBodies: [{ path: `${API_BASE}/skills/import`, maxValues: 100_000 }],
    // A card number or IBAN is refused (422) even in a field the contract would reject.
    beforeValidation: [{ path: `${API_BASE}/billing`, handler: refusePaymentSecrets }],
    // Never public on the API port: only with a token (METRICS_PORT serves it on a port of its own, see server.ts).
    metrics: deps.metricsToken ? { token: deps.metricsToken, collectors: scrapeCollectors(deps) } : undefined,
    // Before every handler: a retried creating POST with the same Idempotency-Key replays instead of running again.
    afterValidation: [{ path: API_BASE, handler: idempotencyKeys({ inTransaction, pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs }) }],
    operations: new Operations()
      .include(
        healthRoutes({ pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, expectedMigrations: deps.expectedMigrations, isDraining: deps.isDraining }),
      )
      .include(meRoutes(inTransaction, { accounts: deps.accounts, liveness, log: lineLogger(logger.child({ component: 'me' }), 'error') }))
      .include(accountsRoutes(inTransaction, { pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, settings: deps.accounts, liveness, secrets: deps.secrets }))
      .include(organizationsRoutes(inTransaction))
      .include(liveRoutes(inTransaction, { hub: deps.live, ticketTtlSeconds: (deps.live?.settings ?? DEFAULT_LIVE_SETTINGS).ticketTtlSeconds }))
      .include(projectsRoutes(inTransaction))
      .include(repositoriesRoutes(inTransaction))
      .include(membersRoutes(inTransaction, { mailer }))
      .include(invitationsRoutes(inTransaction, { mailer }))
      .include(ingestionsRoutes(inTransaction))
      .include(filesRoutes(inTransaction))
      .include(habitsRoutes(inTransaction, { wakeExecutions }))
      .include(billingRoutes(inTransaction, deps, deps.billing ?? DEFAULT_BILLING))
      // Reflexes, events and signed inbound webhooks (the hooks carry no bearer token).
      .include(reflexesRoutes(inTransaction, webhooks, deps.secrets))
      .include(eventsRoutes(inTransaction, { settings: webhooks, wakeExecutions }))
      .include(reflexHooksRoutes({ pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, settings: webhooks, secrets: deps.secrets, wakeExecutions }))
      .include(organizationMembersRoutes(inTransaction))
      .include(usageRoutes(inTransaction, (organizationId) => apiCalls.unhanded(organizationId)))
      .include(apiKeysRoutes(inTransaction, { forget: apiKeys.forget }))
      .include(
        webhooksRoutes(inTransaction, {
          settings: deps.outboundWebhooks ?? DEFAULT_OUTBOUND_WEBHOOK_SETTINGS,
          secrets: deps.secrets,
          wakeDeliveries: () => deps.background.wake(WEBHOOK_DELIVERY_LOOP),
        }),
      )
      .include(skillBundleRoutes(inTransaction, deps.secrets))
      .include(skillRunsRoutes(inTransaction, { ...skills, wakeWorker: wakeExecutions }))
      .include(skillsRoutes(inTransaction))
      .include(executionsRoutes(inTransaction, { wakeExecutions }))
      .include(analyticsRoutes(analytics))
      .include(auditRoutes(inTransaction))
      .include(notificationsRoutes(inTransaction)),
  });
}

/** An app assembled without background work (tests) queues product events of its own, written every second. */
function defaultAnalytics(deps: AppDeps, logger: Logger): AnalyticsQueue {
  return createAnalyticsQueue({ ...DEFAULT_QUEUE_SIZES, store: storeEvents(deps.pool, deps.statementTimeoutMs), log: lineLogger(logger.child({ component: 'analytics' }), 'error') });
}

/** The server passes its configured runner; an app assembled without one (tests) gets the defaults (SKILL_RUNNER ...). */
function defaultSkills(): NonNullable<AppDeps['skills']> {
  const config = loadConfig({});
  return { runner: createSkillRunner(config), executeWaitMaxMs: config.executeWaitMaxMs };
}
