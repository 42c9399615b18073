import type Stripe from 'stripe';
import type { RequestTransaction } from '../../db/transaction';
import { toAmount } from '../money';
import { vatFor } from '../vat';
import {
  eventTime,
  idOf,
  invoiceIds,
  invoiceMovesForward,
  invoiceVatTreatment,
  metadataOrganization,
  obj,
  readInvoiceContent,
  readInvoiceState,
  readPaymentMethod,
  readSubscription,
  str,
  subscriptionEnded,
  type Loose,
  type StripeInvoiceState,
} from './objects';
import {
  BACK_TO_FREE,
  DELETE_PROVIDER_PAYMENT_METHOD,
  DETACHED_SINCE,
  INSERT_PROVIDER_CARD,
  INSERT_PROVIDER_INVOICE,
  INSERT_PROVIDER_INVOICE_LINE,
  INSERT_PROVIDER_SEPA_DEBIT,
  INVOICE_SYNC_STATE,
  ORGANIZATION_EXISTS,
  ORGANIZATION_OF_PROVIDER_IDS,
  RECORD_EVENT,
  SUBSCRIPTION_ACTIVE_AGAIN,
  SUBSCRIPTION_PAST_DUE,
  SUBSCRIPTION_SYNC_STATE,
  SYNC_PROVIDER_INVOICE,
  SYNC_SUBSCRIPTION,
  VAT_DETAILS,
} from './sql';

// Stripe's events applied to our tables. Each event is applied once (its id
// is recorded in the same transaction) and never lets an older event
// overwrite what a newer one said: every row remembers the creation time of
// the provider event that last changed it, and older events are skipped.

export interface ApplyResult {
  duplicate: boolean;
}

/** Records the event; false when it was recorded (and so applied) before. */
async function firstDelivery(tx: RequestTransaction, event: Stripe.Event, objectId: string | null): Promise<boolean> {
  const inserted = await tx.query(RECORD_EVENT, [event.id, event.type, objectId, event.created]);
  return inserted.rowCount === 1;
}

/** The organization an object belongs to: our metadata first, else the Stripe customer or subscription we know. */
async function organizationOf(tx: RequestTransaction, object: Loose, subscriptionId: string | null): Promise<string | null> {
  const fromMetadata = metadataOrganization(object);
  if (fromMetadata) {
    const known = await tx.query<{ id: string }>(ORGANIZATION_EXISTS, [fromMetadata]);
    if (known.rowCount === 1) return fromMetadata;
  }
  const found = await tx.query<{ organization_id: string }>(ORGANIZATION_OF_PROVIDER_IDS, [subscriptionId, idOf(object.customer)]);
  return found.rows[0]?.organization_id ?? null;
}

async function applySubscription(tx: RequestTransaction, event: Stripe.Event, object: Loose): Promise<void> {
  const subscriptionId = str(object.id);
  const organizationId = await organizationOf(tx, object, subscriptionId);
  if (!organizationId || !subscriptionId) return;
  const eventAt = eventTime(event);
  const current = await tx.query<{ newer: boolean }>(SUBSCRIPTION_SYNC_STATE, [organizationId, eventAt]);
  if (current.rowCount === 0 || current.rows[0]!.newer) return;
  if (subscriptionEnded(event, object)) {
    await tx.query(BACK_TO_FREE, [organizationId, eventAt]);
    return;
  }
  const subscription = readSubscription(object);
  await tx.query(SYNC_SUBSCRIPTION, [
    organizationId,
    subscription.status,
    subscription.grants,
    subscription.planId,
    subscription.interval,
    subscription.periodStart,
    subscription.periodEnd,
    subscription.cancelAtPeriodEnd,
    subscription.trialEnd,
    subscription.customerId,
    subscriptionId,
    eventAt,
  ]);
}

