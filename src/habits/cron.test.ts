import fc from 'fast-check';
import { canonicalTimezone, describeCron, localTime, nextRunAfter, parseCron } from './cron';

const HOUR = 3_600_000;

describe('parseCron', () => {
  test.each([
    ['', /exactly five fields.*has 0/],
    ['   ', /has 0/],
    ['* * * *', /has 4/],
    ['0 0 * * * *', /has 6/],
    ['0 0 0 * * * 2030', /has 7/],
    ['@daily', /has 1/],
    ['* * * * ;', /character cron does not allow/],
    ['* * * * $(reboot)', /character cron does not allow/],
    ['60 * * * *', /not valid cron: .*minute/],
    ['* 24 * * *', /not valid cron/],
    ['0 0 30 2 *', /never runs/],
    ['0 0 31 4 *', /never runs/],
  ])('%j is refused: %s', (expression, reason) => {
    const check = parseCron(expression);
    expect(check.valid).toBe(false);
    if (!check.valid) expect(check.reason).toMatch(reason);
  });

  test.each(['* * * * *', '  0   9 * *   1-5 ', '0 9 * * mon', '0 0 L * *', '0 0 * * 5#2', '0 0 15W * *', '0 0 ? * *', '*/7 1-5,9 1 1,6 0'])(
    '%j is five-field cron',
    (expression) => {
      expect(parseCron(expression).valid).toBe(true);
    },
  );

  test('a zone the runtime does not know is refused with its name', () => {
    expect(parseCron('* * * * *', 'Mars/Olympus_Mons')).toEqual({ valid: false, reason: expect.stringMatching(/"Mars\/Olympus_Mons" is not a time zone/) });
  });
});

describe('canonicalTimezone', () => {
  test.each([
    ['UTC', 'UTC'],
    ['utc', 'UTC'],
    ['europe/amsterdam', 'Europe/Amsterdam'],
    ['Etc/GMT+1', 'Etc/GMT+1'],
    ['asia/TOKYO', 'Asia/Tokyo'],
  ])('%j is %j', (name, canonical) => {
    expect(canonicalTimezone(name)).toBe(canonical);
  });

  test.each(['+01:00', '-0500', 'Europe/Atlantis', '', ' UTC', 'Europe//Amsterdam', '../etc/passwd', `Europe/${'A'.repeat(60)}`])('%j is not a zone', (name) => {
    expect(canonicalTimezone(name)).toBeNull();
  });
});

describe('nextRunAfter', () => {
  test('is strictly after the instant given', () => {
    expect(nextRunAfter('0 9 * * *', 'UTC', new Date('2026-01-01T09:00:00Z'))).toEqual(new Date('2026-01-02T09:00:00Z'));
    expect(nextRunAfter('0 9 * * *', 'UTC', new Date('2026-01-01T08:59:59.999Z'))).toEqual(new Date('2026-01-01T09:00:00Z'));
  });

  test('a time in the spring gap runs at the first valid time after it, the same day', () => {
    // 29 March 2026: Amsterdam goes from 02:00 CET straight to 03:00 CEST.
    expect(nextRunAfter('30 2 * * *', 'Europe/Amsterdam', new Date('2026-03-28T12:00:00Z'))).toEqual(new Date('2026-03-29T01:00:00Z'));
  });

  test('a time that occurs twice in autumn runs once, at its first occurrence', () => {
    // 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens at 00:30Z and at 01:30Z.
    const first = nextRunAfter('30 2 * * *', 'Europe/Amsterdam', new Date('2026-10-24T12:00:00Z'))!;
    expect(first).toEqual(new Date('2026-10-25T00:30:00Z'));
    expect(nextRunAfter('30 2 * * *', 'Europe/Amsterdam', first)).toEqual(new Date('2026-10-26T01:30:00Z'));
  });

  test('a stepped minute field runs in both copies of the repeated hour', () => {
    const runs: string[] = [];
    let at = new Date('2026-10-25T00:10:00Z');
    for (let i = 0; i < 4; i += 1) {
      at = nextRunAfter('*/30 * * * *', 'Europe/Amsterdam', at)!;
      runs.push(localTime(at, 'Europe/Amsterdam'));
    }
    expect(runs).toEqual(['2026-10-25T02:30:00+02:00', '2026-10-25T02:00:00+01:00', '2026-10-25T02:30:00+01:00', '2026-10-25T03:00:00+01:00']);
  });

  test('an invalid schedule or zone has no next run, and asking again gives the same answer', () => {
    for (let i = 0; i < 2; i += 1) {
      expect(nextRunAfter('not cron', 'UTC', new Date())).toBeNull();
      expect(nextRunAfter('* * * * *', 'Mars/Olympus_Mons', new Date())).toBeNull();
      expect(nextRunAfter('0 0 30 2 *', 'UTC', new Date())).toBeNull();
    }
  });

  test('a daily time runs within a day, at that wall-clock time, in any zone without DST (property)', () => {
    const zone = fc.constantFrom('UTC', 'Asia/Kolkata', 'Asia/Tokyo', 'America/Bogota', 'Etc/GMT+11', 'Pacific/Kiritimati');
    const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2090, 0, 1) }).map((ms) => new Date(ms));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), zone, instant, (minute, hour, timezone, after) => {
        const next = nextRunAfter(`${minute} ${hour} * * *`, timezone, after)!;
        expect(next.getTime()).toBeGreaterThan(after.getTime());
        expect(next.getTime() - after.getTime()).toBeLessThanOrEqual(24 * HOUR);
        expect(localTime(next, timezone).slice(11, 19)).toBe(`${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00`);
      }),
    );
  });

  test('every 15 minutes means at most 15 minutes from any instant, across DST changes too (property)', () => {
    const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }).map((ms) => new Date(ms));
    fc.assert(
      fc.property(fc.constantFrom('Europe/Amsterdam', 'America/New_York', 'Australia/Lord_Howe', 'UTC'), instant, (timezone, after) => {
        const next = nextRunAfter('*/15 * * * *', timezone, after)!;
        expect(next.getTime() - after.getTime()).toBeGreaterThan(0);
        expect(next.getTime() - after.getTime()).toBeLessThanOrEqual(15 * 60_000);
      }),
    );
  });
});

