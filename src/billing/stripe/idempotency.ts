import { createHash } from 'node:crypto';

/**
 * The Idempotency-Key every call to Stripe carries, derived from what the call
 * does (the operation and its exact parameters, which name the organization)
 * rather than drawn at random: the same operation retried (a double click, a
 * client's retry, a retry after our own timeout) is the same call to Stripe,
 * which answers it from its record for 24 hours instead of doing it twice.
 * Anything different is a different key, so Stripe never refuses a changed
 * request as a reuse.
 */
export function stripeIdempotencyKey(operation: string, params: unknown): string {
  return `${operation}:${createHash('sha256').update(JSON.stringify(params)).digest('hex')}`;
}
