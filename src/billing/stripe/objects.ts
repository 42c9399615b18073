import type Stripe from 'stripe';
import { fromCents, roundCents, toAmount, ZERO, type Money } from '../money';
import type { BillingInterval, PlanId } from '../pricing';
import type { SubscriptionStatus } from '../subscriptions/sql';
import type { VatDecision, VatTreatment } from '../vat';

// Stripe's objects read into what our tables store, without the database.
// Objects are read loosely: fields moved between API versions (a
// subscription's period now lives on its items, an invoice's subscription
// under parent), so both places are read, and anything missing or of the
// wrong type counts as absent.

export type Loose = Record<string, unknown>;

export const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
export const num = (value: unknown): number | null => (typeof value === 'number' && Number.isSafeInteger(value) ? value : null);
export const obj = (value: unknown): Loose => (value && typeof value === 'object' ? (value as Loose) : {});
export const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);
const seconds = (value: unknown): string | null => {
  const n = num(value);
  return n === null ? null : new Date(n * 1000).toISOString();
};

/** When the event happened at Stripe: what orders events for the same object. */
export const eventTime = (event: Stripe.Event): string => new Date(event.created * 1000).toISOString();

/** Only a link to Stripe's own https page is kept. */
const hostedPage = (object: Loose): string | null => (str(object.hosted_invoice_url)?.startsWith('https://') ? str(object.hosted_invoice_url) : null);

/** The organization our checkout wrote into the metadata, when it looks like one. */
export function metadataOrganization(object: Loose): string | null {
  const fromMetadata = str(obj(object.metadata).organizationId);
  return fromMetadata && /^[0-9a-f-]{36}$/i.test(fromMetadata) ? fromMetadata : null;
}

const PLAN_IDS: PlanId[] = ['free', 'pro', 'teams', 'enterprise'];

// A Map, not an object: a status such as "constructor" must not find a built-in property.
const STATUS = new Map<string, SubscriptionStatus>(Object.entries({
  active: 'active',
  trialing: 'trialing',
  past_due: 'past_due',
  unpaid: 'past_due',
  paused: 'past_due',
  incomplete: 'incomplete',
  incomplete_expired: 'incomplete',
  canceled: 'canceled',
} satisfies Record<string, SubscriptionStatus>));

const statusOf = (object: Loose): SubscriptionStatus => STATUS.get(str(object.status) ?? '') ?? 'incomplete';

/** Deleted or canceled: the organization goes back to free (and nothing else of the object matters). */
export function subscriptionEnded(event: Stripe.Event, object: Loose): boolean {
  return event.type === 'customer.subscription.deleted' || statusOf(object) === 'canceled';
}

/** A Stripe subscription that goes on, as our subscription row would have it. */
export interface StripeSubscription {
  status: SubscriptionStatus;
  /** An incomplete subscription (first payment pending) grants nothing yet. */
  grants: boolean;
  planId: PlanId | null;
  interval: BillingInterval | null;
  periodStart: string | null;
  periodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  trialEnd: string | null;
  customerId: string | null;
}

export function readSubscription(object: Loose): StripeSubscription {
  const status = statusOf(object);
  const item = obj((obj(object.items).data as unknown[] | undefined)?.[0]);
  const recurring = obj(obj(item.price).recurring);
  const metadataPlan = str(obj(object.metadata).planId) as PlanId | null;
  return {
    status,
    grants: status !== 'incomplete',
    planId: metadataPlan && PLAN_IDS.includes(metadataPlan) ? metadataPlan : null,
    interval: recurring.interval === 'year' ? 'annually' : recurring.interval === 'month' ? 'monthly' : null,
    periodStart: seconds(object.current_period_start ?? item.current_period_start),
    periodEnd: seconds(object.current_period_end ?? item.current_period_end),
    cancelAtPeriodEnd: object.cancel_at_period_end === true,
    trialEnd: seconds(object.trial_end),
    customerId: idOf(object.customer),
  };
}

export type ProviderInvoiceStatus = 'open' | 'paid' | 'void' | 'uncollectible';

/** Which invoice an event is about, and the subscription that tells its organization when no metadata does. */
export function invoiceIds(object: Loose): { invoiceId: string | null; subscriptionId: string | null } {
  return {
    invoiceId: str(object.id),
    subscriptionId: idOf(object.subscription) ?? idOf(obj(obj(object.parent).subscription_details).subscription),
  };
}

/** What every invoice event says: where the invoice stands. */
export interface StripeInvoiceState {
  status: ProviderInvoiceStatus;
  amountPaid: Money;
  paidAt: string | null;
  invoiceUrl: string | null;
}

