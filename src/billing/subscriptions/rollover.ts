import type { RequestTransaction } from '../../db/transaction';
import { issueInvoice } from '../invoices/issue';
import { planPrices } from '../plans/sql';
import { renewalLines, type BillingInterval, type PlanId } from '../pricing';
import { loadPlans, periodEnd } from './change';
import { SUBSCRIPTION_COLUMNS, type SubscriptionRow } from './sql';

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
  const due = await tx.query<SubscriptionRow>(
    `select ${SUBSCRIPTION_COLUMNS} from public.subscriptions s
     where s.current_period_end <= now() and s.provider_subscription_id is null
     order by s.current_period_end, s.id
     limit $1
     for update skip locked`,
    [limit],
  );
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
    await tx.query(
      `update public.subscriptions s
       set plan_id = $2, billing_interval = $3, current_period_start = $4, current_period_end = $5,
           cancel_at_period_end = false, scheduled_plan_id = null, scheduled_interval = null,
           status = case when $2::public.plan_tier = 'free' then 'active'::public.subscription_status else s.status end
       where s.id = $1`,
      [row.id, planId, interval, start.toISOString(), end.toISOString()],
    );
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
