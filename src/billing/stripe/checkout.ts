import type Stripe from 'stripe';
import type { RequestTransaction } from '../../db/transaction';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { toCents } from '../money';
import { planPrices } from '../plans/sql';
import { isCustomPriced, periodPrice, type BillingInterval, type PlanId } from '../pricing';
import { loadPlans, lockSubscription } from '../subscriptions/change';
import { stripeIdempotencyKey } from './idempotency';

/** The answer wherever Stripe would be needed and is not configured. */
export const PAYMENTS_NOT_CONFIGURED =
  'Payments are not configured on this server: plan changes apply directly (POST /api/v1/billing/subscription/change) and invoices are paid by bank transfer.';

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

/**
 * The checkout a billing manager asked for, read in the request's
 * transaction. Roles are checked first: whether this server takes payments is
 * no business of a plain member.
 */
export function prepareCheckout(
  tx: RequestTransaction,
  body: RequestBody<'createCheckoutSession'>,
  payments: { configured: boolean; webAppUrl: string },
): Promise<Stripe.Checkout.SessionCreateParams> {
  const organizationId = requireBillingManager(tx, 'pay for a plan');
  if (!payments.configured) throw problems.unavailable(PAYMENTS_NOT_CONFIGURED);
  return checkoutParams(tx, organizationId, body, payments.webAppUrl);
}

/** Asks Stripe for the Checkout page; a failure or a session without a page is a 503 (the caller may retry). */
export async function openCheckoutSession(stripe: Stripe | undefined, params: Stripe.Checkout.SessionCreateParams): Promise<{ id: string; url: string }> {
  if (!stripe) throw problems.unavailable(PAYMENTS_NOT_CONFIGURED);
  let session: Stripe.Checkout.Session;
  try {
    // The same checkout asked for twice (the same organization, plan and prices) is one session at Stripe.
    session = await stripe.checkout.sessions.create(params, { idempotencyKey: stripeIdempotencyKey('checkout-session', params) });
  } catch (error) {
    console.error(`stripe checkout failed: ${error instanceof Error ? error.message : String(error)}`);
    throw problems.unavailable('Stripe did not open a checkout session; try again shortly.');
  }
  if (!session.url) throw problems.unavailable('Stripe returned a checkout session without a URL; try again shortly.');
  return { id: session.id, url: session.url };
}
