import fc from 'fast-check';
import { DEFAULT_JSON_LIMITS, jsonLimitBreach, type JsonLimits } from './json-limits';

// The byte scan that guards every JSON body, as a pure function.
const bytes = (text: string) => Buffer.from(text, 'utf8');
const breach = (text: string, limits: Partial<JsonLimits> = {}) => jsonLimitBreach(bytes(text), { ...DEFAULT_JSON_LIMITS, ...limits });
const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

/** What the scan should find, computed the slow way on the parsed value. */
function measure(value: unknown): { depth: number; values: number } {
  if (value === null || typeof value !== 'object') return { depth: 0, values: 1 };
  const children = Array.isArray(value) ? value : Object.values(value);
  let depth = 0;
  let values = 1;
  for (const child of children) {
    const inner = measure(child);
    depth = Math.max(depth, inner.depth);
    values += inner.values;
  }
  return { depth: depth + 1, values };
}

describe('depth', () => {
  test('the top-level container is level 1; the limit itself is allowed, one more is not', () => {
    expect(breach(nested(64))).toBeUndefined();
    expect(breach(nested(65))).toBe('depth');
    expect(breach('{"a":'.repeat(64) + '1' + '}'.repeat(64))).toBeUndefined();
    expect(breach('{"a":'.repeat(65) + '1' + '}'.repeat(65))).toBe('depth');
    expect(breach(nested(3), { maxDepth: 2 })).toBe('depth');
  });

  test('10,000 levels are refused without reading to the end', () => {
    expect(breach(nested(10_000))).toBe('depth');
    expect(breach('['.repeat(10_000))).toBe('depth');
  });

  test('depth is what is open at once, not how many containers there are', () => {
    expect(breach(`[${'[],'.repeat(500)}[]]`, { maxDepth: 2 })).toBeUndefined();
  });

  test('brackets inside strings are text, escaped quotes included', () => {
    expect(breach(JSON.stringify({ a: '['.repeat(100) }), { maxDepth: 1 })).toBeUndefined();
    expect(breach(JSON.stringify({ a: '"[[[[', b: '\\', c: '\\"{{{' }), { maxDepth: 1 })).toBeUndefined();
    expect(breach(JSON.stringify(['\\', [[]]]), { maxDepth: 2 })).toBe('depth');
    expect(breach(JSON.stringify({ '[[[': { '\u00e9[': ['\u{1F600}]'] } }), { maxDepth: 3 })).toBeUndefined();
  });
});

describe('values', () => {
  test('array items and object members are counted with the top-level value', () => {
    expect(breach('[1,2,3]', { maxValues: 4 })).toBeUndefined();
    expect(breach('[1,2,3]', { maxValues: 3 })).toBe('values');
    expect(breach('{"a":1,"b":{"c":[]}}', { maxValues: 4 })).toBeUndefined();
    expect(breach('{"a":1,"b":{"c":[]}}', { maxValues: 3 })).toBe('values');
    expect(breach('[]', { maxValues: 1 })).toBeUndefined();
    expect(breach('[ ]', { maxValues: 1 })).toBeUndefined();
    expect(breach('[ 0 ]', { maxValues: 1 })).toBe('values');
  });

  test('commas inside strings are text', () => {
    expect(breach(JSON.stringify({ a: ','.repeat(1000) }), { maxValues: 2 })).toBeUndefined();
  });

  test('100,000 items are refused by the default limit', () => {
    expect(breach(JSON.stringify(new Array(100_000).fill(0)))).toBe('values');
    expect(breach(JSON.stringify(new Array(9_999).fill(0)))).toBeUndefined();
  });
});

test('for any JSON document the scan finds exactly its depth and its number of values', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8, stringUnit: 'binary' }), fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      const { depth, values } = measure(value);
      expect(breach(text, { maxDepth: depth, maxValues: values })).toBeUndefined();
      if (depth > 0) expect(breach(text, { maxDepth: depth - 1, maxValues: values })).toBe('depth');
      // The top-level value alone is never refused: a body is at least that.
      if (values > 1) expect(breach(text, { maxDepth: depth, maxValues: values - 1 })).toBe('values');
    }),
    { numRuns: 500 },
  );
});

test('anything at all is scanned without throwing', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
      expect(['depth', 'values', undefined]).toContain(jsonLimitBreach(raw, { maxDepth: 3, maxValues: 5 }));
    }),
  );
  expect(breach('')).toBeUndefined();
  expect(breach('"unterminated \\')).toBeUndefined();
  expect(breach(']]]]{')).toBeUndefined();
});
