import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

// The pure rules of outbound webhooks: secrets, signatures, when to retry and
// when an endpoint has failed long enough to be paused.

/** The pause before each retry, in seconds: about a day in all (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
export const DEFAULT_RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries take it. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** What an endpoint's secret is sealed for: a sealed secret copied onto another endpoint does not open there. */
export const webhookSecretContext = (webhookId: string): string => `webhook-secret:${webhookId.toLowerCase()}`;

/** The Standard Webhooks headers of one attempt: the message id stays, the timestamp is the attempt's. */
export function signedHeaders(secret: string, messageId: string, at: Date, body: string): Record<string, string> {
  const signature = new Webhook(secret).sign(messageId, at, body);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/** An attempt succeeded when the endpoint answered 2xx (a redirect is not followed and is no success). */
export const isSuccess = (status: number | undefined): boolean => status !== undefined && status >= 200 && status < 300;

/**
 * When attempt `attempt` (1-based) failed: the next attempt's delay in ms, or
 * null when it was the last. The delay is the schedule's, spread by up to a
 * tenth either way (`random` in [0, 1)) so endpoints that failed together are
 * not all retried in the same second.
 */
export function retryDelayMs(attempt: number, scheduleSeconds: readonly number[], random: number): number | null {
  const base = scheduleSeconds[attempt - 1];
  if (base === undefined) return null;
  const jitter = 1 + (random * 2 - 1) * 0.1;
  return Math.max(0, Math.round(base * 1000 * jitter));
}

/** WEBHOOK_RETRY_SCHEDULE: seconds before each retry, comma-separated (e.g. `5,300,1800`). */
export function parseRetrySchedule(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [...DEFAULT_RETRY_SCHEDULE_SECONDS];
  const values = text.split(',').map((part) => part.trim());
  if (values.length > 20 || values.some((value) => !/^\d{1,6}(\.\d{1,3})?$/.test(value))) {
    throw new Error(`WEBHOOK_RETRY_SCHEDULE must be up to 20 comma-separated seconds (e.g. 5,300,1800), got "${text}"`);
  }
  return values.map(Number);
}

export interface AutoPause {
  /** Deliveries in a row that failed for good. */
  consecutiveFailures: number;
  /** How long attempts have failed without a success in between. */
  failingForMs: number | null;
}

/** Whether an endpoint has failed long enough (either limit) to be paused. */
export function shouldPause(state: AutoPause, limits: { afterFailures: number; afterMs: number }): boolean {
  return state.consecutiveFailures >= limits.afterFailures || (state.failingForMs !== null && state.failingForMs >= limits.afterMs);
}
