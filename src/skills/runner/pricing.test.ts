import fc from 'fast-check';
import { parseModelPrices } from '../../config';
import { costCents, priceOf } from './pricing';

const prices = parseModelPrices(
  JSON.stringify({
    'gpt-4o-mini': { input: '0.15', output: '0.60' },
    'gpt-4o*': { input: '2.5', output: '10' },
    'gpt-4o-mini-2024*': { input: '0.16', output: '0.61' },
    '*': { input: '1', output: '2' },
  }),
);

describe('priceOf', () => {
  test('an exact name wins over every pattern', () => {
    expect(priceOf('gpt-4o-mini', prices)).toEqual({ input: '0.15', output: '0.60' });
  });

  test('then the longest matching prefix', () => {
    expect(priceOf('gpt-4o-mini-2024-07-18', prices)).toEqual({ input: '0.16', output: '0.61' });
    expect(priceOf('gpt-4o-2024-08-06', prices)).toEqual({ input: '2.5', output: '10' });
  });

  test('then the catch-all; without one an unknown model has no price', () => {
    expect(priceOf('claude-sonnet-4-5', prices)).toEqual({ input: '1', output: '2' });
    const { '*': _all, ...named } = prices;
    expect(priceOf('claude-sonnet-4-5', named)).toBeUndefined();
    expect(priceOf('anything', {})).toBeUndefined();
  });

  test('names are not patterns unless they end in *; keys of Object.prototype are no models', () => {
    expect(priceOf('gpt-4o-mini-x', { 'gpt-4o-mini': { input: '1', output: '1' } })).toBeUndefined();
    expect(priceOf('constructor', {})).toBeUndefined();
    expect(priceOf('toString', { '*': { input: '3', output: '3' } })).toEqual({ input: '3', output: '3' });
  });
});

describe('costCents', () => {
  test('tokens times euros per million, in cents, exact to four places', () => {
    // 1,200 x 0.15 + 350 x 0.60 = 390 euro-millionths = 0.039 cents
    expect(costCents({ promptTokens: 1200, completionTokens: 350 }, { input: '0.15', output: '0.60' })).toBe('0.0390');
    // 0.1 + 0.2 in binary floats is 0.30000000000000004; here it is not
    expect(costCents({ promptTokens: 1_000_000, completionTokens: 1_000_000 }, { input: '0.1', output: '0.2' })).toBe('30.0000');
  });

  test('rounds half up only at the end', () => {
    // 1,000 tokens at 0.0049 euros per million = 0.0000049 euros = 0.00049 cents -> 0.0005
    const thousand = (input: string) => costCents({ promptTokens: 1000, completionTokens: 0 }, { input, output: '0' });
    expect(thousand('0.005')).toBe('0.0005');
    expect(thousand('0.0049')).toBe('0.0005');
    expect(thousand('0.0045')).toBe('0.0005');
    expect(thousand('0.0044')).toBe('0.0004');
    expect(costCents({ promptTokens: 1, completionTokens: 0 }, { input: '0.005', output: '0' })).toBe('0.0000');
  });

  test('no price: nothing on record', () => {
    expect(costCents({ promptTokens: 10, completionTokens: 10 }, undefined)).toBe('0.0000');
  });

  test('matches integer arithmetic on micro-cents for any counts and prices', () => {
    // Prices with up to 6 decimals as integers of millionths of a euro; the
    // exact cost in 1e-12 euros is then an integer product.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.integer({ min: 0, max: 100_000_000_000 }),
        fc.integer({ min: 0, max: 100_000_000_000 }),
        (promptTokens, completionTokens, inputMicros, outputMicros) => {
          const text = (micros: number) => `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
          const got = costCents({ promptTokens, completionTokens }, { input: text(inputMicros), output: text(outputMicros) });
          // euros = tokens x micros / 1e12, so cents x 1e4 = tokens x micros / 1e6, rounded half up
          const scaled = BigInt(promptTokens) * BigInt(inputMicros) + BigInt(completionTokens) * BigInt(outputMicros);
          const tenThousandths = (scaled + 500_000n) / 1_000_000n;
          const expected = `${tenThousandths / 10_000n}.${String(tenThousandths % 10_000n).padStart(4, '0')}`;
          expect(got).toBe(expected);
        },
      ),
    );
  });
});

describe('MODEL_PRICES', () => {
  test('reads decimal strings and plain numbers through their text', () => {
    expect(parseModelPrices('{"m": {"input": 0.15, "output": "0.600"}}')).toEqual({ m: { input: '0.15', output: '0.600' } });
    expect(parseModelPrices(undefined)).toEqual({});
  });

  test.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /JSON object/],
    ['a missing price', '{"m": {"input": "1"}}', /not a non-negative decimal/],
    ['a negative price', '{"m": {"input": "-1", "output": "1"}}', /not a non-negative decimal/],
    ['an exponent', '{"m": {"input": "1e3", "output": "1"}}', /not a non-negative decimal/],
    ['an unknown field', '{"m": {"input": "1", "output": "1", "currency": "USD"}}', /unknown fields \(currency\)/],
    ['an empty name', '{"": {"input": "1", "output": "1"}}', /model name/],
  ])('refuses %s', (_label, raw, message) => {
    expect(() => parseModelPrices(raw)).toThrow(message);
  });
});
