import Decimal from 'decimal.js';

// Every amount is a decimal.js value in TypeScript, numeric in SQL and a
// decimal string ("29.00") in JSON: no amount ever passes through a binary
// float. Rounding is to whole cents, half away from zero (as on a receipt).

/** Our own Decimal, so a global setting elsewhere cannot change how money rounds. */
export const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Money = Decimal;

const AMOUNT = /^-?[0-9]+(\.[0-9]+)?$/;

/** Reads an amount from SQL (a numeric string) or a literal; refuses anything else. */
export function money(value: string | Decimal | bigint): Decimal {
  if (value instanceof Decimal) return new Money(value);
  const text = typeof value === 'bigint' ? value.toString() : value;
  if (!AMOUNT.test(text)) throw new Error(`not an amount: ${JSON.stringify(text)}`);
  return new Money(text);
}

/** Whole cents. */
export function roundCents(value: Decimal): Decimal {
  return new Money(value).toDecimalPlaces(2, Money.ROUND_HALF_UP);
}

/** The JSON and SQL form: two decimals, e.g. "29.00", "-3.87". */
export function toAmount(value: Decimal): string {
  const rounded = roundCents(value);
  return (rounded.isZero() ? new Money(0) : rounded).toFixed(2);
}

/** Stripe's integer cents to an exact amount. */
export function fromCents(cents: number): Decimal {
  if (!Number.isSafeInteger(cents)) throw new Error(`not a whole number of cents: ${cents}`);
  return new Money(cents).dividedBy(100);
}

/** An exact amount to Stripe's integer cents. */
export function toCents(value: Decimal): number {
  const cents = roundCents(value).times(100).toNumber();
  if (!Number.isSafeInteger(cents)) throw new Error(`too many cents for a JSON number: ${value.toString()}`);
  return cents;
}

/**
 * A plan price as the frontend's JSON number. Catalogue prices are whole
 * euros, and a whole number below 2^53 is exact as a JSON number; a price
 * with cents would need a decision the catalogue has not asked for, so it is
 * refused here rather than sent as a binary fraction.
 */
export function toWholeEuros(value: Decimal): number {
  if (!value.isInteger() || !Number.isSafeInteger(value.toNumber())) throw new Error(`not a whole number of euros: ${value.toString()}`);
  return value.toNumber();
}

export const ZERO = new Money(0);

export function sum(values: Decimal[]): Decimal {
  return values.reduce<Decimal>((total, value) => total.plus(value), ZERO);
}
