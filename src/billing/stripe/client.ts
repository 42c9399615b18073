import Stripe from 'stripe';
import type { BillingConfig } from '../../config';

export type StripeClient = Stripe;

/** A Stripe client when both keys are configured; none otherwise (payments are then manual). */
export function stripeFromConfig(config: BillingConfig, overrides: Stripe.StripeConfig = {}): Stripe | undefined {
  if (!config.stripeSecretKey || !config.stripeWebhookSecret) return undefined;
  return new Stripe(config.stripeSecretKey, { maxNetworkRetries: 1, timeout: 10_000, telemetry: false, ...overrides });
}
