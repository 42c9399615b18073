import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../db/secret-box';
import { asServiceRole, requireOwnerOrAdmin, requireUser, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery, ResponseBody } from '../http/route';
import { problems } from '../problems';
import { newWebhookSecret, webhookSecretContext } from './rules';
import {
  DELETE_WEBHOOK,
  DELIVERY_BY_ID,
  deliveryListQuery,
  INSERT_DELIVERY,
  INSERT_WEBHOOK,
  toDelivery,
  toWebhook,
  updateWebhookSql,
  WEBHOOK_BY_ID,
  webhookListQuery,
  type DeliveryRow,
  type Webhook,
  type WebhookDelivery,
  type WebhookRow,
} from './sql';

// The operations of /webhooks. Owners and admins only: the check below
// answers members with a clear 403, and the tables' policies refuse the same
// reads and writes whatever a handler (or the Data API) attempts.

type Created = ResponseBody<'createWebhook', 201>;

const NOT_FOUND = 'There is no such webhook endpoint in this organization.';
const DELIVERY_NOT_FOUND = 'There is no such delivery of this webhook endpoint.';

function requireWebhookManager(tx: RequestTransaction): string {
  return requireOwnerOrAdmin(tx, "Only the organization's owners and admins may manage webhooks.");
}

async function loadWebhook(tx: RequestTransaction, organizationId: string, webhookId: string): Promise<WebhookRow> {
  const found = await tx.query<WebhookRow>(WEBHOOK_BY_ID, [webhookId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return found.rows[0]!;
}

async function changeWebhook(tx: RequestTransaction, organizationId: string, webhookId: string, assignments: string[], values: unknown[]): Promise<Webhook> {
  const changed = await tx.query<WebhookRow>(updateWebhookSql(assignments), [webhookId, organizationId, ...values]);
  if (changed.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toWebhook(changed.rows[0]!);
}

export function listWebhooks(tx: RequestTransaction, query: RequestQuery<'listWebhooks'>): Promise<Page<Webhook>> {
  const organizationId = requireWebhookManager(tx);
  return paginate(tx, webhookListQuery(organizationId, query, pageRequest(query)), toWebhook);
}

/** Refuses (422) a URL the target policy does not allow; resolves its host, so it is called once the caller may act. */
export type CheckUrl = (url: string) => Promise<void>;

export async function createWebhook(tx: RequestTransaction, box: SecretBox, checkUrl: CheckUrl, body: RequestBody<'createWebhook'>): Promise<Created> {
  const userId = requireUser(tx);
  const organizationId = requireWebhookManager(tx);
  await checkUrl(body.endpointUrl);
  const id = randomUUID();
  const secret = body.secret ?? newWebhookSecret();
  const inserted = await tx.query<WebhookRow>(INSERT_WEBHOOK, [
    id,
    organizationId,
    userId,
    body.name,
    body.endpointUrl,
    body.events,
    box.seal(secret, webhookSecretContext(id)),
  ]);
  return { ...toWebhook(inserted.rows[0]!), secret };
}

export async function getWebhook(tx: RequestTransaction, webhookId: string): Promise<Webhook> {
  return toWebhook(await loadWebhook(tx, requireWebhookManager(tx), webhookId));
}

export async function updateWebhook(tx: RequestTransaction, checkUrl: CheckUrl, webhookId: string, body: RequestBody<'updateWebhook'>): Promise<Webhook> {
  const organizationId = requireWebhookManager(tx);
  if (body.endpointUrl !== undefined) await checkUrl(body.endpointUrl);
  const assignments: string[] = [];
  const values: unknown[] = [];
  const set = (column: string, value: unknown) => {
    values.push(value);
    assignments.push(`${column} = $${values.length + 2}`);
  };
  if (body.name !== undefined) set('name', body.name);
  if (body.endpointUrl !== undefined) set('endpoint_url', body.endpointUrl);
  if (body.events !== undefined) set('events', body.events);
  return changeWebhook(tx, organizationId, webhookId, assignments, values);
}

export async function deleteWebhook(tx: RequestTransaction, webhookId: string): Promise<void> {
  const organizationId = requireWebhookManager(tx);
  const deleted = await tx.query(DELETE_WEBHOOK, [webhookId, organizationId]);
  if (deleted.rowCount === 0) throw problems.notFound(NOT_FOUND);
}

export async function pauseWebhook(tx: RequestTransaction, webhookId: string): Promise<Webhook> {
  const organizationId = requireWebhookManager(tx);
  const current = await loadWebhook(tx, organizationId, webhookId);
  if (current.status === 'paused') return toWebhook(current);
  return changeWebhook(tx, organizationId, webhookId, ["status = 'paused'", 'status_reason = $3', 'paused_at = now()'], [
    `Paused by ${tx.identity.email ?? 'a member'}.`,
  ]);
}

export async function resumeWebhook(tx: RequestTransaction, webhookId: string): Promise<Webhook> {
  const organizationId = requireWebhookManager(tx);
  // A fresh start: the failures that paused it are behind it.
  return changeWebhook(
    tx,
    organizationId,
    webhookId,
    ["status = 'active'", 'status_reason = null', 'paused_at = null', 'consecutive_failures = 0', 'failing_since = null'],
    [],
  );
}

export async function rotateWebhookSecret(tx: RequestTransaction, box: SecretBox, webhookId: string): Promise<Created> {
  const organizationId = requireWebhookManager(tx);
  const secret = newWebhookSecret();
  const changed = await changeWebhook(tx, organizationId, webhookId, ['secret = $3'], [box.seal(secret, webhookSecretContext(webhookId))]);
  return { ...changed, secret };
}

/** Queues a delivery as the back office, for an endpoint the caller was allowed to read. */
async function queueDelivery(tx: RequestTransaction, webhook: WebhookRow, message: { id: string; type: string; payload: object; redeliveryOf: string | null }): Promise<WebhookDelivery> {
  const inserted = await asServiceRole(tx, () =>
    tx.query<DeliveryRow>(INSERT_DELIVERY, [webhook.organization_id, webhook.id, message.id, message.type, JSON.stringify(message.payload), message.redeliveryOf]),
  );
  return toDelivery(inserted.rows[0]!);
}

export async function sendTestEvent(tx: RequestTransaction, webhookId: string): Promise<WebhookDelivery> {
  const webhook = await loadWebhook(tx, requireWebhookManager(tx), webhookId);
  const payload = {
    type: 'webhook.test',
    timestamp: new Date().toISOString(),
    data: { webhookId: webhook.id, name: webhook.name, message: 'A test event: your endpoint receives and verifies deliveries.' },
  };
  return queueDelivery(tx, webhook, { id: `msg_test_${randomUUID().replaceAll('-', '')}`, type: 'webhook.test', payload, redeliveryOf: null });
}

export async function listDeliveries(tx: RequestTransaction, webhookId: string, query: RequestQuery<'listWebhookDeliveries'>): Promise<Page<WebhookDelivery>> {
  const organizationId = requireWebhookManager(tx);
  await loadWebhook(tx, organizationId, webhookId);
  return paginate(tx, deliveryListQuery(organizationId, webhookId, query, pageRequest(query)), toDelivery);
}

async function loadDelivery(tx: RequestTransaction, organizationId: string, webhookId: string, deliveryId: string): Promise<DeliveryRow> {
  const found = await tx.query<DeliveryRow>(DELIVERY_BY_ID, [deliveryId, webhookId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(DELIVERY_NOT_FOUND);
  return found.rows[0]!;
}

export async function getDelivery(tx: RequestTransaction, webhookId: string, deliveryId: string): Promise<WebhookDelivery> {
  return toDelivery(await loadDelivery(tx, requireWebhookManager(tx), webhookId, deliveryId));
}

/** The same message again (same payload and message id), as a new delivery with attempts of its own. */
export async function redeliver(tx: RequestTransaction, webhookId: string, deliveryId: string): Promise<WebhookDelivery> {
  const organizationId = requireWebhookManager(tx);
  const webhook = await loadWebhook(tx, organizationId, webhookId);
  const original = await loadDelivery(tx, organizationId, webhookId, deliveryId);
  return queueDelivery(tx, webhook, { id: original.message_id, type: original.event_type, payload: original.payload, redeliveryOf: original.id });
}
