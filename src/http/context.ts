import type { Request } from 'express';
import type pg from 'pg';
import type { TokenVerifier } from '../auth/verifier';
import type { BackgroundWork } from '../background';
import type { BillingDeps } from '../billing/routes';
import type { TrustProxy } from '../config';
import type { ReflexWebhookSettings } from '../webhooks/settings';
import { rateLimitHeaders } from '../billing/quotas/headers';
import type { SkillRunner } from '../skills/runner';
import { withRequestTransaction, type Identity, type RequestTransaction } from '../db/transaction';
import { problems, type Problem } from './problems';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the bearer security handler once the token is verified. */
    identity?: Identity;
    /**
     * A failure of the security handler that is not the caller's fault (503).
     * express-openapi-validator re-wraps handler errors as 401 or 500, so the
     * problem is kept here for the error handler.
     */
    authFailure?: Problem;
    /** The request body exactly as received (JSON bodies only), for signature checks. */
    rawBody?: Buffer;
    /** Set once the request has counted as an API call: later transactions of the same request are not counted again. */
    apiCallMetered?: boolean;
  }
}

/** What route modules need from the running server. */
export interface AppDeps {
  pool: pg.Pool;
  verifyToken: TokenVerifier;
  statementTimeoutMs: number;
  validateResponses: boolean;
  logRequests: boolean;
  /** Migration versions the code expects to be applied (for /ready). */
  expectedMigrations: string[];
  /** The background loops of this process, to wake one when work was just queued. */
  background: BackgroundWork;
  /** Billing settings (payment provider, seller); embedded defaults when absent. */
  billing?: BillingDeps;
  /** Inbound reflex webhooks: public address, body limit, clock tolerance (defaults when absent). */
  reflexWebhooks?: ReflexWebhookSettings;
  /** TRUST_PROXY, Express's `trust proxy` (default false: X-Forwarded-* headers are not believed). */
  trustProxy?: TrustProxy;
  /**
   * QUOTAS_ENABLED (the server passes its config): metered responses carry the
   * X-RateLimit-* headers of the API-call quota. What is refused is the
   * database's decision (app.deployment_settings), never this flag's.
   */
  quotasEnabled?: boolean;
  /** How skills run; built from the environment (SKILL_RUNNER ...) when not given. */
  skills?: { runner: SkillRunner; executeWaitMaxMs: number };
}

export interface RunOptions {
  /**
   * service_role tokens skip row level security, so they reach only the
   * routes that are meant for back-office workers and scope by ids themselves.
   */
  allowServiceRole?: boolean;
  /** For operations whose contract does not declare X-Organization-Id (/me, /organizations): the header is ignored. */
  ignoreOrganizationHeader?: boolean;
  /** The organization named in the path (/organizations/{id}/...): acted in, and metered, as if sent in the header. */
  organizationId?: string;
}

export type RunInTransaction = <T>(req: Request, work: (tx: RequestTransaction) => Promise<T>, options?: RunOptions) => Promise<T>;

/** Binds the one transaction helper to a request's identity and organization header. */
export function transactionRunner(deps: AppDeps): RunInTransaction {
  const quotasEnabled = deps.quotasEnabled === true;
  return (req, work, options = {}) => {
    const identity = req.identity;
    if (!identity) throw problems.unauthorized('Authentication is required.');
    if (identity.role === 'service_role' && !options.allowServiceRole) {
      throw problems.forbidden('This operation is for signed-in users, not service tokens.');
    }
    const requested = options.organizationId ?? (options.ignoreOrganizationHeader ? undefined : req.header('x-organization-id'));
    const meterApiCall = !req.apiCallMetered;
    req.apiCallMetered = true;
    return withRequestTransaction(
      deps.pool,
      identity,
      {
        requestedOrganizationId: requested || undefined,
        statementTimeoutMs: deps.statementTimeoutMs,
        meterApiCall,
        // Every metered response says where the organization stands on its API-call quota.
        onApiCallMetered: quotasEnabled ? (quota) => setHeaders(req, rateLimitHeaders(quota)) : undefined,
      },
      work,
    );
  };
}

function setHeaders(req: Request, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) req.res?.setHeader(name, value);
}
