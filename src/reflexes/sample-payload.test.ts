import { evaluateConditions, type Conditions } from './conditions';
import { DEFAULT_SAMPLE_PAYLOAD, samplePayloadFor } from './sample-payload';

const conditions = (filters: Conditions['filters'], matchAll = true): Conditions => ({ matchAll, filters });

describe('samplePayloadFor', () => {
  test('no filters: the generic example', () => {
    expect(samplePayloadFor(conditions([]))).toEqual(DEFAULT_SAMPLE_PAYLOAD);
  });

  test('each satisfiable filter puts its value at its field, so the sample matches the reflex', () => {
    const c = conditions([
      { field: 'action', operator: 'equals', value: 'opened' },
      { field: 'pull_request.base.ref', operator: 'startsWith', value: 'main' },
      { field: 'labels.0.name', operator: 'contains', value: 'bug' },
    ]);
    const sample = samplePayloadFor(c);
    expect(sample).toEqual({ action: 'opened', pull_request: { base: { ref: 'main' } }, labels: [{ name: 'bug' }] });
    expect(evaluateConditions(c, sample).matched).toBe(true);
  });

  test('regular expressions are left out; only they: the generic example', () => {
    expect(samplePayloadFor(conditions([{ field: 'title', operator: 'regex', value: '^fix' }]))).toEqual(DEFAULT_SAMPLE_PAYLOAD);
  });

  test('a path that runs into a value already placed is skipped, the rest stays', () => {
    const sample = samplePayloadFor(
      conditions([
        { field: 'a', operator: 'equals', value: 'x' },
        { field: 'a.b', operator: 'equals', value: 'y' },
        { field: 'a', operator: 'equals', value: 'z' },
      ]),
    );
    expect(sample).toEqual({ a: 'x' });
  });

  test('prototype keys are never written', () => {
    const sample = samplePayloadFor(conditions([{ field: '__proto__.polluted', operator: 'equals', value: 'yes' }]));
    expect(sample).toEqual(DEFAULT_SAMPLE_PAYLOAD);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('the generic example is a fresh copy each time', () => {
    const first = samplePayloadFor(conditions([]));
    (first.data as Record<string, unknown>).id = 'changed';
    expect(samplePayloadFor(conditions([]))).toEqual(DEFAULT_SAMPLE_PAYLOAD);
  });
});
