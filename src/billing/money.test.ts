import Decimal from 'decimal.js';
import fc from 'fast-check';
import { fromCents, money, Money, roundCents, sum, toAmount, toCents, toWholeEuros, ZERO } from './money';

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

describe('reading amounts', () => {
  test.each(['0', '29', '29.00', '-3.875', '0.000001', '12345678901234567890.12'])('%j is an amount', (text) => {
    expect(money(text).toFixed()).toBe(new Decimal(text).toFixed());
  });

  test.each(['', ' 1', '1 ', '+1', '.5', '1.', '1e3', '0x10', 'NaN', 'Infinity', '-', '1.2.3', '12,50'])('%j is refused', (text) => {
    expect(() => money(text)).toThrow(/not an amount/);
  });

  test('bigints and Decimals are read exactly, as money', () => {
    expect(money(12345678901234567890n).toFixed()).toBe('12345678901234567890');
    const decimal = new Decimal('1.005');
    const copy = money(decimal);
    expect(copy).toBeInstanceOf(Money);
    expect(toAmount(copy)).toBe('1.01');
  });
});

describe('rounding to cents', () => {
  test.each([
    ['0.005', '0.01'],
    ['0.0049999', '0.00'],
    ['-0.005', '-0.01'],
    ['-0.0049', '0.00'],
    ['2.675', '2.68'],
    ['1.115', '1.12'],
  ])('%s rounds half away from zero to %s', (amount, cents) => {
    expect(toAmount(money(amount))).toBe(cents);
  });

  test('nothing between minus and plus half a cent prints as -0.00 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -4999, max: 4999 }), (millionths) => {
        expect(toAmount(new Money(millionths).dividedBy(1_000_000))).toBe('0.00');
      }),
    );
  });

  test('a global Decimal setting does not change how money adds up or rounds', () => {
    const { precision, rounding } = Decimal;
    Decimal.set({ precision: 5, rounding: Decimal.ROUND_DOWN });
    try {
      expect(toAmount(sum([money('123456.78'), money('0.01')]))).toBe('123456.79');
      expect(toAmount(money('1000.10').times(3))).toBe('3000.30');
      expect(toCents(new Decimal('19.995'))).toBe(2000);
    } finally {
      Decimal.set({ precision, rounding });
    }
  });

  test('roundCents is idempotent and moves an amount by at most half a cent (property)', () => {
    const amount = fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).map((tenthsOfMillis) => new Money(tenthsOfMillis).dividedBy(10_000));
    fc.assert(
      fc.property(amount, (value) => {
        const rounded = roundCents(value);
        expect(roundCents(rounded).equals(rounded)).toBe(true);
        expect(rounded.minus(value).abs().lessThanOrEqualTo('0.005')).toBe(true);
        expect(rounded.decimalPlaces()).toBeLessThanOrEqual(2);
      }),
    );
  });
});

describe('cents and sums', () => {
  test('fromCents takes whole, safe integers only', () => {
    expect(toAmount(fromCents(-150))).toBe('-1.50');
    for (const cents of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => fromCents(cents)).toThrow(/not a whole number of cents/);
    }
  });

  test('the sum of nothing is zero, and sums are exact for any list of amounts (property)', () => {
    expect(sum([]).equals(ZERO)).toBe(true);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { maxLength: 50 }), (cents) => {
        const total = cents.reduce((a, b) => a + b, 0);
        expect(sum(cents.map(fromCents)).equals(fromCents(total))).toBe(true);
      }),
    );
  });
});

describe('the frontend\'s numbers', () => {
  test('invoice cents are exact for every stored amount (property), and an amount past 2^53 cents is refused', () => {
    expect(toCents(money('29.00'))).toBe(2900);
    expect(toCents(money('0.10'))).toBe(10);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }), (cents) => {
        const amount = money(`${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`);
        expect(BigInt(toCents(amount))).toBe(cents);
      }),
    );
    expect(() => toCents(money('100000000000000000.00'))).toThrow(/too many cents/);
  });

  test('plan prices are whole euros; a price with cents is refused rather than sent as a fraction', () => {
    expect(toWholeEuros(money('29.00'))).toBe(29);
    expect(toWholeEuros(money('-1.00'))).toBe(-1);
    expect(toWholeEuros(money('0'))).toBe(0);
    expect(() => toWholeEuros(money('24.50'))).toThrow(/whole number of euros/);
  });
});
