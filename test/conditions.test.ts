import fc from 'fast-check';
import { CONDITION_LIMITS, evaluateConditions, validateConditions, valueAtPath, type Conditions } from '../src/reflexes/conditions';
import { validateReflexDefinition } from '../src/reflexes/definition';
import { globMatches } from '../src/reflexes/glob';
import { matchReflex } from '../src/reflexes/triggers';

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

describe('triggers', () => {
  test('file globs: ** spans folders, * and ? stay in one', () => {
    expect(globMatches('docs/**/*.md', 'docs/a/b/c.md')).toBe(true);
    expect(globMatches('docs/**/*.md', 'docs/c.md')).toBe(true);
    expect(globMatches('docs/*.md', 'docs/a/c.md')).toBe(false);
    expect(globMatches('src/?.ts', 'src/a.ts')).toBe(true);
    expect(globMatches('src/?.ts', 'src/ab.ts')).toBe(false);
    expect(globMatches('a+b(1).txt', 'a+b(1).txt')).toBe(true);
    expect(globMatches('a.txt', 'abtxt')).toBe(false);
  });

  test('event reflexes compare name and, when they name one, source', () => {
    const reflex = { triggerType: 'event' as const, triggerConfig: { eventName: 'deploy', source: 'ci' }, conditions: { matchAll: true, filters: [] } };
    expect(matchReflex(reflex, { eventName: 'deploy', source: 'ci', payload: {} }).matched).toBe(true);
    expect(matchReflex(reflex, { eventName: 'deploy', source: 'cd', payload: {} }).matched).toBe(false);
    expect(matchReflex(reflex, { eventName: 'deploy', payload: {} }).matched).toBe(false);
    const anySource = { ...reflex, triggerConfig: { eventName: 'deploy' } };
    expect(matchReflex(anySource, { eventName: 'deploy', source: 'anything', payload: {} }).matched).toBe(true);
  });

  test('email reflexes compare the sender (any case) and their patterns', () => {
    const reflex = {
      triggerType: 'email' as const,
      triggerConfig: { fromAddress: 'alerts@example.com', subjectPattern: '^\\[ALERT\\]' },
      conditions: { matchAll: true, filters: [] },
    };
    expect(matchReflex(reflex, { payload: { fromAddress: 'Alerts@Example.com', subject: '[ALERT] disk' } }).matched).toBe(true);
    expect(matchReflex(reflex, { payload: { fromAddress: 'alerts@example.com', subject: 'disk' } }).matched).toBe(false);
  });

  test('schedule is refused as a reflex, with a pointer to habits', () => {
    const checked = validateReflexDefinition({ triggerType: 'schedule', triggerConfig: { cron: '* * * * *' } });
    expect(checked.errors).toEqual([{ path: '/body/triggerType', message: expect.stringMatching(/habit/) }]);
  });

  test('each trigger type checks its own config', () => {
    const bad: Array<[string, unknown, string]> = [
      ['webhook', { method: 'PUT' }, '/body/triggerConfig/method'],
      ['webhook', { secret: 'mine' }, '/body/triggerConfig/secret'],
      ['webhook', { url: 'ftp://x' }, '/body/triggerConfig/url'],
      ['email', { subjectPattern: 'x' }, '/body/triggerConfig/fromAddress'],
      ['email', { fromAddress: 'a@b.co', bodyPattern: '(' }, '/body/triggerConfig/bodyPattern'],
      ['file_change', { paths: [] }, '/body/triggerConfig/paths'],
      ['file_change', { paths: ['*.md'], events: ['rename'] }, '/body/triggerConfig/events'],
      ['api_call', { endpoint: 'no-slash', method: 'GET' }, '/body/triggerConfig/endpoint'],
      ['event', { source: 'ci' }, '/body/triggerConfig/eventName'],
      ['event', 'deploy', '/body/triggerConfig'],
    ];
    for (const [triggerType, triggerConfig, path] of bad) {
      const checked = validateReflexDefinition({ triggerType, triggerConfig });
      expect(checked.errors.map((e) => e.path)).toEqual([path]);
    }
    expect(validateReflexDefinition({ triggerType: 'file_change', triggerConfig: { paths: ['docs/**'] } }).definition).toEqual({
      triggerType: 'file_change',
      triggerConfig: { paths: ['docs/**'], events: ['create', 'modify', 'delete'] },
      conditions: { matchAll: true, filters: [] },
      isActive: true,
    });
  });
});
