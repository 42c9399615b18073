import fc from 'fast-check';
import { CONDITION_LIMITS, evaluateConditions, validateConditions, valueAtPath, type Conditions } from './conditions';

const payload = {
  action: 'opened',
  count: 42,
  draft: false,
  nothing: null,
  pull_request: { title: 'Fix login redirect', labels: [{ name: 'bug' }, { name: 'urgent' }] },
};

const one = (operator: string, field: string, value: string): Conditions => ({
  matchAll: true,
  filters: [{ field, operator: operator as Conditions['filters'][number]['operator'], value }],
});

describe('operators', () => {
  test.each([
    ['equals', 'action', 'opened', true],
    ['equals', 'action', 'Opened', false],
    ['equals', 'count', '42', true],
    ['equals', 'draft', 'false', true],
    ['contains', 'pull_request.title', 'login', true],
    ['contains', 'pull_request.title', 'logout', false],
    ['startsWith', 'pull_request.title', 'Fix', true],
    ['startsWith', 'pull_request.title', 'login', false],
    ['endsWith', 'pull_request.title', 'redirect', true],
    ['endsWith', 'pull_request.title', 'Fix', false],
    ['regex', 'pull_request.title', '^Fix\\s+\\w+', true],
    ['regex', 'pull_request.title', '^login', false],
    ['regex', 'count', '^4\\d$', true],
  ])('%s on %s with %s -> %s', (operator, field, value, expected) => {
    const result = evaluateConditions(one(operator, field, value), payload);
    expect(result.matched).toBe(expected);
    expect(result.filters[0]).toEqual(expect.objectContaining({ field, operator, value, matched: expected }));
  });

  test('dotted paths reach into objects and arrays by index', () => {
    expect(evaluateConditions(one('equals', 'pull_request.labels.1.name', 'urgent'), payload).matched).toBe(true);
    expect(evaluateConditions(one('equals', 'pull_request.labels.2.name', 'urgent'), payload).matched).toBe(false);
    expect(valueAtPath(payload, 'pull_request.labels.01')).toEqual({ found: false });
  });

  test('missing fields, objects, arrays and null never match, and say why', () => {
    for (const field of ['missing', 'pull_request.missing.deeper', 'pull_request', 'pull_request.labels', 'nothing']) {
      const result = evaluateConditions(one('contains', field, ''), payload);
      expect(result.matched).toBe(false);
      expect(result.filters[0]!.reason).toEqual(expect.any(String));
      expect(result.filters[0]!.actual).toBeNull();
    }
  });

  test('prototype names are not fields', () => {
    expect(valueAtPath({}, '__proto__')).toEqual({ found: false });
    expect(valueAtPath({}, 'constructor.name')).toEqual({ found: false });
    expect(evaluateConditions(one('equals', 'toString', 'x'), {}).matched).toBe(false);
  });
});

describe('matchAll and any', () => {
  const filters: Conditions['filters'] = [
    { field: 'action', operator: 'equals', value: 'opened' },
    { field: 'draft', operator: 'equals', value: 'true' },
  ];
  test('matchAll needs every filter', () => {
    expect(evaluateConditions({ matchAll: true, filters }, payload).matched).toBe(false);
  });
  test('any needs one', () => {
    const result = evaluateConditions({ matchAll: false, filters }, payload);
    expect(result.matched).toBe(true);
    expect(result.filters.map((f) => f.matched)).toEqual([true, false]);
  });
  test('no filters always match, whatever matchAll says', () => {
    expect(evaluateConditions({ matchAll: true, filters: [] }, payload).matched).toBe(true);
    expect(evaluateConditions({ matchAll: false, filters: [] }, 'not even an object').matched).toBe(true);
  });
});

describe('regular expressions cannot hang the server', () => {
  test('a catastrophic pattern against a long input returns (re2 does not backtrack)', () => {
    const input = `${'a'.repeat(CONDITION_LIMITS.inputLength - 1)}!`;
    const result = evaluateConditions(one('regex', 'text', '(a+)+$'), { text: input });
    expect(result.matched).toBe(false);
    expect(evaluateConditions(one('regex', 'text', '(a+)+!$'), { text: input }).matched).toBe(true);
  });

  test('input longer than the limit is not matched at all', () => {
    const result = evaluateConditions(one('regex', 'text', 'a'), { text: 'a'.repeat(CONDITION_LIMITS.inputLength + 1) });
    expect(result.matched).toBe(false);
    expect(result.filters[0]!.reason).toMatch(/longer than/);
  });

  test('invalid, unsupported and overlong patterns are refused when saved', () => {
    for (const value of ['(a', '(?=look)ahead', '(a)\\1', 'x'.repeat(CONDITION_LIMITS.patternLength + 1)]) {
      const checked = validateConditions({ filters: [{ field: 'a', operator: 'regex', value }] }, '/body/conditions');
      expect(checked.errors).toEqual([expect.objectContaining({ path: '/body/conditions/filters/0/value' })]);
    }
  });
});

