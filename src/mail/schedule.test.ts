import { latestDigestSlot, quietHoursEnd, retryDelayMs, type QuietHours } from './schedule';
import { fromWallClock, isTimeZone } from './zoned';

const quiet = (over: Partial<QuietHours> = {}): QuietHours => ({
  enabled: true,
  startTime: '22:00',
  endTime: '07:00',
  days: 'all',
  customDays: [],
  timeZone: 'UTC',
  ...over,
});

describe('time zones', () => {
  test('names the runtime knows are zones; anything else is not', () => {
    expect(isTimeZone('Europe/Amsterdam')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  test('a wall-clock time becomes the right UTC moment, summer and winter', () => {
    expect(fromWallClock('Europe/Amsterdam', 2026, 7, 1, 9, 0).toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(fromWallClock('Europe/Amsterdam', 2026, 1, 15, 9, 0).toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(fromWallClock('America/New_York', 2026, 12, 31, 23, 30).toISOString()).toBe('2027-01-01T04:30:00.000Z');
  });
});

describe('quiet hours', () => {
  test('an overnight period holds until its end the next morning, and not outside it', () => {
    expect(quietHoursEnd(quiet(), new Date('2026-03-10T23:15:00Z'))?.toISOString()).toBe('2026-03-11T07:00:00.000Z');
    expect(quietHoursEnd(quiet(), new Date('2026-03-11T03:00:00Z'))?.toISOString()).toBe('2026-03-11T07:00:00.000Z');
    expect(quietHoursEnd(quiet(), new Date('2026-03-11T07:00:00Z'))).toBeNull();
    expect(quietHoursEnd(quiet(), new Date('2026-03-11T12:00:00Z'))).toBeNull();
  });

  test('read in the person’s time zone', () => {
    const amsterdam = quiet({ timeZone: 'Europe/Amsterdam' });
    // 21:30 UTC is 22:30 in Amsterdam in winter: quiet until 07:00 local, 06:00 UTC.
    expect(quietHoursEnd(amsterdam, new Date('2026-01-20T21:30:00Z'))?.toISOString()).toBe('2026-01-21T06:00:00.000Z');
    expect(quietHoursEnd(amsterdam, new Date('2026-01-20T20:30:00Z'))).toBeNull();
  });

  test('a same-day period, off, empty, and days that do not start one', () => {
    const lunch = quiet({ startTime: '12:00', endTime: '13:30' });
    expect(quietHoursEnd(lunch, new Date('2026-03-11T12:10:00Z'))?.toISOString()).toBe('2026-03-11T13:30:00.000Z');
    expect(quietHoursEnd(quiet({ enabled: false }), new Date('2026-03-10T23:15:00Z'))).toBeNull();
    expect(quietHoursEnd(quiet({ startTime: '08:00', endTime: '08:00' }), new Date('2026-03-11T08:00:00Z'))).toBeNull();
    // 2026-03-14 is a Saturday: a weekday-only night does not start then, but Friday's night still runs into it.
    const weekdays = quiet({ days: 'weekdays' });
    expect(quietHoursEnd(weekdays, new Date('2026-03-14T23:00:00Z'))).toBeNull();
    expect(quietHoursEnd(weekdays, new Date('2026-03-14T03:00:00Z'))?.toISOString()).toBe('2026-03-14T07:00:00.000Z');
    expect(quietHoursEnd(quiet({ days: 'custom', customDays: [6] }), new Date('2026-03-14T23:00:00Z'))?.toISOString()).toBe('2026-03-15T07:00:00.000Z');
  });

  test('an unknown stored zone reads as UTC', () => {
    expect(quietHoursEnd(quiet({ timeZone: 'Nowhere/Else' }), new Date('2026-03-10T23:15:00Z'))?.toISOString()).toBe('2026-03-11T07:00:00.000Z');
  });
});

describe('digest slots', () => {
  test('daily: today at the time once it has passed, else yesterday', () => {
    const daily = { frequency: 'daily' as const, digestTime: '09:00', digestDay: 1, timeZone: 'UTC' };
    expect(latestDigestSlot(daily, new Date('2026-03-11T10:00:00Z'))?.toISOString()).toBe('2026-03-11T09:00:00.000Z');
    expect(latestDigestSlot(daily, new Date('2026-03-11T08:59:00Z'))?.toISOString()).toBe('2026-03-10T09:00:00.000Z');
  });

  test('weekly: the latest chosen weekday at the time, in the zone', () => {
    // Monday 2026-03-09 08:30 Amsterdam (winter) = 07:30 UTC.
    const weekly = { frequency: 'weekly' as const, digestTime: '08:30', digestDay: 1, timeZone: 'Europe/Amsterdam' };
    expect(latestDigestSlot(weekly, new Date('2026-03-11T12:00:00Z'))?.toISOString()).toBe('2026-03-09T07:30:00.000Z');
    expect(latestDigestSlot(weekly, new Date('2026-03-09T07:00:00Z'))?.toISOString()).toBe('2026-03-02T07:30:00.000Z');
  });

  test('realtime has no digest', () => {
    expect(latestDigestSlot({ frequency: 'realtime', digestTime: '09:00', digestDay: 1, timeZone: 'UTC' }, new Date())).toBeNull();
  });
});

test('retries back off exponentially, capped at six hours', () => {
  expect([1, 2, 3].map(retryDelayMs)).toEqual([60_000, 120_000, 240_000]);
  expect(retryDelayMs(30)).toBe(6 * 3_600_000);
});
