import express, { type Router } from 'express';
import type pg from 'pg';
import type Stripe from 'stripe';
import type { operations } from '../../generated/openapi';
import { withServiceTransaction } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { checkoutParams } from './checkout';
import { applyStripeEvent } from './events';

type CheckoutBody = operations['createCheckoutSession']['requestBody']['content']['application/json'];

export interface StripeRouteDeps {
  inTransaction: RunInTransaction;
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Absent when payments are not configured. */
  stripe: Stripe | undefined;
  webhookSecret: string | undefined;
  webAppUrl: string;
}

const NOT_CONFIGURED =
  'Payments are not configured on this server: plan changes apply directly (POST /api/v1/billing/subscription/change) and invoices are paid by bank transfer.';

export function stripeRouter(deps: StripeRouteDeps): Router {
  const router = express.Router();

  router.post('/billing/checkout', async (req, res) => {
    const body = req.body as CheckoutBody;
    const { stripe } = deps;
    // Roles are checked first: whether this server takes payments is no business of a plain member.
    const params = await deps.inTransaction(req, (tx) => {
      const organizationId = requireBillingManager(tx, 'pay for a plan');
      if (!stripe) throw problems.unavailable(NOT_CONFIGURED);
      return checkoutParams(tx, organizationId, body, deps.webAppUrl);
    });
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe!.checkout.sessions.create(params);
    } catch (error) {
      console.error(`stripe checkout failed: ${error instanceof Error ? error.message : String(error)}`);
      throw problems.unavailable('Stripe did not open a checkout session; try again shortly.');
    }
    if (!session.url) throw problems.unavailable('Stripe returned a checkout session without a URL; try again shortly.');
    res.status(201).json({ id: session.id, url: session.url });
  });

  // Signed by Stripe, not by a bearer token: the exact bytes received are verified.
  router.post('/webhooks/stripe', async (req, res) => {
    const { stripe, webhookSecret } = deps;
    if (!stripe || !webhookSecret) throw problems.unavailable(NOT_CONFIGURED);
    if (!req.rawBody) throw problems.validation('Send the event as application/json, exactly as Stripe signed it.');
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(req.rawBody, req.header('stripe-signature') ?? '', webhookSecret);
    } catch {
      throw problems.validation('The Stripe-Signature does not verify: wrong secret, altered body, or a timestamp outside the tolerance.', [
        { path: '/header/stripe-signature', message: 'does not verify' },
      ]);
    }
    const result = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) => applyStripeEvent(tx, event));
    res.json({ received: true, duplicate: result.duplicate });
  });

  return router;
}
