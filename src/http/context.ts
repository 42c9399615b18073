import { isIP } from 'node:net';
import type { Request } from 'express';
import type pg from 'pg';
import type { Identity } from '../auth/caller';
import type { RequestContexts } from '../db/request-contexts';
import { withRequestTransaction, type ApiCallCounter, type ApiCallQuota, type RequestTransaction } from '../db/transaction';
import { problems, type Problem } from '../problems';

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

/** Where the API's operations live (the contract's paths start here). */
export const API_BASE = '/api/v1';

/** What the request transaction needs: the pool, the time limit, and what a metered request says about its quota. */
export interface TransactionSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Response headers for the API-call quota after a request was counted (none when absent). */
  meteredHeaders?: (quota: ApiCallQuota) => Record<string, string>;
  /** Where API-key calls are counted. */
  apiCalls: ApiCallCounter;
  /** What this instance knows of its callers' organizations (see RequestContexts). */
  contexts: RequestContexts;
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
export function transactionRunner(deps: TransactionSettings): RunInTransaction {
  const { meteredHeaders } = deps;
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
        onApiCallMetered: meteredHeaders ? (quota) => setHeaders(req, meteredHeaders(quota)) : undefined,
        clientIp: clientAddress(req),
        userAgent: req.header('user-agent'),
        apiCalls: deps.apiCalls,
        contexts: deps.contexts,
      },
      (tx) => {
        // For the request's log line: the organization this request acted in.
        req.organizationId = tx.organizationId;
        return work(tx);
      },
    );
  };
}

/**
 * The client's address as everything that records or counts it sees it (the
 * audit log, sign-in limits, sessions): Express's req.ip (which TRUST_PROXY
 * governs) when it is an address, an IPv4 client on a dual-stack socket
 * without its ::ffff: prefix.
 */
export function clientAddress(req: Request): string | undefined {
  const ip = req.ip?.startsWith('::ffff:') && req.ip.includes('.') ? req.ip.slice('::ffff:'.length) : req.ip;
  return ip && isIP(ip) !== 0 ? ip : undefined;
}

function setHeaders(req: Request, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) req.res?.setHeader(name, value);
}
