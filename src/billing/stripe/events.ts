import type Stripe from 'stripe';
import type { RequestTransaction } from '../../db/transaction';
import { fromCents, roundCents, toAmount, ZERO } from '../money';
import type { BillingInterval, PlanId } from '../pricing';
import { vatFor } from '../vat';
import type { SubscriptionStatus } from '../subscriptions/sql';

// Stripe's events applied to our tables. Each event is applied once (its id
// is recorded in the same transaction) and never lets an older event
// overwrite what a newer one said: every row remembers the creation time of
// the provider event that last changed it, and older events are skipped.
// Objects are read loosely: fields moved between API versions (a
// subscription's period now lives on its items, an invoice's subscription
// under parent), so both places are read.

type Loose = Record<string, unknown>;

const PLAN_IDS: PlanId[] = ['free', 'pro', 'teams', 'enterprise'];

const STATUS: Record<string, SubscriptionStatus> = {
  active: 'active',
  trialing: 'trialing',
  past_due: 'past_due',
  unpaid: 'past_due',
  paused: 'past_due',
  incomplete: 'incomplete',
  incomplete_expired: 'incomplete',
  canceled: 'canceled',
};

const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isSafeInteger(value) ? value : null);
const obj = (value: unknown): Loose => (value && typeof value === 'object' ? (value as Loose) : {});
const idOf = (value: unknown): string | null => str(value) ?? str(obj(value).id);
const seconds = (value: unknown): string | null => {
  const n = num(value);
  return n === null ? null : new Date(n * 1000).toISOString();
};

export interface ApplyResult {
  duplicate: boolean;
}

/** Records the event; false when it was recorded (and so applied) before. */
async function firstDelivery(tx: RequestTransaction, event: Stripe.Event, objectId: string | null): Promise<boolean> {
  const inserted = await tx.query(
    `insert into public.payment_provider_events (id, type, object_id, event_created_at)
     values ($1, $2, $3, to_timestamp($4)) on conflict (id) do nothing`,
    [event.id, event.type, objectId, event.created],
  );
  return inserted.rowCount === 1;
}

/** The organization an object belongs to: our metadata first, else the Stripe customer or subscription we know. */
async function organizationOf(tx: RequestTransaction, object: Loose, subscriptionId: string | null): Promise<string | null> {
  const fromMetadata = str(obj(object.metadata).organizationId);
  if (fromMetadata && /^[0-9a-f-]{36}$/i.test(fromMetadata)) {
    const known = await tx.query<{ id: string }>('select o.id from public.organizations o where o.id = $1', [fromMetadata]);
    if (known.rowCount === 1) return fromMetadata;
  }
  const customer = idOf(object.customer);
  const found = await tx.query<{ organization_id: string }>(
    `select s.organization_id from public.subscriptions s
     where ($1::text is not null and s.provider_subscription_id = $1) or ($2::text is not null and s.provider_customer_id = $2)
     order by (s.provider_subscription_id = $1) desc nulls last
     limit 1`,
    [subscriptionId, customer],
  );
  return found.rows[0]?.organization_id ?? null;
}

