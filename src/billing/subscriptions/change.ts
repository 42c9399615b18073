import { asServiceRole, type RequestTransaction } from '../../db/transaction';
import type { FieldError } from '../../problems';
import { problems } from '../../problems';
import { issueInvoice } from '../invoices/issue';
import type { InvoiceDetail } from '../invoices/sql';
import { ALL_PLANS, planPrices, type PlanRow } from '../plans/sql';
import { isCustomPriced, isUpgrade, periodPrice, upgradeLines, type BillingInterval, type PlanId } from '../pricing';
import {
  CANCEL_AT_PERIOD_END,
  DATABASE_NOW,
  KEEP_CURRENT_PLAN,
  PERIOD_END,
  RESUME,
  SCHEDULE_CHANGE,
  START_NEW_PLAN,
  SUBSCRIPTION_FOR_UPDATE,
  toSubscription,
  USAGE_TO_FIT,
  type Subscription,
  type SubscriptionRow,
} from './sql';

export interface ChangeResult {
  effective: 'now' | 'period_end';
  subscription: Subscription;
  invoice: InvoiceDetail | null;
}

export interface ChangeOptions {
  /** With a payment provider, paid plans start through its checkout, not here. */
  paymentsConfigured: boolean;
}

const GIB = 1024n ** 3n;

export async function loadPlans(tx: RequestTransaction): Promise<Map<PlanId, PlanRow>> {
  const rows = (await tx.query<PlanRow>(ALL_PLANS)).rows;
  return new Map(rows.map((row) => [row.id, row]));
}

export async function lockSubscription(tx: RequestTransaction, organizationId: string): Promise<SubscriptionRow> {
  const found = await tx.query<SubscriptionRow>(SUBSCRIPTION_FOR_UPDATE, [organizationId]);
  if (found.rowCount === 0) throw problems.notFound('This organization has no subscription.');
  return found.rows[0]!;
}

export async function periodEnd(tx: RequestTransaction, start: string | Date, interval: BillingInterval): Promise<Date> {
  const result = await tx.query<{ period_end: string }>(PERIOD_END, [start instanceof Date ? start.toISOString() : start, interval]);
  return new Date(result.rows[0]!.period_end);
}

/** Members and stored bytes must fit the smaller plan; each miss is a field error. */
async function usageMisfits(tx: RequestTransaction, organizationId: string, plan: PlanRow): Promise<FieldError[]> {
  const usage = await tx.query<{ seats: number; storage_bytes: string }>(USAGE_TO_FIT, [organizationId]);
  const { seats, storage_bytes: storageBytes } = usage.rows[0] ?? { seats: 0, storage_bytes: '0' };
  const misfits: FieldError[] = [];
  if (plan.seats !== -1 && seats > plan.seats) {
    misfits.push({
      path: '/body/planId',
      message: `The ${plan.name} plan has ${plan.seats} seat(s) and the organization has ${seats} members; remove ${seats - plan.seats} first.`,
    });
  }
  if (plan.storage_gb !== -1 && BigInt(storageBytes) > BigInt(plan.storage_gb) * GIB) {
    misfits.push({
      path: '/body/planId',
      message: `The ${plan.name} plan stores ${plan.storage_gb} GB and the organization's files take ${storageBytes} bytes; remove files first.`,
    });
  }
  return misfits;
}

/**
 * A change of plan or interval. An upgrade starts a new period now, invoiced
 * with a credit for the unused part of the old one; a downgrade waits for the
 * end of the period, and only if the organization fits the smaller plan.
 */
