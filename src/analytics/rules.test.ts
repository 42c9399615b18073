import { ANALYTICS_LIMITS, checkEvents, depthBeyond, toStoredEvent, type AnalyticsEventInput } from './rules';

const NOW = new Date('2026-11-30T12:00:00Z');
const event = (overrides: Partial<AnalyticsEventInput> = {}): AnalyticsEventInput => ({
  type: 'project_step_completed',
  timestamp: '2026-11-30T11:59:00Z',
  persona: 'maya',
  sessionId: '1764494100000-k3j9x2m1q8',
  properties: { step: 'basic_info', time_to_complete: 12.5 },
  ...overrides,
});

/** An object nested `levels` deep (1: a flat object). */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i += 1) value = { inner: value };
  return value;
}

describe('depthBeyond', () => {
  test('counts containers, a scalar being 0', () => {
    expect(depthBeyond(1, 5)).toBe(0);
    expect(depthBeyond({}, 5)).toBe(1);
    expect(depthBeyond({ a: [1, { b: 2 }] }, 5)).toBe(3);
    expect(depthBeyond(nested(5), 5)).toBe(5);
  });

  test('stops one level past the limit, however deep the value goes', () => {
    expect(depthBeyond(nested(10_000), 5)).toBe(6);
  });
});

describe('checkEvents', () => {
  test('a good batch has no errors', () => {
    expect(checkEvents([event(), event({ persona: null, sessionId: null, properties: undefined })], NOW)).toEqual([]);
  });

  test('more than 100 events are refused as a whole', () => {
    const errors = checkEvents(Array.from({ length: ANALYTICS_LIMITS.eventsPerBatch + 1 }, () => event()), NOW);
    expect(errors).toEqual([{ path: '/body/events', message: expect.stringMatching(/at most 100/) }]);
  });

  test('properties five levels deep pass, six do not', () => {
    expect(checkEvents([event({ properties: nested(5) })], NOW)).toEqual([]);
    expect(checkEvents([event(), event({ properties: nested(6) })], NOW)).toEqual([
      { path: '/body/events/1/properties', message: expect.stringMatching(/5 levels/) },
    ]);
  });

  test('properties over 8 KiB as JSON are refused', () => {
    const errors = checkEvents([event({ properties: { text: 'x'.repeat(ANALYTICS_LIMITS.propertyBytes) } })], NOW);
    expect(errors).toEqual([{ path: '/body/events/0/properties', message: expect.stringMatching(/8192 bytes/) }]);
  });

  test('text the database cannot store is refused, in keys, values and the session id', () => {
    expect(checkEvents([event({ properties: { a: ['ok', 'nul\u0000'] } })], NOW)[0]!.path).toBe('/body/events/0/properties');
    expect(checkEvents([event({ properties: { 'k\u0000': 1 } })], NOW)[0]!.path).toBe('/body/events/0/properties');
    expect(checkEvents([event({ properties: { half: '\ud800' } })], NOW)[0]!.path).toBe('/body/events/0/properties');
    expect(checkEvents([event({ sessionId: 'a\u0000b' })], NOW)[0]!.path).toBe('/body/events/0/sessionId');
  });

  test('timestamps: up to a day ahead and 30 days behind', () => {
    expect(checkEvents([event({ timestamp: '2026-12-01T11:59:00Z' }), event({ timestamp: '2026-10-31T12:01:00Z' })], NOW)).toEqual([]);
    const errors = checkEvents([event({ timestamp: '2026-12-01T12:01:00Z' }), event({ timestamp: '2026-10-31T11:59:00Z' })], NOW);
    expect(errors.map((e) => e.path)).toEqual(['/body/events/0/timestamp', '/body/events/1/timestamp']);
  });
});

describe('toStoredEvent', () => {
  test('canonical UTC time, nulls for what was left out', () => {
    expect(toStoredEvent({ type: 'ingestion_started', timestamp: '2026-11-30T13:00:00+01:00', properties: {} })).toEqual({
      type: 'ingestion_started',
      occurred_at: '2026-11-30T12:00:00.000Z',
      session_id: null,
      persona: null,
      properties: {},
    });
  });
});
