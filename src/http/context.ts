import type { Request } from 'express';
import type pg from 'pg';
import type { TokenVerifier } from '../auth/verifier';
import type { BackgroundWork } from '../background';
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
}

export type RunInTransaction = <T>(req: Request, work: (tx: RequestTransaction) => Promise<T>, options?: RunOptions) => Promise<T>;

/** Binds the one transaction helper to a request's identity and organization header. */
export function transactionRunner(deps: AppDeps): RunInTransaction {
  return (req, work, options = {}) => {
    const identity = req.identity;
    if (!identity) throw problems.unauthorized('Authentication is required.');
    if (identity.role === 'service_role' && !options.allowServiceRole) {
      throw problems.forbidden('This operation is for signed-in users, not service tokens.');
    }
    const requested = options.ignoreOrganizationHeader ? undefined : req.header('x-organization-id');
    return withRequestTransaction(
      deps.pool,
      identity,
      { requestedOrganizationId: requested || undefined, statementTimeoutMs: deps.statementTimeoutMs },
      work,
    );
  };
}
