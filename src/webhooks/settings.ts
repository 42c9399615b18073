import type { Config } from '../config';

/** How inbound reflex webhooks are received (from PUBLIC_BASE_URL, WEBHOOK_MAX_BODY_BYTES, WEBHOOK_TOLERANCE_SECONDS). */
export interface ReflexWebhookSettings {
  /** The API's public address; without it the URL is made from each request's own host. */
  publicBaseUrl?: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: ReflexWebhookSettings = { maxBodyBytes: 65_536, toleranceSeconds: 300 };

export function webhookSettings(config: Pick<Config, 'publicBaseUrl' | 'webhookMaxBodyBytes' | 'webhookToleranceSeconds'>): ReflexWebhookSettings {
  return {
    publicBaseUrl: config.publicBaseUrl,
    maxBodyBytes: config.webhookMaxBodyBytes,
    toleranceSeconds: config.webhookToleranceSeconds,
  };
}

export const SIGNATURE_HEADER = 'X-Reflex-Signature';
export const TIMESTAMP_HEADER = 'X-Reflex-Timestamp';
/** The path a webhook reflex receives deliveries on, under the API base. */
export const hookPath = (reflexId: string): string => `/api/v1/hooks/reflexes/${reflexId}`;
