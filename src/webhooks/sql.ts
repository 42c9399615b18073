import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';

export type Webhook = components['schemas']['Webhook'];
export type WebhookDelivery = components['schemas']['WebhookDelivery'];
type WebhookEventType = components['schemas']['WebhookEventType'];
type WebhookStatus = components['schemas']['WebhookStatus'];
type DeliveryStatus = components['schemas']['WebhookDeliveryStatus'];

// ---- Endpoints (as a request reads them: never the secret) -------------------------

export interface WebhookRow {
  id: string;
  organization_id: string;
  created_by: string | null;
  name: string;
  endpoint_url: string;
  events: WebhookEventType[];
  status: WebhookStatus;
  status_reason: string | null;
  paused_at: string | null;
  consecutive_failures: number;
  failing_since: string | null;
  last_triggered_at: string | null;
  created_at: string;
  updated_at: string;
}

const WEBHOOK_COLUMNS = `w.id, w.organization_id, w.created_by, w.name, w.endpoint_url, w.events, w.status, w.status_reason,
  w.paused_at, w.consecutive_failures, w.failing_since, w.last_triggered_at, w.created_at, w.updated_at`;

export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    endpointUrl: row.endpoint_url,
    events: row.events,
    status: row.status,
    statusReason: row.status_reason,
    pausedAt: row.paused_at,
    consecutiveFailures: row.consecutive_failures,
    failingSince: row.failing_since,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastTriggeredAt: row.last_triggered_at,
  };
}

/** $1 webhook, $2 organization (row level security keeps it to owners and admins as well). */
export const WEBHOOK_BY_ID = `select ${WEBHOOK_COLUMNS} from public.webhook_endpoints w where w.id = $1 and w.organization_id = $2`;

/**
 * A new endpoint: $1 id (chosen by the API, so its sealed secret can be bound
 * to it), $2 organization, $3 creator, $4 name, $5 URL, $6 events, $7 sealed secret.
 */
export const INSERT_WEBHOOK = `insert into public.webhook_endpoints as w (id, organization_id, created_by, name, endpoint_url, events, secret)
  values ($1, $2, $3, $4, $5, $6, $7)
  returning ${WEBHOOK_COLUMNS}`;

/** A change to one endpoint: $1 webhook, $2 organization, then the assignments' values. */
export function updateWebhookSql(assignments: string[]): string {
  return `update public.webhook_endpoints w set ${assignments.join(', ')}
    where w.id = $1 and w.organization_id = $2
    returning ${WEBHOOK_COLUMNS}`;
}

export const DELETE_WEBHOOK = 'delete from public.webhook_endpoints w where w.id = $1 and w.organization_id = $2';

/** Newest first, served by webhook_endpoints_organization_idx. */
export function webhookListQuery(organizationId: string, filters: { status?: WebhookStatus }, page: PageRequest): PageQuery<WebhookRow> {
  const params: unknown[] = [organizationId];
  const where = ['w.organization_id = $1'];
  if (filters.status !== undefined) {
    params.push(filters.status);
    where.push(`w.status = $${params.length}`);
  }
  return {
    select: WEBHOOK_COLUMNS,
    fromWhere: `public.webhook_endpoints w where ${where.join(' and ')}`,
    params,
    orderBy: 'w.created_at desc, w.id desc',
    page,
  };
}

// ---- Deliveries ---------------------------------------------------------------

export interface DeliveryRow {
  id: string;
  organization_id: string;
  webhook_id: string;
  message_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempt_number: number;
  response_status: number | null;
  response_body: string | null;
  error_message: string | null;
  duration_ms: number | null;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  completed_at: string | null;
  redelivery_of: string | null;
}

const DELIVERY_COLUMNS = `d.id, d.organization_id, d.webhook_id, d.message_id, d.event_type, d.payload, d.status, d.attempt_number,
  d.response_status, d.response_body, d.error_message, d.duration_ms, d.created_at, d.last_attempt_at, d.next_attempt_at,
  d.completed_at, d.redelivery_of`;

export function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    messageId: row.message_id,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status,
    attemptNumber: row.attempt_number,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    errorMessage: row.error_message,
    durationMs: row.duration_ms,
    createdAt: row.created_at,
    lastAttemptAt: row.last_attempt_at,
    nextAttemptAt: row.next_attempt_at,
    completedAt: row.completed_at,
    redeliveryOf: row.redelivery_of,
  };
}

/** $1 delivery, $2 webhook, $3 organization. */
export const DELIVERY_BY_ID = `select ${DELIVERY_COLUMNS} from public.webhook_deliveries d
  where d.id = $1 and d.webhook_id = $2 and d.organization_id = $3`;

/** Newest first, all or by status (webhook_deliveries_webhook_idx, webhook_deliveries_webhook_status_idx). */
export function deliveryListQuery(
  organizationId: string,
  webhookId: string,
  filters: { status?: DeliveryStatus },
  page: PageRequest,
): PageQuery<DeliveryRow> {
  const params: unknown[] = [webhookId, organizationId];
  const where = ['d.webhook_id = $1', 'd.organization_id = $2'];
  if (filters.status !== undefined) {
    params.push(filters.status);
    where.push(`d.status = $${params.length}`);
  }
  return {
    select: DELIVERY_COLUMNS,
    fromWhere: `public.webhook_deliveries d where ${where.join(' and ')}`,
    params,
    orderBy: 'd.created_at desc, d.id desc',
    page,
  };
}

