import type { Config } from '../config';
import { DEFAULT_RETRY_SCHEDULE_SECONDS, parseRetrySchedule } from './rules';
import { parseAllowedTargets, STRICT_TARGET_POLICY, type Resolver, type TargetPolicy } from './targets';

/** How outbound webhooks are checked, sent and retried. */
export interface OutboundWebhookSettings {
  policy: TargetPolicy;
  timeoutMs: number;
  /** Seconds before each retry; its length is the number of retries. */
  retryScheduleSeconds: number[];
  autoPause: { afterFailures: number; afterMs: number };
  /** How host names are resolved (the system's resolver unless a test gives another). */
  resolve?: Resolver;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_OUTBOUND_WEBHOOK_SETTINGS: OutboundWebhookSettings = {
  policy: STRICT_TARGET_POLICY,
  timeoutMs: 10_000,
  retryScheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
  autoPause: { afterFailures: 50, afterMs: 5 * DAY_MS },
};

export function outboundWebhookSettings(config: Pick<Config, 'outboundWebhooks'>): OutboundWebhookSettings {
  const c = config.outboundWebhooks;
  return {
    policy: { allowHttp: c.allowHttp, allowPrivate: c.allowPrivateTargets, ...parseAllowedTargets(c.allowedTargets) },
    timeoutMs: c.timeoutMs,
    retryScheduleSeconds: parseRetrySchedule(c.retrySchedule),
    autoPause: { afterFailures: c.autoPauseFailures, afterMs: c.autoPauseDays * DAY_MS },
  };
}