/** The rest of an invoice seen for the first time (amounts exact, from Stripe's cents). */
export interface StripeInvoiceContent {
  amountDue: Money;
  total: Money;
  tax: Money;
  /** Total less tax, to the cent. */
  net: Money;
  /** Tax as a percentage of the net amount, to the cent; zero when either is zero. */
  vatRate: Money;
  description: string;
  periodStart: string | null;
  periodEnd: string | null;
  dueDate: string | null;
  /** At most 100, each a single item at its amount. */
  lines: Array<{ description: string; amount: string }>;
}

export function readInvoiceState(event: Stripe.Event, object: Loose): StripeInvoiceState {
  const rawStatus = str(object.status);
  const status: ProviderInvoiceStatus =
    event.type === 'invoice.paid' ? 'paid' : rawStatus === 'void' ? 'void' : rawStatus === 'uncollectible' ? 'uncollectible' : 'open';
  return {
    status,
    amountPaid: fromCents(num(object.amount_paid) ?? 0),
    paidAt: status === 'paid' ? (seconds(obj(object.status_transitions).paid_at) ?? eventTime(event)) : null,
    invoiceUrl: hostedPage(object),
  };
}

function sumTaxes(taxes: unknown): number {
  if (!Array.isArray(taxes)) return 0;
  return taxes.reduce<number>((total, tax) => total + (num(obj(tax).amount) ?? 0), 0);
}

export function readInvoiceContent(object: Loose): StripeInvoiceContent {
  const total = fromCents(num(object.total) ?? 0);
  const tax = fromCents(num(object.tax) ?? sumTaxes(object.total_taxes));
  const net = roundCents(total.minus(tax));
  const lineItems = ((obj(object.lines).data as unknown[] | undefined) ?? []).map(obj);
  return {
    amountDue: fromCents(num(object.amount_due) ?? 0),
    total,
    tax,
    net,
    vatRate: tax.isZero() || net.isZero() ? ZERO : roundCents(tax.times(100).dividedBy(net)),
    description: (str(lineItems[0]?.description) ?? `Stripe invoice ${str(object.number) ?? str(object.id)}`).slice(0, 500),
    periodStart: seconds(object.period_start),
    periodEnd: seconds(object.period_end),
    dueDate: seconds(object.due_date),
    lines: lineItems.slice(0, 100).map((line) => ({
      description: (str(line.description) ?? 'Subscription').slice(0, 500),
      amount: toAmount(fromCents(num(line.amount) ?? 0)),
    })),
  };
}

/** Tax charged by Stripe is Dutch VAT; without tax, the customer's details say why none was due. */
export function invoiceVatTreatment(invoice: Pick<StripeInvoiceContent, 'tax'>, decision: VatDecision): VatTreatment {
  return invoice.tax.isZero() ? decision.treatment : 'domestic';
}

/** Where an invoice stands; a later event may move it forward, never back (paid never becomes open again). */
const INVOICE_RANK: Record<string, number> = { draft: 0, open: 1, paid: 2, void: 2, uncollectible: 2 };

/** Whether an event's status may replace the stored one: not when a newer event wrote it, nor when it would move back. */
export function invoiceMovesForward(stored: { status: string; newer: boolean }, status: ProviderInvoiceStatus): boolean {
  return !stored.newer && INVOICE_RANK[status]! >= INVOICE_RANK[stored.status]!;
}

const BRANDS = new Set(['visa', 'mastercard', 'amex', 'discover']);

/** A payment method as our table stores it; null for kinds we do not keep (or without their last four). */
export type StripePaymentMethod =
  | { type: 'card'; brand: string; last4: string; expMonth: number | null; expYear: number | null; country: string | null }
  | { type: 'sepa_debit'; bankCode: string | null; last4: string; country: string };

export function readPaymentMethod(object: Loose): StripePaymentMethod | null {
  const card = obj(object.card);
  const sepa = obj(object.sepa_debit);
  const cardLast4 = str(card.last4);
  const sepaLast4 = str(sepa.last4);
  if (object.type === 'card' && cardLast4) {
    const brand = str(card.brand) ?? 'unknown';
    return {
      type: 'card',
      brand: BRANDS.has(brand) ? brand : 'unknown',
      last4: cardLast4,
      expMonth: num(card.exp_month),
      expYear: num(card.exp_year),
      country: str(card.country),
    };
  }
  if (object.type === 'sepa_debit' && sepaLast4) {
    return { type: 'sepa_debit', bankCode: str(sepa.bank_code), last4: sepaLast4, country: str(sepa.country) ?? 'NL' };
  }
  return null;
}