export async function changeSubscription(
  tx: RequestTransaction,
  organizationId: string,
  target: { planId: PlanId; billingInterval: BillingInterval },
  options: ChangeOptions,
): Promise<ChangeResult> {
  const plans = await loadPlans(tx);
  const to = plans.get(target.planId);
  if (!to) throw problems.unprocessable('There is no such plan.', [{ path: '/body/planId', message: 'unknown plan' }]);
  if (isCustomPriced(planPrices(to))) {
    throw problems.unprocessable(
      `The ${to.name} plan is arranged with our sales team (custom limits, contract and invoicing); it cannot be chosen here.`,
      [{ path: '/body/planId', message: 'not self-service' }],
    );
  }
  if (periodPrice(planPrices(to), target.billingInterval) === null) {
    throw problems.unprocessable(`The ${to.name} plan is not billed ${target.billingInterval}.`, [
      { path: '/body/billingInterval', message: `not offered for ${to.name}` },
    ]);
  }

  const current = await lockSubscription(tx, organizationId);
  const from = plans.get(current.plan_id)!;
  if (current.provider_subscription_id) {
    throw problems.conflict('This subscription is billed through the payment provider; change it through its checkout or customer portal.');
  }
  const pending = current.cancel_at_period_end || current.scheduled_plan_id !== null;
  if (current.plan_id === target.planId && current.billing_interval === target.billingInterval) {
    if (!pending) throw problems.conflict(`The organization is already on the ${to.name} plan, billed ${target.billingInterval}.`);
    // Choosing the plan in force again keeps it: the scheduled change or cancellation is dropped.
    const kept = await tx.query<SubscriptionRow>(KEEP_CURRENT_PLAN, [current.id]);
    return { effective: 'now', subscription: toSubscription(kept.rows[0]!), invoice: null };
  }

  const upgrade = isUpgrade(planPrices(from), current.billing_interval, planPrices(to), target.billingInterval);
  if (!upgrade) {
    const misfits = await usageMisfits(tx, organizationId, to);
    if (misfits.length > 0) {
      throw problems.conflict(`The organization does not fit the ${to.name} plan: ${misfits.map((m) => m.message).join(' ')}`, misfits);
    }
    const scheduled = await tx.query<SubscriptionRow>(SCHEDULE_CHANGE, [current.id, target.planId, target.billingInterval]);
    return { effective: 'period_end', subscription: toSubscription(scheduled.rows[0]!), invoice: null };
  }

  if (options.paymentsConfigured) {
    throw problems.conflict('Payments run through Stripe on this server: start a paid plan with POST /api/v1/billing/checkout.');
  }
  const now = new Date((await tx.query<{ now: string }>(DATABASE_NOW)).rows[0]!.now);
  const newEnd = await periodEnd(tx, now, target.billingInterval);
  const lines = upgradeLines({
    from: planPrices(from),
    fromInterval: current.billing_interval,
    periodStart: new Date(current.current_period_start),
    periodEnd: new Date(current.current_period_end),
    to: planPrices(to),
    toInterval: target.billingInterval,
    at: now,
    newPeriodEnd: newEnd,
  });
  // Signed-in users may not set a plan or issue invoices themselves (the
  // Data API would let them skip the invoice); the rights were checked above.
  return asServiceRole(tx, async () => {
    const updated = await tx.query<SubscriptionRow>(START_NEW_PLAN, [
      current.id,
      target.planId,
      target.billingInterval,
      now.toISOString(),
      newEnd.toISOString(),
    ]);
    const invoice = await issueInvoice(tx, {
      organizationId,
      description: `Upgrade from ${from.name} to ${to.name}`,
      lines,
      planId: target.planId,
      billingInterval: target.billingInterval,
      periodStart: now,
      periodEnd: newEnd,
    });
    return { effective: 'now' as const, subscription: toSubscription(updated.rows[0]!), invoice };
  });
}

export async function cancelAtPeriodEnd(tx: RequestTransaction, organizationId: string): Promise<Subscription> {
  const current = await lockSubscription(tx, organizationId);
  if (current.provider_subscription_id) {
    throw problems.conflict('This subscription is billed through the payment provider; change it through its checkout or customer portal.');
  }
  if (current.plan_id === 'free') throw problems.conflict('The free plan has nothing to cancel.');
  if (current.cancel_at_period_end) throw problems.conflict('The subscription already ends with the current period.');
  const updated = await tx.query<SubscriptionRow>(CANCEL_AT_PERIOD_END, [current.id]);
  return toSubscription(updated.rows[0]!);
}

export async function resume(tx: RequestTransaction, organizationId: string): Promise<Subscription> {
  const current = await lockSubscription(tx, organizationId);
  if (current.provider_subscription_id) {
    throw problems.conflict('This subscription is billed through the payment provider; change it through its checkout or customer portal.');
  }
  if (!current.cancel_at_period_end) throw problems.conflict('The subscription is not set to end; there is nothing to resume.');
  const updated = await tx.query<SubscriptionRow>(RESUME, [current.id]);
  return toSubscription(updated.rows[0]!);
}
