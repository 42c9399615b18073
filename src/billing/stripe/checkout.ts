import type Stripe from 'stripe';
import type { RequestTransaction } from '../../db/transaction';
import { problems } from '../../problems';
import { toCents } from '../money';
import { planPrices } from '../plans/sql';
import { isCustomPriced, periodPrice, type BillingInterval, type PlanId } from '../pricing';
import { loadPlans, lockSubscription } from '../subscriptions/change';

/** Payment methods offered on the Checkout page. */
export const CHECKOUT_PAYMENT_METHODS: Stripe.Checkout.SessionCreateParams.AllowedPaymentMethodType[] = ['card', 'ideal', 'sepa_debit'];

/**
 * Everything Stripe needs to open a Checkout page for a plan, read in the
 * request's transaction; the call to Stripe happens after it, so no database
 * transaction waits on the network.
 */
export async function checkoutParams(
  tx: RequestTransaction,
  organizationId: string,
  target: { planId: PlanId; billingInterval: BillingInterval },
  webAppUrl: string,
): Promise<Stripe.Checkout.SessionCreateParams> {
  const plans = await loadPlans(tx);
  const plan = plans.get(target.planId)!;
  const prices = planPrices(plan);
  if (isCustomPriced(prices)) {
    throw problems.unprocessable(`The ${plan.name} plan is arranged with our sales team; it cannot be bought through checkout.`, [
      { path: '/body/planId', message: 'not self-service' },
    ]);
  }
  const price = periodPrice(prices, target.billingInterval);
  if (price === null || price.isZero()) {
    throw problems.unprocessable(`The ${plan.name} plan has nothing to pay ${target.billingInterval}.`, [
      { path: '/body/planId', message: 'not a paid plan for this interval' },
    ]);
  }
  const subscription = await lockSubscription(tx, organizationId);
  if (subscription.provider_subscription_id) {
    throw problems.conflict('This organization already pays through Stripe; change that subscription instead of starting another.');
  }
  const metadata = { organizationId, planId: target.planId, billingInterval: target.billingInterval };
  return {
    mode: 'subscription',
    allowed_payment_method_types: CHECKOUT_PAYMENT_METHODS,
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: 'eur',
          unit_amount: toCents(price),
          recurring: { interval: target.billingInterval === 'monthly' ? 'month' : 'year' },
          product_data: { name: `${plan.name} plan` },
        },
      },
    ],
    client_reference_id: organizationId,
    ...(subscription.provider_customer_id ? { customer: subscription.provider_customer_id } : {}),
    metadata,
    subscription_data: { metadata },
    success_url: `${webAppUrl}/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${webAppUrl}/billing?checkout=cancelled`,
  };
}
