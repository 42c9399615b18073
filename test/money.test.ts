import fc from 'fast-check';
import { containsCardNumber, containsIban, passesLuhn, paymentSecretFields } from '../src/billing/card-data';
import { fromCents, money, Money, sum, toAmount, toCents } from '../src/billing/money';
import { invoiceTotals, isUpgrade, periodPrice, renewalLines, unusedCredit, upgradeLines, type PlanPrices } from '../src/billing/pricing';
import { checkDutchVatNumber, vatFor, vatNumberProblems } from '../src/billing/vat';

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

describe('money', () => {
  test('amounts print with two decimals and never through a float', () => {
    expect(toAmount(money('29'))).toBe('29.00');
    expect(toAmount(money('0.1').plus(money('0.2')))).toBe('0.30');
    expect(toAmount(money('-3.875'))).toBe('-3.88');
    expect(toAmount(money('-0.001'))).toBe('0.00');
    expect(toCents(money('24.995'))).toBe(2500);
    expect(toAmount(fromCents(2899))).toBe('28.99');
    expect(() => money('1e3')).toThrow();
    expect(() => money('12,50')).toThrow();
  });

  test('cents survive the round trip through Stripe integers for any amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000_000, max: 10_000_000_000 }), (cents) => {
        expect(toCents(fromCents(cents))).toBe(cents);
        expect(money(toAmount(fromCents(cents))).equals(fromCents(cents))).toBe(true);
      }),
    );
  });
});

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

describe('VAT', () => {
  test('who pays Dutch VAT', () => {
    expect(vatFor({ country: 'NL', btwNumber: 'NL123456782B01' })).toEqual({ treatment: 'domestic', ratePercent: new Money(21) });
    expect(vatFor({ country: null, btwNumber: null }).treatment).toBe('domestic');
    expect(vatFor({ country: 'DE', btwNumber: 'DE123456789' })).toEqual({ treatment: 'reverse_charge', ratePercent: new Money(0) });
    expect(vatFor({ country: 'DE', btwNumber: null }).treatment).toBe('domestic');
    expect(vatFor({ country: 'US', btwNumber: null })).toEqual({ treatment: 'outside_scope', ratePercent: new Money(0) });
  });

  test('Dutch VAT numbers: form, mod-11 and mod-97 check digits, with reasons', () => {
    expect(checkDutchVatNumber('NL123456782B01')).toEqual({ valid: true, scheme: 'mod11', reasons: [] });
    expect(checkDutchVatNumber('nl 1234.56782 b01').valid).toBe(true);
    // A sole proprietor's number of the 2020 scheme passes mod 97 but not mod 11.
    expect(checkDutchVatNumber('NL000099998B57')).toEqual({ valid: true, scheme: 'mod97', reasons: [] });
    const wrongDigits = checkDutchVatNumber('NL123456789B01');
    expect(wrongDigits.valid).toBe(false);
    expect(wrongDigits.reasons.join(' ')).toMatch(/check digits/);
    expect(checkDutchVatNumber('NL12345678B01').reasons.join(' ')).toMatch(/9 digits/);
    expect(checkDutchVatNumber('DE123456789').reasons.join(' ')).toMatch(/starts with NL/);
  });

  test('a VAT number must belong to the country of the billing details', () => {
    expect(vatNumberProblems('NL123456782B01', 'NL')).toEqual([]);
    expect(vatNumberProblems('DE123456789', 'DE')).toEqual([]);
    expect(vatNumberProblems('EL123456789', 'GR')).toEqual([]);
    expect(vatNumberProblems('DE123456789', 'FR')[0]).toMatch(/starts with FR/);
    expect(vatNumberProblems('US123', 'US')[0]).toMatch(/EU countries/);
    expect(vatNumberProblems('NL123456789B01', 'NL')[0]).toMatch(/check digits/);
  });
});

describe('card numbers and IBANs', () => {
  test('Luhn', () => {
    expect(passesLuhn('4242424242424242')).toBe(true);
    expect(passesLuhn('4242424242424241')).toBe(false);
  });

  test('full card numbers are found in any form; last four digits and ordinary text are not', () => {
    expect(containsCardNumber('4242 4242 4242 4242')).toBe(true);
    expect(containsCardNumber('card 5555-5555-5555-4444 exp')).toBe(true);
    expect(containsCardNumber('378282246310005')).toBe(true);
    expect(containsCardNumber('4242')).toBe(false);
    expect(containsCardNumber('4242424242424241')).toBe(false);
    expect(containsCardNumber('Keizersgracht 123, 1015 AA')).toBe(false);
  });

  test('any Luhn-valid 13-19 digit number is found', () => {
    const luhnNumber = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 18 }).map((digits) => {
      for (let check = 0; check <= 9; check += 1) {
        const candidate = [...digits, check].join('');
        if (passesLuhn(candidate)) return candidate;
      }
      throw new Error('unreachable');
    });
    fc.assert(fc.property(luhnNumber, (number) => expect(containsCardNumber(`pay with ${number} please`)).toBe(true)));
  });

  test('IBANs are found with or without spaces; a Dutch VAT number is not an IBAN', () => {
    expect(containsIban('NL91ABNA0417164300')).toBe(true);
    expect(containsIban('nl91 abna 0417 1643 00')).toBe(true);
    expect(containsIban('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(containsIban('NL91ABNA0417164301')).toBe(false);
    expect(containsIban('NL123456782B01')).toBe(false);
  });

  test('every string field is searched, nested ones too, and reported by path', () => {
    expect(paymentSecretFields({ type: 'card', last4: '4242', nested: { note: ['x', '4111111111111111'] } })).toEqual(['/body/nested/note/1']);
    expect(paymentSecretFields({ bankCode: 'NL91ABNA0417164300' })).toEqual(['/body/bankCode']);
    expect(paymentSecretFields({ last4: 4242424242424242 })).toEqual(['/body/last4']);
    expect(paymentSecretFields({ type: 'card', last4: '4242' })).toEqual([]);
  });
});
