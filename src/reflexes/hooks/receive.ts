import type { SecretBox } from '../../db/secret-box';
import type { RequestTransaction } from '../../db/transaction';
import type { components } from '../../generated/openapi';
import { Problem } from '../../problems';
import { startReflexExecution } from '../fire';
import { reflexSecretContext } from '../store';
import { matchReflex, skillInputFor } from '../triggers';
import {
  digestsEqual,
  isFresh,
  messageKey,
  readSignatureHeaders,
  readStandardHeaders,
  signDelivery,
  standardSignatureMatches,
  type StandardSignedHeaders,
} from './signature';
import { REMEMBER_DELIVERY, REMEMBER_MESSAGE, WEBHOOK_REFLEX, type WebhookReflexRow } from './sql';

type ReflexDelivery = components['schemas']['ReflexDelivery'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Signs nothing real: keeps the work for an unknown reflex the same as for a known one. */
const STAND_IN_SECRET = 'whsec_stand-in-for-a-reflex-that-does-not-exist';

/**
 * Every refusal is this one answer, so a sender (or a prober) learns nothing
 * about which check failed: missing or bad signature, stale or future
 * timestamp, replay, unknown or inactive reflex, wrong method.
 */
export const refused = (): Problem => new Problem(401, 'unauthorized', 'The delivery was not accepted.');

/**
 * The signature headers of a delivery, checked for form and freshness before
 * any SQL: this API's own scheme (X-Reflex-Signature), or Standard Webhooks.
 */
export type SignedHeaders = { scheme: 'reflex'; digest: string; timestamp: string } | ({ scheme: 'standard' } & StandardSignedHeaders);

/** A delivery as received: a GET signs an empty body and carries no payload. */
export type Delivery = SignedHeaders & {
  reflexId: string;
  method: 'POST' | 'GET';
  rawBody: Buffer;
  payload: unknown;
};

/** The headers a delivery carried, by name. */
export interface ReceivedHeaders {
  reflexSignature?: string;
  reflexTimestamp?: string;
  webhookId?: string;
  webhookTimestamp?: string;
  webhookSignature?: string;
}

/** Standard Webhooks when any of its headers is present (then all must be), else this API's own scheme. */
export function signedHeaders(received: ReceivedHeaders, toleranceSeconds: number, nowMs?: number): SignedHeaders {
  if (received.webhookId !== undefined || received.webhookTimestamp !== undefined || received.webhookSignature !== undefined) {
    const standard = readStandardHeaders(received.webhookId, received.webhookTimestamp, received.webhookSignature);
    if (!standard || !isFresh(standard.timestamp, toleranceSeconds, nowMs)) throw refused();
    return { scheme: 'standard', ...standard };
  }
  const headers = readSignatureHeaders(received.reflexSignature, received.reflexTimestamp);
  if (!headers || !isFresh(headers.timestamp, toleranceSeconds, nowMs)) throw refused();
  return { scheme: 'reflex', ...headers };
}

/**
 * Whether the reflex found for the delivery takes it: signed with its
 * secret, active, and sent with its method. The signature is computed even
 * when no reflex was found, so the answer takes as long either way.
 */
export function acceptsDelivery(reflex: WebhookReflexRow | undefined, delivery: Delivery): reflex is WebhookReflexRow {
  const secret = reflex?.secret ?? STAND_IN_SECRET;
  const genuine =
    delivery.scheme === 'standard'
      ? standardSignatureMatches(secret, delivery, delivery.rawBody)
      : digestsEqual(signDelivery(secret, delivery.timestamp, delivery.rawBody), delivery.digest);
  return reflex !== undefined && genuine && reflex.is_active && (reflex.trigger_config.method ?? 'POST') === delivery.method;
}

/** Checks, remembers (against replays) and matches a delivery as the back office; an execution starts when it matches. */
export async function receiveDelivery(tx: RequestTransaction, box: SecretBox, delivery: Delivery, toleranceSeconds: number): Promise<ReflexDelivery> {
  const found = UUID.test(delivery.reflexId) ? (await tx.query<WebhookReflexRow>(WEBHOOK_REFLEX, [delivery.reflexId])).rows : [];
  // The secret is stored sealed (or, until the start-up pass reaches it, as it was written before sealing).
  const reflex = found[0] && { ...found[0], secret: box.open(found[0].secret, reflexSecretContext(found[0].id)) };
  if (!acceptsDelivery(reflex, delivery)) throw refused();

  if (delivery.scheme === 'standard') {
    // A message accepted before, signed again (a sender's retry after a lost answer): nothing runs twice.
    const remembered = await tx.query(REMEMBER_MESSAGE, [reflex.id, messageKey(delivery.messageId)]);
    if (remembered.rowCount === 0) return { matched: false, executionId: null, duplicate: true };
  } else {
    const remembered = await tx.query(REMEMBER_DELIVERY, [reflex.id, delivery.digest, delivery.timestamp, toleranceSeconds]);
    if (remembered.rowCount === 0) throw refused();
  }

  const event = { payload: delivery.payload };
  const verdict = matchReflex({ triggerType: 'webhook', triggerConfig: reflex.trigger_config, conditions: reflex.conditions }, event);
  if (!verdict.matched) return { matched: false, executionId: null };
  const executionId = await startReflexExecution(tx, reflex.id, skillInputFor(event));
  return { matched: executionId !== null, executionId };
}
