import fc from 'fast-check';
import { fromCents, money, Money, sum, toAmount } from './money';
import { invoiceTotals, isCustomPriced, isUpgrade, periodPrice, renewalLines, unusedCredit, upgradeLines, type LineDraft, type PlanPrices } from './pricing';

const FREE: PlanPrices = { id: 'free', name: 'Free', monthlyPrice: '0.00', annualMonthlyPrice: null, sortOrder: 1 };
const PRO: PlanPrices = { id: 'pro', name: 'Pro', monthlyPrice: '29.00', annualMonthlyPrice: '24.00', sortOrder: 2 };
const TEAMS: PlanPrices = { id: 'teams', name: 'Teams', monthlyPrice: '79.00', annualMonthlyPrice: '66.00', sortOrder: 3 };
const ENTERPRISE: PlanPrices = { id: 'enterprise', name: 'Enterprise', monthlyPrice: '-1.00', annualMonthlyPrice: null, sortOrder: 4 };

const DAY = 86_400_000;
const hasCents = (value: { decimalPlaces(): number }) => value.decimalPlaces() <= 2;

/** Any amount from 0.00 to 100000.00, built from whole cents. */
const anyAmount = fc.integer({ min: 0, max: 10_000_000 }).map((cents) => fromCents(cents));
/** A period of 1 to 400 days starting anywhere in 2000..2100, and an instant inside (or just around) it. */
const anyPeriod = fc
  .record({
    start: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
    length: fc.integer({ min: 1, max: 400 * DAY }),
    offset: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
  })
  .map(({ start, length, offset }) => ({
    start: new Date(start),
    end: new Date(start + length),
    at: new Date(start + Math.round(length * offset)),
  }));