describe('localTime', () => {
  test.each([
    ['2026-03-29T01:00:00Z', 'Europe/Amsterdam', '2026-03-29T03:00:00+02:00'],
    ['2026-03-29T00:59:59Z', 'Europe/Amsterdam', '2026-03-29T01:59:59+01:00'],
    ['2026-03-29T01:00:00.999Z', 'Asia/Kolkata', '2026-03-29T06:30:00+05:30'],
    ['2026-07-01T12:00:00Z', 'America/St_Johns', '2026-07-01T09:30:00-02:30'],
    ['2026-01-01T12:00:00Z', 'America/St_Johns', '2026-01-01T08:30:00-03:30'],
    ['1999-12-31T23:59:59Z', 'UTC', '1999-12-31T23:59:59+00:00'],
    ['2026-06-01T00:00:00Z', 'Pacific/Kiritimati', '2026-06-01T14:00:00+14:00'],
  ])('%s in %s is %s', (instant, timezone, local) => {
    expect(localTime(new Date(instant), timezone)).toBe(local);
  });

  test('the wall clock minus its offset is the instant, to the second (property)', () => {
    const zone = fc.constantFrom('Europe/Amsterdam', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'UTC');
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2090, 0, 1) }), zone, (ms, timezone) => {
        const local = localTime(new Date(ms), timezone);
        expect(local).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
        expect(Date.parse(local)).toBe(Math.floor(ms / 1000) * 1000);
      }),
    );
  });
});

describe('describeCron', () => {
  test.each([
    ['0 9 * * 1-5', 'At 09:00 on Monday to Friday (UTC)'],
    ['30 2 * * *', 'At 02:30 every day (UTC)'],
    ['0 * * * *', 'Every hour (UTC)'],
    ['15 * * * *', 'At minute 15 of every hour every day (UTC)'],
    ['0 */6 * * *', 'At minute 0 every 6 hours every day (UTC)'],
    ['* * * * *', 'Every minute (UTC)'],
    ['*/10 * * * *', 'Every 10 minutes (UTC)'],
    ['0 9 1 * *', 'At 09:00 on day 1 of the month (UTC)'],
    ['0 0 L * *', 'At 00:00 on the last day of the month (UTC)'],
    ['0 9 * * 1,3,5', 'At 09:00 on Monday, Wednesday and Friday (UTC)'],
    ['0 9 * 1,7 *', 'At 09:00 every day in January and July (UTC)'],
    ['0 9 * 1-3 *', 'At 09:00 every day in January to March (UTC)'],
    ['5 4 * * 0', 'At 04:05 on Sunday (UTC)'],
    ['5 4 * * 7', 'At 04:05 on Sunday (UTC)'],
  ])('%j reads %j', (expression, description) => {
    expect(describeCron(expression, 'UTC')).toBe(description);
  });

  test.each(['0 9 15 * 1', '0 9-17 * * *', '0 9 * * MON', '0 9 * * 8', '0 9 * 13 *', '1-5 * * * *'])('%j gets the generic description', (expression) => {
    expect(describeCron(` ${expression} `, 'Europe/Amsterdam')).toBe(`On the schedule "${expression}" (Europe/Amsterdam)`);
  });
});
