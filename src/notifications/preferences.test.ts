import { DEFAULT_PREFERENCES, mergePreferences, preferenceErrors, toPreferences } from './preferences';

test('a change merges section by section and leaves the rest', () => {
  const merged = mergePreferences(DEFAULT_PREFERENCES, { quietHours: { enabled: true }, email: { weeklyDigest: false }, timezone: 'Europe/Amsterdam' });
  expect(merged.quietHours).toEqual({ ...DEFAULT_PREFERENCES.quietHours, enabled: true });
  expect(merged.email).toEqual({ ...DEFAULT_PREFERENCES.email, weeklyDigest: false });
  expect(merged.inApp).toEqual(DEFAULT_PREFERENCES.inApp);
  expect(merged.timezone).toBe('Europe/Amsterdam');
});

test('no row yet reads as the defaults, and a copy (callers may change it)', () => {
  const read = toPreferences(undefined);
  expect(read).toEqual(DEFAULT_PREFERENCES);
  read.email.productUpdates = false;
  expect(DEFAULT_PREFERENCES.email.productUpdates).toBe(true);
});

test('an unknown time zone, empty custom days and an empty quiet period are refused, each at its field', () => {
  expect(preferenceErrors(DEFAULT_PREFERENCES)).toEqual([]);
  const bad = mergePreferences(DEFAULT_PREFERENCES, {
    timezone: 'Europe/Atlantis',
    quietHours: { enabled: true, days: 'custom', customDays: [], startTime: '08:00', endTime: '08:00' },
  });
  expect(preferenceErrors(bad).map((error) => error.path)).toEqual(['/body/timezone', '/body/quietHours/customDays', '/body/quietHours/endTime']);
});
