import { camelCase, camelKeys, confirmsAddress } from './rules';

describe('export rows', () => {
  test('snake_case columns become the API camelCase names; nested values stay as stored', () => {
    expect(camelCase('organization_id')).toBe('organizationId');
    expect(camelCase('notify_on_team_changes')).toBe('notifyOnTeamChanges');
    expect(camelCase('id')).toBe('id');
    expect(camelKeys({ user_id: 'u', custom_settings: { keep_me: 1 } })).toEqual({ userId: 'u', customSettings: { keep_me: 1 } });
  });
});

describe('erasure confirmation', () => {
  test('the account address confirms, whatever its case; anything else does not', () => {
    expect(confirmsAddress('Ada@Example.com ', 'ada@example.com')).toBe(true);
    expect(confirmsAddress('ada@example.co', 'ada@example.com')).toBe(false);
    expect(confirmsAddress('', 'ada@example.com')).toBe(false);
  });
});