/**
 * A delivery queued by a person (test event, redelivery), written as the back
 * office after the endpoint was read under the caller's policies: $1
 * organization, $2 webhook, $3 message id, $4 event type, $5 payload, $6 the delivery sent again.
 */
export const INSERT_DELIVERY = `insert into public.webhook_deliveries as d (organization_id, webhook_id, message_id, event_type, payload, redelivery_of)
  values ($1, $2, $3, $4, $5, $6)
  returning ${DELIVERY_COLUMNS}`;

// ---- The delivery worker (service_role; every statement scoped by ids) -----------------

export interface ClaimedDelivery {
  id: string;
  organization_id: string;
  webhook_id: string;
  message_id: string;
  payload: Record<string, unknown>;
  attempt_number: number;
  endpoint_url: string;
  secret: string;
}

/**
 * Claims up to $1 due deliveries of active endpoints for $2 seconds: the
 * attempt is counted and leased at once, so another worker skips it, and a
 * worker that dies mid-attempt leaves a lease that expires.
 */
export const CLAIM_DELIVERIES = `with due as (
    select d.id from public.webhook_deliveries d
    join public.webhook_endpoints w on w.id = d.webhook_id and w.status = 'active'
    where d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
    order by d.next_attempt_at, d.id
    limit $1
    for update of d skip locked
  )
  update public.webhook_deliveries d
  set lease_until = now() + make_interval(secs => $2), attempt_number = d.attempt_number + 1, last_attempt_at = now()
  from due, public.webhook_endpoints w
  where d.id = due.id and w.id = d.webhook_id
  returning d.id, d.organization_id, d.webhook_id, d.message_id, d.payload, d.attempt_number, w.endpoint_url, w.secret`;

/**
 * An attempt's result, when the claim is still this worker's ($2 the attempt
 * it made): $3 status, $4 milliseconds until the next attempt (null when
 * finished), $5 response status, $6 body excerpt, $7 error, $8 duration.
 */
export const RECORD_ATTEMPT = `update public.webhook_deliveries d
  set status = $3, lease_until = null,
    next_attempt_at = case when $4::float8 is null then null else now() + make_interval(secs => $4::float8 / 1000) end,
    completed_at = case when $3 = 'pending' then null else now() end,
    response_status = $5, response_body = $6, error_message = $7, duration_ms = $8
  where d.id = $1 and d.attempt_number = $2 and d.status = 'pending'`;

/** A success resets the endpoint's failure streak ($1 webhook). */
export const ENDPOINT_SUCCEEDED = `update public.webhook_endpoints w
  set consecutive_failures = 0, failing_since = null, last_triggered_at = now()
  where w.id = $1`;

export interface EndpointFailureRow {
  consecutive_failures: number;
  failing_for_ms: number | null;
  status: WebhookStatus;
}

/**
 * A failed attempt ($1 webhook; $2 whether it was the delivery's last): the
 * streak starts at its first failed attempt and counts deliveries that failed for good.
 */
export const ENDPOINT_FAILED = `update public.webhook_endpoints w
  set consecutive_failures = w.consecutive_failures + case when $2 then 1 else 0 end,
    failing_since = coalesce(w.failing_since, now()), last_triggered_at = now()
  where w.id = $1
  returning w.consecutive_failures, w.status,
    (extract(epoch from now() - w.failing_since) * 1000)::bigint::float8 as failing_for_ms`;

/** Pauses an endpoint that kept failing ($1 webhook, $2 reason); its trigger writes the audit entry and the event. */
export const PAUSE_FAILING_ENDPOINT = `update public.webhook_endpoints w
  set status = 'paused', status_reason = $2, paused_at = now()
  where w.id = $1 and w.status = 'active'`;

// ---- Resealing (a key rotation: SECRETS_ENCRYPTION_KEYS, npm run secrets:reencrypt) -------

/** Up to 200 endpoints whose secret is not sealed under the current key ($1 its `enc:v1:<key id>:%` pattern). */
export const WEBHOOK_SECRETS_TO_RESEAL = `select w.id, w.secret from public.webhook_endpoints w
  where w.secret not like $1 order by w.id limit 200 for update skip locked`;

/** $1 webhook, $2 the secret as read, $3 the same secret sealed under the current key. */
export const RESEAL_WEBHOOK_SECRET = 'update public.webhook_endpoints w set secret = $3 where w.id = $1 and w.secret = $2';

/** Up to $2 deliveries finished more than $1 days ago (webhook_deliveries_completed_idx). */
export const PURGE_FINISHED_DELIVERIES = `with doomed as (
    select d.id from public.webhook_deliveries d
    where d.completed_at < now() - make_interval(days => $1)
    order by d.completed_at
    limit $2
    for update skip locked
  )
  delete from public.webhook_deliveries d using doomed where d.id = doomed.id`;
