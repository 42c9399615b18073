import express, { type Router } from 'express';
import type pg from 'pg';
import type Stripe from 'stripe';
import { loadBillingConfig, type BillingConfig } from '../config';
import type { RunInTransaction } from '../http/context';
import { detailsRouter } from './details/routes';
import { VIES_URL } from './details/vies';
import { invoicesRouter } from './invoices/routes';
import { paymentMethodsRouter } from './payment-methods/routes';
import { plansRouter } from './plans/routes';
import { stripeFromConfig } from './stripe/client';
import { stripeRouter } from './stripe/routes';
import { subscriptionsRouter } from './subscriptions/routes';

/** What billing needs beyond the request transaction; tests inject a Stripe client. */
export interface BillingDeps {
  config: BillingConfig;
  /** Overrides the client built from config.stripeSecretKey (e.g. one whose HTTP goes to a local server). */
  stripe?: Stripe;
  /** The VIES endpoint and its time limit (a local stand-in in tests). */
  viesUrl?: string;
  viesTimeoutMs?: number;
}

/** Embedded defaults: no payment provider, the default seller, no VIES. */
export const DEFAULT_BILLING: BillingDeps = { config: loadBillingConfig({}) };

export function billingRouter(inTransaction: RunInTransaction, app: { pool: pg.Pool; statementTimeoutMs: number }, deps: BillingDeps): Router {
  const stripe = deps.stripe ?? stripeFromConfig(deps.config);
  const paymentsConfigured = stripe !== undefined && deps.config.stripeWebhookSecret !== undefined;
  const router = express.Router();
  router.use(plansRouter(inTransaction));
  router.use(subscriptionsRouter(inTransaction, { paymentsConfigured }));
  router.use(paymentMethodsRouter(inTransaction));
  router.use(invoicesRouter(inTransaction, deps.config));
  router.use(detailsRouter(inTransaction, { enabled: deps.config.viesCheck, timeoutMs: deps.viesTimeoutMs ?? 3000, url: deps.viesUrl ?? VIES_URL }));
  router.use(
    stripeRouter({
      inTransaction,
      pool: app.pool,
      statementTimeoutMs: app.statementTimeoutMs,
      stripe: paymentsConfigured ? stripe : undefined,
      webhookSecret: deps.config.stripeWebhookSecret,
      webAppUrl: deps.config.webAppUrl,
    }),
  );
  return router;
}