async function applySubscription(tx: RequestTransaction, event: Stripe.Event, object: Loose): Promise<void> {
  const subscriptionId = str(object.id);
  const organizationId = await organizationOf(tx, object, subscriptionId);
  if (!organizationId || !subscriptionId) return;
  const eventAt = new Date(event.created * 1000).toISOString();
  const current = await tx.query<{ newer: boolean }>(
    `select coalesce(s.provider_synced_at > $2::timestamptz, false) as newer
     from public.subscriptions s where s.organization_id = $1 for update`,
    [organizationId, eventAt],
  );
  if (current.rowCount === 0 || current.rows[0]!.newer) return;

  const status = STATUS[str(object.status) ?? ''] ?? 'incomplete';
  if (event.type === 'customer.subscription.deleted' || status === 'canceled') {
    // The paid subscription is over: the organization is on free again.
    await tx.query(
      `update public.subscriptions s
       set plan_id = 'free', status = 'active', billing_interval = 'monthly', cancel_at_period_end = false,
           scheduled_plan_id = null, scheduled_interval = null, trial_end = null, provider_subscription_id = null,
           current_period_start = now(), current_period_end = now() + interval '1 month', provider_synced_at = $2
       where s.organization_id = $1`,
      [organizationId, eventAt],
    );
    return;
  }

  const item = obj((obj(object.items).data as unknown[] | undefined)?.[0]);
  const recurring = obj(obj(item.price).recurring);
  const interval: BillingInterval | null = recurring.interval === 'year' ? 'annually' : recurring.interval === 'month' ? 'monthly' : null;
  const metadataPlan = str(obj(object.metadata).planId) as PlanId | null;
  const planId = metadataPlan && PLAN_IDS.includes(metadataPlan) ? metadataPlan : null;
  const periodStart = seconds(object.current_period_start ?? item.current_period_start);
  const periodEnd = seconds(object.current_period_end ?? item.current_period_end);
  // An incomplete subscription (first payment pending) grants nothing yet.
  const grants = status !== 'incomplete';
  await tx.query(
    `update public.subscriptions s
     set status = $2,
         plan_id = case when $3 and $4::public.plan_tier is not null then $4 else s.plan_id end,
         billing_interval = case when $3 and $5::public.billing_interval is not null then $5 else s.billing_interval end,
         current_period_start = coalesce($6, s.current_period_start),
         current_period_end = coalesce($7, s.current_period_end),
         cancel_at_period_end = $8, scheduled_plan_id = null, scheduled_interval = null,
         trial_end = $9, provider_customer_id = coalesce($10, s.provider_customer_id), provider_subscription_id = $11,
         provider_synced_at = $12
     where s.organization_id = $1`,
    [
      organizationId,
      status,
      grants,
      planId,
      interval,
      periodStart,
      periodEnd,
      object.cancel_at_period_end === true,
      seconds(object.trial_end),
      idOf(object.customer),
      subscriptionId,
      eventAt,
    ],
  );
}

/** Where an invoice stands; a later event may move it forward, never back (paid never becomes open again). */
const INVOICE_RANK: Record<string, number> = { draft: 0, open: 1, paid: 2, void: 2, uncollectible: 2 };

async function applyInvoice(tx: RequestTransaction, event: Stripe.Event, object: Loose): Promise<void> {
  const invoiceId = str(object.id);
  const subscriptionId = idOf(object.subscription) ?? idOf(obj(obj(object.parent).subscription_details).subscription);
  const organizationId = await organizationOf(tx, object, subscriptionId);
  if (!organizationId || !invoiceId) return;
  const eventAt = new Date(event.created * 1000).toISOString();
  const status = event.type === 'invoice.paid' ? 'paid' : str(object.status) === 'void' ? 'void' : str(object.status) === 'uncollectible' ? 'uncollectible' : 'open';
  const amountPaid = fromCents(num(object.amount_paid) ?? 0);
  const paidAt = status === 'paid' ? (seconds(obj(object.status_transitions).paid_at) ?? eventAt) : null;

  const existing = await tx.query<{ status: string; newer: boolean }>(
    `select i.status, coalesce(i.provider_synced_at > $2::timestamptz, false) as newer
     from public.invoices i where i.provider_invoice_id = $1 for update`,
    [invoiceId, eventAt],
  );
  let applied = false;
  if (existing.rowCount === 0) {
    const total = fromCents(num(object.total) ?? 0);
    const tax = fromCents(num(object.tax) ?? sumTaxes(object.total_taxes));
    const net = roundCents(total.minus(tax));
    const details = await tx.query<{ country: string | null; btw_number: string | null }>(
      'select d.country, d.btw_number from public.billing_details d where d.organization_id = $1',
      [organizationId],
    );
    const decision = vatFor({ country: details.rows[0]?.country ?? null, btwNumber: details.rows[0]?.btw_number ?? null });
    const vatRate = tax.isZero() || net.isZero() ? ZERO : roundCents(tax.times(100).dividedBy(net));
    const lineItems = ((obj(object.lines).data as unknown[] | undefined) ?? []).map(obj);
    const inserted = await tx.query<{ id: string }>(
      `insert into public.invoices as i
         (organization_id, status, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due, amount_paid,
          customer, period_start, period_end, due_date, paid_at, invoice_url, provider_invoice_id, provider_synced_at)
       select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
              jsonb_build_object('name', o.name), $11, $12, $13::timestamptz::date, $14, $15, $16, $17
       from public.organizations o where o.id = $1
       returning i.id`,
      [
        organizationId,
        status,
        (str(lineItems[0]?.description) ?? `Stripe invoice ${str(object.number) ?? invoiceId}`).slice(0, 500),
        tax.isZero() ? (decision.treatment === 'domestic' ? 'domestic' : decision.treatment) : 'domestic',
        vatRate.toFixed(2),
        toAmount(net),
        toAmount(tax),
        toAmount(total),
        toAmount(fromCents(num(object.amount_due) ?? 0)),
        toAmount(amountPaid),
        seconds(object.period_start),
        seconds(object.period_end),
        seconds(object.due_date),
        paidAt,
        str(object.hosted_invoice_url)?.startsWith('https://') ? str(object.hosted_invoice_url) : null,
        invoiceId,
        eventAt,
      ],
    );
    const invoiceRowId = inserted.rows[0]!.id;
    let position = 0;
    for (const line of lineItems.slice(0, 100)) {
      position += 1;
      const amount = toAmount(fromCents(num(line.amount) ?? 0));
      await tx.query(
        `insert into public.invoice_lines (invoice_id, organization_id, position, description, quantity, unit_amount, amount)
         values ($1, $2, $3, $4, 1, $5, $5)`,
        [invoiceRowId, organizationId, position, (str(line.description) ?? 'Subscription').slice(0, 500), amount],
      );
    }
    applied = true;
  } else {
    const row = existing.rows[0]!;
    if (!row.newer && INVOICE_RANK[status]! >= INVOICE_RANK[row.status]!) {
      await tx.query(
        `update public.invoices i
         set status = $2, amount_paid = $3, paid_at = $4, provider_synced_at = $5,
             invoice_url = coalesce($6, i.invoice_url)
         where i.provider_invoice_id = $1`,
        [
          invoiceId,
          status,
          toAmount(amountPaid),
          paidAt,
          eventAt,
          str(object.hosted_invoice_url)?.startsWith('https://') ? str(object.hosted_invoice_url) : null,
        ],
      );
      applied = true;
    }
  }
  if (!applied) return;
  if (event.type === 'invoice.payment_failed') {
    await tx.query(`update public.subscriptions s set status = 'past_due' where s.organization_id = $1 and s.status = 'active'`, [organizationId]);
  } else if (event.type === 'invoice.paid') {
    await tx.query(`update public.subscriptions s set status = 'active' where s.organization_id = $1 and s.status = 'past_due'`, [organizationId]);
  }
}

