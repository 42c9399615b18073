import type pg from 'pg';
import type Stripe from 'stripe';
import { withServiceTransaction } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { openCheckoutSession, prepareCheckout } from './checkout';
import { applyStripeEvent } from './events';
import { verifiedStripeEvent } from './webhook';

export interface StripeRouteDeps {
  inTransaction: RunInTransaction;
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Absent when payments are not configured. */
  stripe: Stripe | undefined;
  webhookSecret: string | undefined;
  webAppUrl: string;
}

export function stripeRoutes(deps: StripeRouteDeps): Operations {
  const routes = new Operations();
  const payments = { configured: deps.stripe !== undefined, webAppUrl: deps.webAppUrl };

  // The call to Stripe comes after the transaction, so no database transaction waits on the network.
  route(routes, 'createCheckoutSession', async ({ body, req, res }) => {
    const params = await deps.inTransaction(req, (tx) => prepareCheckout(tx, body, payments));
    res.status(201).json(await openCheckoutSession(deps.stripe, params));
  });

  // Signed by Stripe, not by a bearer token: the exact bytes received are verified.
  route(routes, 'receiveStripeWebhook', async ({ req, res }) => {
    const event = verifiedStripeEvent(deps, req.rawBody, req.header('stripe-signature'));
    const { duplicate } = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) => applyStripeEvent(tx, event));
    res.json({ received: true, duplicate });
  });

  return routes;
}
