import type { RequestTransaction } from '../../db/transaction';
import { issueInvoice } from '../invoices/issue';
import { planPrices } from '../plans/sql';
import { renewalLines, type BillingInterval, type PlanId } from '../pricing';
import { loadPlans, periodEnd } from './change';
import { ENDED_PERIODS, START_NEXT_PERIOD, type SubscriptionRow } from './sql';

/**
 * Starts the next period of every subscription whose period has ended (at
 * most `limit` of them), applying what was waiting for it: a cancellation
 * (back to free), a scheduled downgrade, or a plain renewal; a paid period is
 * invoiced for manual payment. Subscriptions billed by the payment provider
 * are left to its webhooks. Instances share the work through SKIP LOCKED, so
 * each period rolls over once. A subscription many periods behind moves one
 * period per pass; returns how many were rolled over.
 */
export async function rollOverEndedPeriods(tx: RequestTransaction, limit: number): Promise<number> {
  const due = await tx.query<SubscriptionRow>(ENDED_PERIODS, [limit]);
  if (due.rowCount === 0) return 0;
  const plans = await loadPlans(tx);
  for (const row of due.rows) {
    let planId: PlanId = row.plan_id;
    let interval: BillingInterval = row.billing_interval;
    if (row.cancel_at_period_end) {
      planId = 'free';
      interval = 'monthly';
    } else if (row.scheduled_plan_id && row.scheduled_interval) {
      planId = row.scheduled_plan_id;
      interval = row.scheduled_interval;
    }
    const start = new Date(row.current_period_end);
    const end = await periodEnd(tx, start, interval);
    await tx.query(START_NEXT_PERIOD, [row.id, planId, interval, start.toISOString(), end.toISOString()]);
    const plan = plans.get(planId)!;
    const lines = renewalLines(planPrices(plan), interval, start, end);
    if (lines.length > 0) {
      await issueInvoice(tx, {
        organizationId: row.organization_id,
        description: planId === row.plan_id ? `${plan.name} plan renewal` : `${plan.name} plan from ${start.toISOString().slice(0, 10)}`,
        lines,
        planId,
        billingInterval: interval,
        periodStart: start,
        periodEnd: end,
      });
    }
  }
  return due.rowCount ?? 0;
}