function sumTaxes(taxes: unknown): number {
  if (!Array.isArray(taxes)) return 0;
  return taxes.reduce<number>((total, tax) => total + (num(obj(tax).amount) ?? 0), 0);
}

const BRANDS = new Set(['visa', 'mastercard', 'amex', 'discover']);

async function applyPaymentMethod(tx: RequestTransaction, event: Stripe.Event, object: Loose): Promise<void> {
  const methodId = str(object.id);
  if (!methodId) return;
  if (event.type === 'payment_method.detached') {
    await tx.query('delete from public.payment_methods pm where pm.provider_payment_method_id = $1', [methodId]);
    return;
  }
  // An attachment older than a detachment we already applied must not bring the method back.
  const detachedLater = await tx.query(
    `select 1 from public.payment_provider_events e
     where e.object_id = $1 and e.type = 'payment_method.detached' and e.event_created_at >= to_timestamp($2) limit 1`,
    [methodId, event.created],
  );
  if (detachedLater.rowCount !== 0) return;
  const organizationId = await organizationOf(tx, object, null);
  if (!organizationId) return;
  const card = obj(object.card);
  const sepa = obj(object.sepa_debit);
  if (object.type === 'card' && str(card.last4)) {
    const brand = str(card.brand) ?? 'unknown';
    await tx.query(
      `insert into public.payment_methods (organization_id, type, card_brand, last4, exp_month, exp_year, country, provider_payment_method_id)
       values ($1, 'card', $2, $3, $4, $5, $6, $7) on conflict (provider_payment_method_id) do nothing`,
      [organizationId, BRANDS.has(brand) ? brand : 'unknown', str(card.last4), num(card.exp_month), num(card.exp_year), str(card.country), methodId],
    );
  } else if (object.type === 'sepa_debit' && str(sepa.last4)) {
    await tx.query(
      `insert into public.payment_methods (organization_id, type, bank_code, last4, country, provider_payment_method_id)
       values ($1, 'sepa_debit', $2, $3, $4, $5) on conflict (provider_payment_method_id) do nothing`,
      [organizationId, str(sepa.bank_code), str(sepa.last4), str(sepa.country) ?? 'NL', methodId],
    );
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
