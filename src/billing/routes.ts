import type pg from 'pg';
import type Stripe from 'stripe';
import { loadBillingConfig, type BillingConfig } from '../config';
import type { RunInTransaction } from '../http/context';
import { Operations } from '../http/route';
import { detailsRoutes } from './details/routes';
import { VIES_URL } from './details/vies';
import { invoicesRoutes } from './invoices/routes';
import { paymentMethodsRoutes } from './payment-methods/routes';
import { plansRoutes } from './plans/routes';
import { stripeFromConfig } from './stripe/client';
import { stripeRoutes } from './stripe/routes';
import { subscriptionsRoutes } from './subscriptions/routes';

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

export function billingRoutes(inTransaction: RunInTransaction, app: { pool: pg.Pool; statementTimeoutMs: number }, deps: BillingDeps): Operations {
  const stripe = deps.stripe ?? stripeFromConfig(deps.config);
  const paymentsConfigured = stripe !== undefined && deps.config.stripeWebhookSecret !== undefined;
  const routes = new Operations();
  routes.include(plansRoutes(inTransaction));
  routes.include(subscriptionsRoutes(inTransaction, { paymentsConfigured }));
  routes.include(paymentMethodsRoutes(inTransaction));
  routes.include(invoicesRoutes(inTransaction, deps.config));
  routes.include(detailsRoutes(inTransaction, { enabled: deps.config.viesCheck, timeoutMs: deps.viesTimeoutMs ?? 3000, url: deps.viesUrl ?? VIES_URL }));
  routes.include(
    stripeRoutes({
      inTransaction,
      pool: app.pool,
      statementTimeoutMs: app.statementTimeoutMs,
      stripe: paymentsConfigured ? stripe : undefined,
      webhookSecret: deps.config.stripeWebhookSecret,
      webAppUrl: deps.config.webAppUrl,
    }),
  );
  return routes;
}
