import Decimal from 'decimal.js';
import type { ModelPrice, ModelPrices } from '../../config';

/**
 * The price table's entry for a model: its exact name first, then the longest
 * prefix entry ("gpt-4o*") that matches, then the catch-all "*". Undefined
 * when the table names none of these: the run then costs nothing on record
 * (and the runner says so in the log), rather than a guessed amount.
 */
export function priceOf(model: string, prices: ModelPrices): ModelPrice | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  let best: string | undefined;
  for (const key of Object.keys(prices)) {
    if (key.length < 2 || !key.endsWith('*')) continue;
    const prefix = key.slice(0, -1);
    if (model.startsWith(prefix) && (best === undefined || prefix.length > best.length - 1)) best = key;
  }
  if (best !== undefined) return prices[best];
  return Object.hasOwn(prices, '*') ? prices['*'] : undefined;
}

// Enough significant digits that no step rounds: a price has at most 21, a
// token count 10, and dividing by a million only moves the point. The global
// Decimal (20 digits) is not touched.
const Exact = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
const TOKENS_PER_PRICE = new Exact(1_000_000);
const CENTS_PER_EURO = new Exact(100);

/**
 * What a run cost in euro cents, exactly: tokens times the price per million
 * tokens, in decimal arithmetic throughout, rounded half-up to four places
 * (the scale of skill_executions.cost_cents) only at the end.
 */
export function costCents(usage: { promptTokens: number; completionTokens: number }, price: ModelPrice | undefined): string {
  if (!price) return '0.0000';
  const euros = new Exact(price.input).times(usage.promptTokens).plus(new Exact(price.output).times(usage.completionTokens)).dividedBy(TOKENS_PER_PRICE);
  return euros.times(CENTS_PER_EURO).toDecimalPlaces(4, Exact.ROUND_HALF_UP).toFixed(4);
}
