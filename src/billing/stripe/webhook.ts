import type Stripe from 'stripe';
import { problems } from '../../problems';
import { PAYMENTS_NOT_CONFIGURED } from './checkout';

export interface WebhookVerification {
  /** Absent when payments are not configured. */
  stripe: Stripe | undefined;
  webhookSecret: string | undefined;
}

/**
 * The event, believed only when Stripe's signature over the exact bytes
 * received verifies (the parsed body could differ from what was signed).
 */
export function verifiedStripeEvent(payments: WebhookVerification, rawBody: Buffer | undefined, signature: string | undefined): Stripe.Event {
  const { stripe, webhookSecret } = payments;
  if (!stripe || !webhookSecret) throw problems.unavailable(PAYMENTS_NOT_CONFIGURED);
  if (!rawBody) throw problems.validation('Send the event as application/json, exactly as Stripe signed it.');
  try {
    return stripe.webhooks.constructEvent(rawBody, signature ?? '', webhookSecret);
  } catch {
    throw problems.validation('The Stripe-Signature does not verify: wrong secret, altered body, or a timestamp outside the tolerance.', [
      { path: '/header/stripe-signature', message: 'does not verify' },
    ]);
  }
}