/** An invoice seen for the first time, with its lines. */
async function insertInvoice(
  tx: RequestTransaction,
  organizationId: string,
  invoiceId: string,
  state: StripeInvoiceState,
  object: Loose,
  eventAt: string,
): Promise<void> {
  const content = readInvoiceContent(object);
  const details = await tx.query<{ country: string | null; btw_number: string | null }>(VAT_DETAILS, [organizationId]);
  const decision = vatFor({ country: details.rows[0]?.country ?? null, btwNumber: details.rows[0]?.btw_number ?? null });
  const inserted = await tx.query<{ id: string }>(INSERT_PROVIDER_INVOICE, [
    organizationId,
    state.status,
    content.description,
    invoiceVatTreatment(content, decision),
    content.vatRate.toFixed(2),
    toAmount(content.net),
    toAmount(content.tax),
    toAmount(content.total),
    toAmount(content.amountDue),
    toAmount(state.amountPaid),
    content.periodStart,
    content.periodEnd,
    content.dueDate,
    state.paidAt,
    state.invoiceUrl,
    invoiceId,
    eventAt,
  ]);
  const invoiceRowId = inserted.rows[0]!.id;
  for (const [index, line] of content.lines.entries()) {
    await tx.query(INSERT_PROVIDER_INVOICE_LINE, [invoiceRowId, organizationId, index + 1, line.description, line.amount]);
  }
}

/** What an applied invoice event does to the subscription's standing. */
const SUBSCRIPTION_AFTER: Partial<Record<string, string>> = {
  'invoice.payment_failed': SUBSCRIPTION_PAST_DUE,
  'invoice.paid': SUBSCRIPTION_ACTIVE_AGAIN,
};

async function applyInvoice(tx: RequestTransaction, event: Stripe.Event, object: Loose): Promise<void> {
  const { invoiceId, subscriptionId } = invoiceIds(object);
  const organizationId = await organizationOf(tx, object, subscriptionId);
  if (!organizationId || !invoiceId) return;
  const eventAt = eventTime(event);
  const state = readInvoiceState(event, object);
  const stored = await tx.query<{ status: string; newer: boolean }>(INVOICE_SYNC_STATE, [invoiceId, eventAt]);
  if (stored.rowCount === 0) {
    await insertInvoice(tx, organizationId, invoiceId, state, object, eventAt);
  } else if (invoiceMovesForward(stored.rows[0]!, state.status)) {
    await tx.query(SYNC_PROVIDER_INVOICE, [invoiceId, state.status, toAmount(state.amountPaid), state.paidAt, eventAt, state.invoiceUrl]);
  } else {
    return;
  }
  const standing = SUBSCRIPTION_AFTER[event.type];
  if (standing) await tx.query(standing, [organizationId]);
}

async function applyPaymentMethod(tx: RequestTransaction, event: Stripe.Event, object: Loose): Promise<void> {
  const methodId = str(object.id);
  if (!methodId) return;
  if (event.type === 'payment_method.detached') {
    await tx.query(DELETE_PROVIDER_PAYMENT_METHOD, [methodId]);
    return;
  }
  // An attachment older than a detachment we already applied must not bring the method back.
  const detachedLater = await tx.query(DETACHED_SINCE, [methodId, event.created]);
  if (detachedLater.rowCount !== 0) return;
  const organizationId = await organizationOf(tx, object, null);
  if (!organizationId) return;
  const method = readPaymentMethod(object);
  if (method?.type === 'card') {
    await tx.query(INSERT_PROVIDER_CARD, [organizationId, method.brand, method.last4, method.expMonth, method.expYear, method.country, methodId]);
  } else if (method?.type === 'sepa_debit') {
    await tx.query(INSERT_PROVIDER_SEPA_DEBIT, [organizationId, method.bankCode, method.last4, method.country, methodId]);
  }
}

/** Applies one verified event, once. */
export async function applyStripeEvent(tx: RequestTransaction, event: Stripe.Event): Promise<ApplyResult> {
  const object = obj(event.data?.object);
  if (!(await firstDelivery(tx, event, str(object.id)))) return { duplicate: true };
  switch (event.type) {
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
      await applySubscription(tx, event, object);
      break;
    case 'invoice.finalized':
    case 'invoice.paid':
    case 'invoice.payment_failed':
      await applyInvoice(tx, event, object);
      break;
    case 'payment_method.attached':
    case 'payment_method.detached':
      await applyPaymentMethod(tx, event, object);
      break;
    default:
      // Recorded and otherwise ignored: Stripe sends what the endpoint subscribes to.
      break;
  }
  return { duplicate: false };
}
