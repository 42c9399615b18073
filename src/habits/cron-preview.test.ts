import { Problem } from '../problems';
import { previewCron } from './cron-preview';

const NOW = new Date('2026-03-27T12:00:00Z');

describe('previewCron', () => {
  test('a valid schedule: the canonical zone, a description and the next five runs from `from`', () => {
    expect(previewCron({ cron: '30 2 * * *', timezone: 'europe/amsterdam', from: '2026-03-27T12:00:00Z' })).toEqual({
      cron: '30 2 * * *',
      timezone: 'Europe/Amsterdam',
      isValid: true,
      error: null,
      description: 'At 02:30 every day (Europe/Amsterdam)',
      nextRuns: ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z', '2026-04-01T00:30:00.000Z'],
      nextRunsLocal: [
        { at: '2026-03-28T01:30:00.000Z', local: '2026-03-28T02:30:00+01:00' },
        // 02:30 does not exist on the 29th: the first valid time after it.
        { at: '2026-03-29T01:00:00.000Z', local: '2026-03-29T03:00:00+02:00' },
        { at: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
        { at: '2026-03-31T00:30:00.000Z', local: '2026-03-31T02:30:00+02:00' },
        { at: '2026-04-01T00:30:00.000Z', local: '2026-04-01T02:30:00+02:00' },
      ],
    });
  });

  test('without `from` the runs start at now', () => {
    const verdict = previewCron({ cron: '0 * * * *', timezone: 'UTC' }, NOW);
    expect(verdict).toMatchObject({ timezone: 'UTC', isValid: true, description: 'Every hour (UTC)' });
    expect(verdict.nextRuns).toEqual([13, 14, 15, 16, 17].map((hour) => `2026-03-27T${hour}:00:00.000Z`));
  });

  test('an unknown zone is a verdict that names it, with the zone echoed as given', () => {
    expect(previewCron({ cron: '* * * * *', timezone: 'Mars/Olympus_Mons' }, NOW)).toEqual({
      cron: '* * * * *',
      timezone: 'Mars/Olympus_Mons',
      isValid: false,
      error: expect.stringMatching(/"Mars\/Olympus_Mons" is not a known IANA time zone/),
      description: null,
      nextRuns: [],
      nextRunsLocal: [],
    });
  });

  test('an invalid schedule is a verdict too, with the zone made canonical', () => {
    const verdict = previewCron({ cron: '0 0 30 2 *', timezone: 'utc' }, NOW);
    expect(verdict).toEqual({ cron: '0 0 30 2 *', timezone: 'UTC',
      isValid: false,
      error: expect.stringMatching(/never runs/),
      description: null,
      nextRuns: [],
      nextRunsLocal: [],
    });
  });

  test.each(['1969-12-31T23:59:59Z', '9999-01-01T00:00:00Z'])('a preview from %s is the caller’s 400, naming /body/from', (from) => {
    let thrown: unknown;
    try {
      previewCron({ cron: '* * * * *', timezone: 'UTC', from }, NOW);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Problem);
    expect(thrown).toMatchObject({ status: 400, errors: [{ path: '/body/from' }] });
  });

  test('the edges of the allowed range are no error', () => {
    expect(previewCron({ cron: '0 0 1 1 *', timezone: 'UTC', from: '1970-01-01T00:00:00Z' }).nextRuns[0]).toBe('1971-01-01T00:00:00.000Z');
    expect(previewCron({ cron: '59 23 31 12 *', timezone: 'UTC', from: '9998-12-31T23:59:59Z' }).isValid).toBe(true);
  });
});