describe('validation of conditions', () => {
  test('defaults: matchAll true, no filters', () => {
    expect(validateConditions(undefined, '/c').value).toEqual({ matchAll: true, filters: [] });
    expect(validateConditions({}, '/c').value).toEqual({ matchAll: true, filters: [] });
  });
  test('each bad part is a field error', () => {
    const checked = validateConditions(
      { matchAll: 'yes', filters: [{ field: 'a..b', operator: 'like', value: 3, extra: 1 }] },
      '/body/conditions',
    );
    expect(checked.value).toBeUndefined();
    expect(checked.errors.map((e) => e.path).sort()).toEqual([
      '/body/conditions/filters/0/extra',
      '/body/conditions/filters/0/field',
      '/body/conditions/filters/0/operator',
      '/body/conditions/filters/0/value',
      '/body/conditions/matchAll',
    ]);
  });
  test('at most 20 filters', () => {
    const filters = Array.from({ length: 21 }, () => ({ field: 'a', operator: 'equals', value: 'b' }));
    expect(validateConditions({ filters }, '/c').errors).toHaveLength(1);
  });
  test('any text value compared with equals matches exactly itself (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        expect(evaluateConditions(one('equals', 'v', a), { v: b }).matched).toBe(a === b);
        expect(evaluateConditions(one('contains', 'v', a), { v: b }).matched).toBe(b.includes(a));
      }),
    );
  });
});

describe('edges of paths, values and limits', () => {
  test('numbers and booleans are compared as their JSON text', () => {
    const values = { ratio: 1.5, big: 1e21, negative: -0, yes: true };
    expect(evaluateConditions(one('equals', 'ratio', '1.5'), values).matched).toBe(true);
    expect(evaluateConditions(one('equals', 'big', '1e+21'), values).matched).toBe(true);
    expect(evaluateConditions(one('equals', 'negative', '0'), values).matched).toBe(true);
    expect(evaluateConditions(one('equals', 'yes', 'true'), values).filters[0]).toMatchObject({ matched: true, actual: 'true' });
  });

  test('array indexes are plain decimal numbers inside the array', () => {
    const list = { items: ['a', 'b'] };
    expect(valueAtPath(list, 'items.1')).toEqual({ found: true, value: 'b' });
    for (const index of ['2', '-1', '1.0', ' 1', '+1', '0x1', 'length', '9999999999']) {
      expect(valueAtPath(list, `items.${index}`)).toEqual({ found: false });
    }
    expect(valueAtPath('text', 'length')).toEqual({ found: false });
  });

  test('a path through a scalar finds nothing; the empty-looking key of an object is a key like any other', () => {
    expect(valueAtPath({ a: 'x' }, 'a.b')).toEqual({ found: false });
    expect(valueAtPath({ a: { b: null } }, 'a.b')).toEqual({ found: true, value: null });
    expect(valueAtPath({ 'a b': 1 }, 'a b')).toEqual({ found: true, value: 1 });
  });

  test('field paths: length, segment count and empty segments have limits', () => {
    const field = (value: string) => validateConditions({ filters: [{ field: value, operator: 'equals', value: 'x' }] }, '/c').errors;
    expect(field('a'.repeat(CONDITION_LIMITS.fieldLength))).toEqual([]);
    expect(field('a'.repeat(CONDITION_LIMITS.fieldLength + 1))).toEqual([expect.objectContaining({ path: '/c/filters/0/field' })]);
    expect(field(Array(CONDITION_LIMITS.pathSegments).fill('a').join('.'))).toEqual([]);
    expect(field(Array(CONDITION_LIMITS.pathSegments + 1).fill('a').join('.'))).toEqual([expect.objectContaining({ path: '/c/filters/0/field' })]);
    for (const bad of ['', '.a', 'a.', 'a..b']) expect(field(bad)).toHaveLength(1);
  });

  test('values longer than the limit are refused when saved; the limit itself is fine', () => {
    const value = (length: number) => validateConditions({ filters: [{ field: 'a', operator: 'contains', value: 'v'.repeat(length) }] }, '/c');
    expect(value(CONDITION_LIMITS.valueLength).errors).toEqual([]);
    expect(value(CONDITION_LIMITS.valueLength + 1).errors).toEqual([expect.objectContaining({ path: '/c/filters/0/value' })]);
  });

  test('shapes that are not conditions at all are one error each', () => {
    expect(validateConditions(null, '/c').errors).toEqual([{ path: '/c', message: expect.any(String) }]);
    expect(validateConditions([], '/c').errors).toEqual([{ path: '/c', message: expect.any(String) }]);
    expect(validateConditions({ filters: 'a=b' }, '/c').errors).toEqual([{ path: '/c/filters', message: expect.any(String) }]);
    expect(validateConditions({ filters: ['a=b'] }, '/c').errors).toEqual([{ path: '/c/filters/0', message: expect.any(String) }]);
  });

  test('a valid set of filters comes back as given, matchAll false kept', () => {
    const filters = [
      { field: 'a.b', operator: 'regex', value: '^x+$' },
      { field: 'c', operator: 'endsWith', value: '' },
    ];
    expect(validateConditions({ matchAll: false, filters }, '/c')).toEqual({ value: { matchAll: false, filters }, errors: [] });
  });

  test('a stored regex longer than the pattern limit never matches (it could not have been saved)', () => {
    const overlong = `${'a'.repeat(CONDITION_LIMITS.patternLength)}|x`;
    expect(evaluateConditions(one('regex', 'v', overlong), { v: 'x' }).matched).toBe(false);
  });
});
