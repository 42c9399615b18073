import type { components } from '../../generated/openapi';
import { billingOwnerColumn } from '../owner';
import type { BillingInterval, PlanId } from '../pricing';

export type Subscription = components['schemas']['Subscription'];
export type SubscriptionStatus = components['schemas']['SubscriptionStatus'];

export interface SubscriptionRow {
  id: string;
  organization_id: string;
  billing_owner_id: string;
  plan_id: PlanId;
  status: SubscriptionStatus;
  billing_interval: BillingInterval;
  current_period_start: string;
  current_period_end: string;
  cancel_at_period_end: boolean;
  scheduled_plan_id: PlanId | null;
  scheduled_interval: BillingInterval | null;
  trial_end: string | null;
  provider_customer_id: string | null;
  provider_subscription_id: string | null;
  provider_synced_at: string | null;
  created_at: string;
  updated_at: string;
}

export const SUBSCRIPTION_COLUMNS = `s.id, s.organization_id, s.plan_id, s.status, s.billing_interval, s.current_period_start,
  s.current_period_end, s.cancel_at_period_end, s.scheduled_plan_id, s.scheduled_interval, s.trial_end,
  s.provider_customer_id, s.provider_subscription_id, s.provider_synced_at, s.created_at, s.updated_at,
  ${billingOwnerColumn('s.organization_id')}`;

export function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    organizationId: row.organization_id,
    userId: row.billing_owner_id,
    planId: row.plan_id,
    status: row.status,
    billingInterval: row.billing_interval,
    currentPeriodStart: row.current_period_start,
    currentPeriodEnd: row.current_period_end,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    scheduledChange:
      row.scheduled_plan_id && row.scheduled_interval
        ? { planId: row.scheduled_plan_id, billingInterval: row.scheduled_interval, effectiveAt: row.current_period_end }
        : null,
    trialEnd: row.trial_end,
    providerCustomerId: row.provider_customer_id,
    stripeSubscriptionId: row.provider_subscription_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const SUBSCRIPTION_OF_ORGANIZATION = `select ${SUBSCRIPTION_COLUMNS} from public.subscriptions s where s.organization_id = $1`;

/** The same row, locked until the transaction ends, so two changes of one subscription take turns. */
export const SUBSCRIPTION_FOR_UPDATE = `${SUBSCRIPTION_OF_ORGANIZATION} for update`;

/** The end of a period that starts at $1 with interval $2 (calendar months, as PostgreSQL adds them). */
export const PERIOD_END = `select ($1::timestamptz + case $2::public.billing_interval when 'monthly' then interval '1 month' else interval '1 year' end) as period_end`;

/** The database's clock, so a new period starts when the transaction says it is. */
export const DATABASE_NOW = 'select now() as now';

/** $1 organization: the members and stored bytes a smaller plan must fit. */
export const USAGE_TO_FIT = 'select seats, storage_bytes::text as storage_bytes from app.billing_usage($1)';

/** $1 subscription: the plan in force is kept, so a scheduled change or cancellation is dropped. */
export const KEEP_CURRENT_PLAN = `update public.subscriptions s set scheduled_plan_id = null, scheduled_interval = null, cancel_at_period_end = false
  where s.id = $1 returning ${SUBSCRIPTION_COLUMNS}`;

/** $1 subscription, $2 plan, $3 interval: the change waits for the end of the period. */
export const SCHEDULE_CHANGE = `update public.subscriptions s set scheduled_plan_id = $2, scheduled_interval = $3, cancel_at_period_end = false
  where s.id = $1 returning ${SUBSCRIPTION_COLUMNS}`;

/** $1 subscription, $2 plan, $3 interval, $4 and $5 the new period: an upgrade starts now. */
export const START_NEW_PLAN = `update public.subscriptions s
  set plan_id = $2, billing_interval = $3, status = 'active', current_period_start = $4, current_period_end = $5,
      cancel_at_period_end = false, scheduled_plan_id = null, scheduled_interval = null
  where s.id = $1 returning ${SUBSCRIPTION_COLUMNS}`;

/** $1 subscription. */
export const CANCEL_AT_PERIOD_END = `update public.subscriptions s set cancel_at_period_end = true, scheduled_plan_id = null, scheduled_interval = null
  where s.id = $1 returning ${SUBSCRIPTION_COLUMNS}`;

/** $1 subscription. */
export const RESUME = `update public.subscriptions s set cancel_at_period_end = false where s.id = $1 returning ${SUBSCRIPTION_COLUMNS}`;

/**
 * $1 how many: subscriptions whose period ended, oldest first, skipping those
 * another instance holds. The payment provider's are left to its webhooks.
 */
export const ENDED_PERIODS = `select ${SUBSCRIPTION_COLUMNS} from public.subscriptions s
  where s.current_period_end <= now() and s.provider_subscription_id is null
  order by s.current_period_end, s.id
  limit $1
  for update skip locked`;

/** $1 subscription, $2 plan, $3 interval, $4 and $5 the next period. Back on free nothing is owed, so it is active. */
export const START_NEXT_PERIOD = `update public.subscriptions s
  set plan_id = $2, billing_interval = $3, current_period_start = $4, current_period_end = $5,
      cancel_at_period_end = false, scheduled_plan_id = null, scheduled_interval = null,
      status = case when $2::public.plan_tier = 'free' then 'active'::public.subscription_status else s.status end
  where s.id = $1`;
