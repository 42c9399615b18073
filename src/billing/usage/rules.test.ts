import { withoutUnhandedCalls } from './rules';
import type { UsageRow } from './sql';

const row = (metric: UsageRow['metric'], used: number): UsageRow => ({
  metric,
  plan_tier: 'free',
  quota_limit: 1000,
  used,
  resets_at: '2026-12-01T00:00:00.000Z',
  month_start: '2026-11-01',
  month_end: '2026-12-01',
  trend: [
    { date: '2026-11-29', value: 5 },
    { date: '2026-11-30', value: used },
  ],
});

describe('withoutUnhandedCalls', () => {
  test('takes the unhanded calls off the month and off today only', () => {
    const shown = withoutUnhandedCalls(row('api_calls', 20), 19, '2026-11-30');
    expect(shown.used).toBe(1);
    expect(shown.trend).toEqual([
      { date: '2026-11-29', value: 5 },
      { date: '2026-11-30', value: 1 },
    ]);
  });

  test('never below zero, and other metrics untouched', () => {
    expect(withoutUnhandedCalls(row('api_calls', 3), 10, '2026-11-30').used).toBe(0);
    expect(withoutUnhandedCalls(row('ingestions', 20), 19, '2026-11-30')).toEqual(row('ingestions', 20));
  });
});
