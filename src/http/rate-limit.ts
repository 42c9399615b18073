import type { Request } from 'express';
import type { Identity } from '../auth/caller';
import { problems } from '../problems';

/** A token bucket: `burst` requests at once, refilled at `ratePerSecond`. */
export interface BurstSettings {
  ratePerSecond: number;
  burst: number;
}

export const DEFAULT_SESSION_BURST: BurstSettings = { ratePerSecond: 20, burst: 40 };

/** Buckets remembered at most; full ones (idle users) are dropped first when the map grows past it. */
const MAX_BUCKETS = 100_000;

export interface BurstVerdict {
  allowed: boolean;
  /** Whole requests left right now. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until the next request would be allowed (0 when it is now). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * One bucket per key (a user id), in this process's memory: the limit holds
 * per instance, so N instances behind a balancer allow up to N times the burst.
 */
export function createBurstLimiter(settings: BurstSettings, nowMs: () => number = Date.now) {
  const { ratePerSecond: rate, burst } = settings;
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, now: number) => {
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.atMs) / 1000) * rate);
    bucket.atMs = now;
  };

  const forgetIdle = (now: number) => {
    for (const [key, bucket] of buckets) {
      refill(bucket, now);
      if (bucket.tokens >= burst) buckets.delete(key);
    }
  };

  return {
    settings,
    take(key: string): BurstVerdict {
      const now = nowMs();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= MAX_BUCKETS) forgetIdle(now);
        bucket = { tokens: burst, atMs: now };
        buckets.set(key, bucket);
      } else {
        refill(bucket, now);
      }
      const allowed = bucket.tokens >= 1;
      if (allowed) bucket.tokens -= 1;
      return {
        allowed,
        remaining: Math.floor(bucket.tokens),
        resetSeconds: Math.ceil((burst - bucket.tokens) / rate),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / rate)),
      };
    },
  };
}

export type BurstLimiter = ReturnType<typeof createBurstLimiter>;

/** The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) of the burst policy. */
export function burstHeaders(settings: BurstSettings, verdict: BurstVerdict): Record<string, string> {
  const window = Math.max(1, Math.ceil(settings.burst / settings.ratePerSecond));
  const remaining = verdict.allowed ? verdict.remaining : 0;
  const reset = verdict.allowed ? verdict.resetSeconds : verdict.retryAfterSeconds;
  return {
    'RateLimit-Policy': `"burst";q=${settings.burst};w=${window}`,
    RateLimit: `"burst";r=${remaining};t=${reset}`,
  };
}

/**
 * The burst limit of a signed-in user's own (session) traffic, which the
 * plan's API calls do not count. API keys are metered against the plan
 * instead, and back-office tokens are not limited.
 */
export function sessionBurstAdmission(limiter: BurstLimiter) {
  return (req: Request, identity: Identity): void => {
    if (identity.role !== 'authenticated' || identity.apiKey || !identity.userId) return;
    const verdict = limiter.take(identity.userId);
    const headers = burstHeaders(limiter.settings, verdict);
    if (!verdict.allowed) {
      throw problems.rateLimited(
        `Too many requests: a signed-in user may send ${limiter.settings.ratePerSecond} a second, with bursts of ${limiter.settings.burst}. Retry in ${verdict.retryAfterSeconds} s.`,
        { ...headers, 'Retry-After': String(verdict.retryAfterSeconds) },
      );
    }
    for (const [name, value] of Object.entries(headers)) req.res?.setHeader(name, value);
  };
}
