import { requireOrganization, type RequestTransaction } from '../../db/transaction';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { cancelAtPeriodEnd, changeSubscription, resume, type ChangeOptions, type ChangeResult } from './change';
import { SUBSCRIPTION_OF_ORGANIZATION, toSubscription, type Subscription, type SubscriptionRow } from './sql';

const CHANGE = 'change its plan';

/** Every member may see which plan the organization is on. */
export async function getSubscription(tx: RequestTransaction): Promise<Subscription> {
  const found = await tx.query<SubscriptionRow>(SUBSCRIPTION_OF_ORGANIZATION, [requireOrganization(tx)]);
  if (found.rowCount === 0) throw problems.notFound('This organization has no subscription.');
  return toSubscription(found.rows[0]!);
}

export function changePlan(tx: RequestTransaction, body: RequestBody<'changeSubscription'>, options: ChangeOptions): Promise<ChangeResult> {
  return changeSubscription(tx, requireBillingManager(tx, CHANGE), { planId: body.planId, billingInterval: body.billingInterval }, options);
}

export function cancelSubscription(tx: RequestTransaction): Promise<Subscription> {
  return cancelAtPeriodEnd(tx, requireBillingManager(tx, CHANGE));
}

export function resumeSubscription(tx: RequestTransaction): Promise<Subscription> {
  return resume(tx, requireBillingManager(tx, CHANGE));
}
