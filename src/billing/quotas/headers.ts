import { registerSqlState } from '../../db/errors';
import { quotaRefusals } from '../../observability/metrics';
import { Problem } from '../../problems';

/**
 * The X-RateLimit-* headers of a quota: on every metered success (the API-call
 * quota) and on a 429 (the quota that refused). Unlimited plans get none: there
 * is no limit to report.
 */
export interface QuotaState {
  /** -1 when the plan is unlimited. */
  limit: number;
  used: number;
  /** When the period ends, in seconds since the Unix epoch. */
  resetEpochSeconds: number;
}

export function rateLimitHeaders(state: QuotaState, options: { retryAfter?: boolean } = {}): Record<string, string> {
  if (state.limit < 0) return {};
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(Math.max(state.limit - state.used, 0)),
    'X-RateLimit-Reset': String(state.resetEpochSeconds),
  };
  if (options.retryAfter) {
    headers['Retry-After'] = String(Math.max(state.resetEpochSeconds - Math.floor(Date.now() / 1000), 1));
  }
  return headers;
}

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) of the
 * monthly API-call quota, which API-key calls count against: the policy's
 * window is the calendar month (UTC) that ends at the reset.
 */
export function monthlyQuotaHeaders(state: QuotaState, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  if (state.limit < 0) return {};
  const reset = new Date(state.resetEpochSeconds * 1000);
  const start = Date.UTC(reset.getUTCFullYear(), reset.getUTCMonth() - 1, 1) / 1000;
  const remaining = Math.max(state.limit - state.used, 0);
  return {
    'RateLimit-Policy': `"monthly";q=${state.limit};w=${state.resetEpochSeconds - start}`,
    RateLimit: `"monthly";r=${remaining};t=${Math.max(state.resetEpochSeconds - nowSeconds, 0)}`,
  };
}

/** What the database put in the detail of a QUOTA error (database/007_usage_quotas.sql). */
export interface QuotaErrorDetail {
  metric: string;
  limit: number;
  used: number;
  remaining: number;
  reset: number;
}

/** The SQLSTATE the metering functions raise when a quota is used up. */
export const QUOTA_EXCEEDED_SQLSTATE = 'QUOTA';

export function parseQuotaDetail(detail: string | undefined): QuotaErrorDetail | undefined {
  if (!detail) return undefined;
  try {
    const parsed = JSON.parse(detail) as QuotaErrorDetail;
    return typeof parsed.limit === 'number' && typeof parsed.reset === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A plan quota used up (raised by the metering functions and triggers): 429 with the quota's headers. */
registerSqlState(QUOTA_EXCEEDED_SQLSTATE, (error) => {
  const detail = parseQuotaDetail(error.detail);
  // Counted here, where the refusal becomes the request's answer (once a request, after its transaction ended).
  quotaRefusals.inc({ quota: detail?.metric ?? 'unknown' });
  const headers = detail
    ? {
        ...rateLimitHeaders({ limit: detail.limit, used: detail.used, resetEpochSeconds: detail.reset }, { retryAfter: true }),
        ...(detail.metric === 'api_calls' ? monthlyQuotaHeaders({ limit: detail.limit, used: detail.used, resetEpochSeconds: detail.reset }) : {}),
      }
    : {};
  return new Problem(429, 'quota-exceeded', error.message, undefined, headers);
});
