import type { SecretBox } from '../../db/secret-box';
import type { RequestTransaction } from '../../db/transaction';
import type { components } from '../../generated/openapi';
import { Problem } from '../../problems';
import { startReflexExecution } from '../fire';
import { reflexSecretContext } from '../store';
import { matchReflex, skillInputFor } from '../triggers';
import { digestsEqual, isFresh, readSignatureHeaders, signDelivery } from './signature';
import { REMEMBER_DELIVERY, WEBHOOK_REFLEX, type WebhookReflexRow } from './sql';

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

/** The signature headers of a delivery, checked for form and freshness before any SQL. */
export interface SignedHeaders {
  digest: string;
  timestamp: string;
}

/** A delivery as received: a GET signs an empty body and carries no payload. */
export interface Delivery extends SignedHeaders {
  reflexId: string;
  method: 'POST' | 'GET';
  rawBody: Buffer;
  payload: unknown;
}

export function signedHeaders(signature: string | undefined, timestamp: string | undefined, toleranceSeconds: number, nowMs?: number): SignedHeaders {
  const headers = readSignatureHeaders(signature, timestamp);
  if (!headers || !isFresh(headers.timestamp, toleranceSeconds, nowMs)) throw refused();
  return headers;
}

/**
 * Whether the reflex found for the delivery takes it: signed with its
 * secret, active, and sent with its method. The signature is computed even
 * when no reflex was found, so the answer takes as long either way.
 */
export function acceptsDelivery(reflex: WebhookReflexRow | undefined, delivery: Delivery): reflex is WebhookReflexRow {
  const expected = signDelivery(reflex?.secret ?? STAND_IN_SECRET, delivery.timestamp, delivery.rawBody);
  const genuine = digestsEqual(expected, delivery.digest);
  return reflex !== undefined && genuine && reflex.is_active && (reflex.trigger_config.method ?? 'POST') === delivery.method;
}

/** Checks, remembers (against replays) and matches a delivery as the back office; an execution starts when it matches. */
export async function receiveDelivery(tx: RequestTransaction, box: SecretBox, delivery: Delivery, toleranceSeconds: number): Promise<ReflexDelivery> {
  const found = UUID.test(delivery.reflexId) ? (await tx.query<WebhookReflexRow>(WEBHOOK_REFLEX, [delivery.reflexId])).rows : [];
  // The secret is stored sealed (or, until the start-up pass reaches it, as it was written before sealing).
  const reflex = found[0] && { ...found[0], secret: box.open(found[0].secret, reflexSecretContext(found[0].id)) };
  if (!acceptsDelivery(reflex, delivery)) throw refused();

  const remembered = await tx.query(REMEMBER_DELIVERY, [reflex.id, delivery.digest, delivery.timestamp, toleranceSeconds]);
  if (remembered.rowCount === 0) throw refused();

  const event = { payload: delivery.payload };
  const verdict = matchReflex({ triggerType: 'webhook', triggerConfig: reflex.trigger_config, conditions: reflex.conditions }, event);
  if (!verdict.matched) return { matched: false, executionId: null };
  const executionId = await startReflexExecution(tx, reflex.id, skillInputFor(event));
  return { matched: executionId !== null, executionId };
}
