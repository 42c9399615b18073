import type { Config } from '../../config';

/** How inbound reflex webhooks are received (from PUBLIC_BASE_URL, WEBHOOK_MAX_BODY_BYTES, WEBHOOK_TOLERANCE_SECONDS). */
export interface ReflexWebhookSettings {
  /**
   * The API's public address, the base of the webhook URLs reflexes show.
   * Absent: no URL is shown, only its path. Never taken from a request's Host
   * header, which the caller chooses: a URL built from it would carry a
   * secret's deliveries wherever the caller pointed it.
   */
  publicBaseUrl?: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: ReflexWebhookSettings = { maxBodyBytes: 65_536, toleranceSeconds: 300 };

type WebhookConfig = Pick<Config, 'publicBaseUrl' | 'webhookMaxBodyBytes' | 'webhookToleranceSeconds' | 'databaseUrl' | 'port'>;

/**
 * PUBLIC_BASE_URL when set. Otherwise, with the embedded database (a local
 * sandbox) the server's own local address; with DATABASE_URL (a deployment,
 * whose public address only the operator knows) none. PORT=0 picks a port at
 * start, so it names none either.
 */
function basePublicUrl(config: WebhookConfig): string | undefined {
  if (config.publicBaseUrl) return config.publicBaseUrl;
  if (config.databaseUrl !== undefined || config.port === 0) return undefined;
  return `http://localhost:${config.port}`;
}

export function webhookSettings(config: WebhookConfig): ReflexWebhookSettings {
  return {
    publicBaseUrl: basePublicUrl(config),
    maxBodyBytes: config.webhookMaxBodyBytes,
    toleranceSeconds: config.webhookToleranceSeconds,
  };
}

export const SIGNATURE_HEADER = 'X-Reflex-Signature';
export const TIMESTAMP_HEADER = 'X-Reflex-Timestamp';
/** The path a webhook reflex receives deliveries on, under the API base. */
export const hookPath = (reflexId: string): string => `/api/v1/hooks/reflexes/${reflexId}`;
