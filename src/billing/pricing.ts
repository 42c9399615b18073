import type Decimal from 'decimal.js';
import { Money, money, roundCents, sum, ZERO } from './money';

export type PlanId = 'free' | 'pro' | 'teams' | 'enterprise';
export type BillingInterval = 'monthly' | 'annually';

/** What pricing needs of a plan (amounts as SQL numeric strings). */
export interface PlanPrices {
  id: PlanId;
  name: string;
  monthlyPrice: string;
  annualMonthlyPrice: string | null;
  sortOrder: number;
}

/** A line of an invoice before it is stored: net amounts, negative for a credit. */
export interface LineDraft {
  description: string;
  quantity: number;
  unitAmount: Decimal;
  amount: Decimal;
  periodStart: Date | null;
  periodEnd: Date | null;
}

/** A plan priced on request (enterprise) has no self-service price. */
export function isCustomPriced(plan: PlanPrices): boolean {
  return money(plan.monthlyPrice).isNegative();
}

/**
 * What one period of the plan costs: a month's price, or twelve times the
 * annual per-month price. Null when the plan cannot be bought that way.
 */
export function periodPrice(plan: PlanPrices, interval: BillingInterval): Decimal | null {
  if (isCustomPriced(plan)) return null;
  if (interval === 'monthly') return money(plan.monthlyPrice);
  if (plan.annualMonthlyPrice === null) return null;
  return money(plan.annualMonthlyPrice).times(12);
}

/**
 * The credit for the unused part of a period: the period's price times the
 * share of its milliseconds still ahead, rounded to the cent. Time is counted
 * in whole milliseconds (integers), so the share is an exact fraction.
 */
export function unusedCredit(price: Decimal, periodStart: Date, periodEnd: Date, at: Date): Decimal {
  const total = periodEnd.getTime() - periodStart.getTime();
  if (total <= 0) return ZERO;
  const left = Math.min(Math.max(periodEnd.getTime() - at.getTime(), 0), total);
  return roundCents(new Money(price).times(left).dividedBy(total));
}

/**
 * Is moving from one plan to another an upgrade (applied now, invoiced) or a
 * downgrade (at the end of the period)? A dearer tier is an upgrade; on the
 * same tier, monthly to annually is (a year is paid up front).
 */
export function isUpgrade(from: PlanPrices, fromInterval: BillingInterval, to: PlanPrices, toInterval: BillingInterval): boolean {
  if (to.sortOrder !== from.sortOrder) return to.sortOrder > from.sortOrder;
  return fromInterval === 'monthly' && toInterval === 'annually';
}

export interface UpgradeInput {
  from: PlanPrices;
  fromInterval: BillingInterval;
  periodStart: Date;
  periodEnd: Date;
  to: PlanPrices;
  toInterval: BillingInterval;
  /** When the upgrade happens: the new period starts here. */
  at: Date;
  newPeriodEnd: Date;
}

const intervalLabel = (interval: BillingInterval) => (interval === 'monthly' ? 'monthly' : 'annual');

/**
 * The lines of an upgrade invoice: the new plan for a full new period, less
 * the unused part of the old one. The credit never exceeds the new charge
 * (what is left over is not paid out; see the notes on customer balances).
 */
export function upgradeLines(input: UpgradeInput): LineDraft[] {
  const charge = periodPrice(input.to, input.toInterval);
  if (charge === null) throw new Error(`plan ${input.to.id} has no ${input.toInterval} price`);
  const lines: LineDraft[] = [
    {
      description: `${input.to.name} plan (${intervalLabel(input.toInterval)})`,
      quantity: 1,
      unitAmount: charge,
      amount: charge,
      periodStart: input.at,
      periodEnd: input.newPeriodEnd,
    },
  ];
  const oldPrice = periodPrice(input.from, input.fromInterval) ?? ZERO;
  const credit = Money.min(unusedCredit(oldPrice, input.periodStart, input.periodEnd, input.at), charge);
  if (credit.greaterThan(0)) {
    lines.push({
      description: `Unused time on ${input.from.name} plan (${intervalLabel(input.fromInterval)})`,
      quantity: 1,
      unitAmount: credit.negated(),
      amount: credit.negated(),
      periodStart: input.at,
      periodEnd: input.periodEnd,
    });
  }
  return lines;
}

/** A renewal: one line, the plan for the new period. */
export function renewalLines(plan: PlanPrices, interval: BillingInterval, periodStart: Date, periodEnd: Date): LineDraft[] {
  const price = periodPrice(plan, interval);
  if (price === null || price.isZero()) return [];
  return [
    { description: `${plan.name} plan (${intervalLabel(interval)})`, quantity: 1, unitAmount: price, amount: price, periodStart, periodEnd },
  ];
}

export interface InvoiceTotals {
  subtotal: Decimal;
  vatAmount: Decimal;
  total: Decimal;
}

/**
 * Net, VAT and gross of an invoice. VAT is computed once on the net total (not
 * per line), so the lines always add up to the subtotal and
 * subtotal + VAT == total to the cent.
 */
export function invoiceTotals(lines: LineDraft[], vatRatePercent: Decimal): InvoiceTotals {
  const subtotal = roundCents(sum(lines.map((line) => line.amount)));
  if (subtotal.isNegative()) throw new Error('an invoice cannot total less than zero');
  const vatAmount = roundCents(subtotal.times(vatRatePercent).dividedBy(100));
  return { subtotal, vatAmount, total: subtotal.plus(vatAmount) };
}