describe('prices and proration', () => {
  test('a period costs a month, or twelve annual months; enterprise and free-annual have no price', () => {
    expect(toAmount(periodPrice(PRO, 'monthly')!)).toBe('29.00');
    expect(toAmount(periodPrice(PRO, 'annually')!)).toBe('288.00');
    expect(toAmount(periodPrice(TEAMS, 'annually')!)).toBe('792.00');
    expect(periodPrice(FREE, 'annually')).toBeNull();
    expect(periodPrice(ENTERPRISE, 'monthly')).toBeNull();
  });

  test('upgrades are dearer tiers or monthly to annual on the same tier', () => {
    expect(isUpgrade(FREE, 'monthly', PRO, 'monthly')).toBe(true);
    expect(isUpgrade(PRO, 'annually', TEAMS, 'monthly')).toBe(true);
    expect(isUpgrade(PRO, 'monthly', PRO, 'annually')).toBe(true);
    expect(isUpgrade(PRO, 'annually', PRO, 'monthly')).toBe(false);
    expect(isUpgrade(TEAMS, 'monthly', PRO, 'annually')).toBe(false);
  });

  test('half of a 30-day Pro month left is a credit of 14.50', () => {
    const start = new Date('2026-04-01T00:00:00Z');
    const end = new Date('2026-05-01T00:00:00Z');
    expect(toAmount(unusedCredit(money('29'), start, end, new Date('2026-04-16T00:00:00Z')))).toBe('14.50');
    expect(toAmount(unusedCredit(money('29'), start, end, start))).toBe('29.00');
    expect(toAmount(unusedCredit(money('29'), start, end, end))).toBe('0.00');
  });

  test('for any price, period and day the credit is whole cents between 0 and the price, and credit + used == price', () => {
    fc.assert(
      fc.property(anyAmount, anyPeriod, (price, { start, end, at }) => {
        const credit = unusedCredit(price, start, end, at);
        expect(hasCents(credit)).toBe(true);
        expect(credit.greaterThanOrEqualTo(0) && credit.lessThanOrEqualTo(price)).toBe(true);
        const used = price.minus(credit);
        expect(used.plus(credit).equals(price)).toBe(true);
        expect(hasCents(used)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('any upgrade invoice: lines are whole cents, add up to the subtotal, subtotal + VAT == total, never negative', () => {
    const tiers = [FREE, PRO, TEAMS];
    const anyUpgrade = fc
      .record({
        from: fc.constantFrom(...tiers),
        fromInterval: fc.constantFrom<'monthly' | 'annually'>('monthly', 'annually'),
        to: fc.constantFrom(PRO, TEAMS),
        toInterval: fc.constantFrom<'monthly' | 'annually'>('monthly', 'annually'),
        period: anyPeriod,
        rate: fc.constantFrom('21', '0', '9', '19.5'),
      })
      .filter((c) => periodPrice(c.from, c.fromInterval) !== null && isUpgrade(c.from, c.fromInterval, c.to, c.toInterval));
    fc.assert(
      fc.property(anyUpgrade, (c) => {
        const lines = upgradeLines({
          from: c.from,
          fromInterval: c.fromInterval,
          periodStart: c.period.start,
          periodEnd: c.period.end,
          to: c.to,
          toInterval: c.toInterval,
          at: c.period.at,
          newPeriodEnd: new Date(c.period.at.getTime() + 30 * DAY),
        });
        const totals = invoiceTotals(lines, money(c.rate));
        for (const line of lines) {
          expect(hasCents(line.amount)).toBe(true);
          expect(line.amount.equals(line.unitAmount.times(line.quantity))).toBe(true);
        }
        expect(sum(lines.map((line) => line.amount)).equals(totals.subtotal)).toBe(true);
        expect(totals.subtotal.plus(totals.vatAmount).equals(totals.total)).toBe(true);
        expect([totals.subtotal, totals.vatAmount, totals.total].every(hasCents)).toBe(true);
        expect(totals.subtotal.greaterThanOrEqualTo(0)).toBe(true);
        // The new plan is charged in full, less at most what the old one had left.
        expect(totals.subtotal.lessThanOrEqualTo(periodPrice(c.to, c.toInterval)!)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('VAT is 21% of the net rounded to the cent, computed once on the invoice', () => {
    const lines = renewalLines(PRO, 'monthly', new Date('2026-01-01Z'), new Date('2026-02-01Z'));
    const totals = invoiceTotals(lines, new Money(21));
    expect([toAmount(totals.subtotal), toAmount(totals.vatAmount), toAmount(totals.total)]).toEqual(['29.00', '6.09', '35.09']);
    expect(renewalLines(FREE, 'monthly', new Date(), new Date())).toEqual([]);
  });
});

describe('edges of pricing', () => {
  const at = new Date('2026-04-16T00:00:00Z');
  const periodStart = new Date('2026-04-01T00:00:00Z');
  const periodEnd = new Date('2026-05-01T00:00:00Z');
  const nextMonth = new Date('2026-05-16T00:00:00Z');
  const amounts = (lines: LineDraft[]) => lines.map((line) => [line.description, toAmount(line.amount)]);

  test('only a negative monthly price means priced on request', () => {
    expect([FREE, PRO, TEAMS, ENTERPRISE].map(isCustomPriced)).toEqual([false, false, false, true]);
  });

  test('a period of no length, or running backwards, leaves no credit', () => {
    expect(toAmount(unusedCredit(money('29'), periodStart, periodStart, periodStart))).toBe('0.00');
    expect(toAmount(unusedCredit(money('29'), periodEnd, periodStart, at))).toBe('0.00');
  });

  test('before its start a period is credited in full, after its end not at all', () => {
    expect(toAmount(unusedCredit(money('29'), periodStart, periodEnd, new Date('2026-03-01T00:00:00Z')))).toBe('29.00');
    expect(toAmount(unusedCredit(money('29'), periodStart, periodEnd, new Date('2026-06-01T00:00:00Z')))).toBe('0.00');
  });

  test('an upgrade from free has no credit line', () => {
    const lines = upgradeLines({ from: FREE, fromInterval: 'monthly', periodStart, periodEnd, to: PRO, toInterval: 'monthly', at, newPeriodEnd: nextMonth });
    expect(amounts(lines)).toEqual([['Pro plan (monthly)', '29.00']]);
    expect(lines[0]).toMatchObject({ quantity: 1, periodStart: at, periodEnd: nextMonth });
  });

  test('half a month of Pro left is credited against Teams, for the rest of the old period', () => {
    const lines = upgradeLines({ from: PRO, fromInterval: 'monthly', periodStart, periodEnd, to: TEAMS, toInterval: 'monthly', at, newPeriodEnd: nextMonth });
    expect(amounts(lines)).toEqual([
      ['Teams plan (monthly)', '79.00'],
      ['Unused time on Pro plan (monthly)', '-14.50'],
    ]);
    expect(lines[1]).toMatchObject({ periodStart: at, periodEnd });
    // 64.50 net, 13.545 VAT rounded half up.
    expect(toAmount(invoiceTotals(lines, new Money(21)).total)).toBe('78.05');
  });

  test('the credit never exceeds the new charge: what is left over is not paid out', () => {
    // A whole Pro year (288.00) left, moving to Teams billed monthly (79.00).
    const lines = upgradeLines({ from: PRO, fromInterval: 'annually', periodStart: at, periodEnd: new Date('2027-04-16T00:00:00Z'), to: TEAMS, toInterval: 'monthly', at, newPeriodEnd: nextMonth });
    expect(amounts(lines)).toEqual([
      ['Teams plan (monthly)', '79.00'],
      ['Unused time on Pro plan (annual)', '-79.00'],
    ]);
    expect(invoiceTotals(lines, new Money(21))).toEqual({ subtotal: new Money(0), vatAmount: new Money(0), total: new Money(0) });
  });

  test('an upgrade to a plan without that price is a programming error', () => {
    expect(() => upgradeLines({ from: PRO, fromInterval: 'monthly', periodStart, periodEnd, to: ENTERPRISE, toInterval: 'monthly', at, newPeriodEnd: nextMonth })).toThrow(
      /enterprise has no monthly price/,
    );
    expect(() => upgradeLines({ from: FREE, fromInterval: 'monthly', periodStart, periodEnd, to: FREE, toInterval: 'annually', at, newPeriodEnd: nextMonth })).toThrow(/no annually price/);
  });

  test('a renewal bills the whole period; an annual one twelve annual months', () => {
    expect(amounts(renewalLines(TEAMS, 'annually', periodStart, periodEnd))).toEqual([['Teams plan (annual)', '792.00']]);
    expect(renewalLines(ENTERPRISE, 'monthly', periodStart, periodEnd)).toEqual([]);
  });

  test('an invoice cannot total less than zero; no lines is an invoice of zero', () => {
    const credit: LineDraft = { description: 'credit', quantity: 1, unitAmount: money('-1'), amount: money('-1'), periodStart: null, periodEnd: null };
    expect(() => invoiceTotals([credit], new Money(21))).toThrow(/less than zero/);
    expect(invoiceTotals([], new Money(21))).toEqual({ subtotal: new Money(0), vatAmount: new Money(0), total: new Money(0) });
  });

  test('VAT rounds once on the subtotal, not per line', () => {
    // Seven lines of 0.07 at 9%: per line 0.0063 would round to 0.01 each (0.07 of VAT); on the subtotal 0.49 it is 0.0441, so 0.04.
    const line = (amount: string): LineDraft => ({ description: 'x', quantity: 1, unitAmount: money(amount), amount: money(amount), periodStart: null, periodEnd: null });
    const totals = invoiceTotals(Array.from({ length: 7 }, () => line('0.07')), new Money(9));
    expect([toAmount(totals.subtotal), toAmount(totals.vatAmount), toAmount(totals.total)]).toEqual(['0.49', '0.04', '0.53']);
  });
});
