/**
 * Which runner failures are worth another attempt, and how long to wait
 * before it. Pure: the worker decides with these, the tests pin them.
 */

/** Codes of failures that say nothing about the skill or its input: the same run may well succeed later. */
const TRANSIENT_CODES = new Set(['runner_timeout', 'runner_unreachable', 'worker_lost']);

/**
 * Transient: the runner timed out or could not be reached, the worker running
 * it died, or the runner answered HTTP 408, 429 or 5xx (overloaded, rate
 * limited, a gateway in trouble). Everything else (bad input, a prompt too
 * large, an unusable answer, a 4xx refusal, a deleted skill) fails the same
 * way on every attempt, so it is final at once.
 */
export function isTransientFailure(code: string): boolean {
  if (TRANSIENT_CODES.has(code)) return true;
  const http = /^runner_http_(\d{3})$/.exec(code);
  if (!http) return false;
  const status = Number(http[1]);
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

export interface RetryPolicy {
  /** Attempts in all, the first included; 1 means never retried. */
  maxAttempts: number;
  /** Wait before the second attempt; each later one waits twice as long as the one before. */
  baseDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs: number;
}

/**
 * What happens to an execution whose attempt number `attempt` (from 1) failed
 * with `code`: final, or retried after a delay. The delay doubles with each
 * attempt, capped, and is jittered into its upper half so that runs failed by
 * one outage do not all come back at the same moment.
 */
export function afterFailure(
  code: string,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): { retry: false } | { retry: true; delayMs: number } {
  if (!isTransientFailure(code) || attempt >= policy.maxAttempts) return { retry: false };
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return { retry: true, delayMs: Math.round(exponential / 2 + (exponential / 2) * random()) };
}
