import { describeEntry, fieldName, normalizeFilters, toChanges, windowErrors, type DescribedEntry } from './rules';

const entry = (more: Partial<DescribedEntry>): DescribedEntry => ({
  eventType: 'context.created',
  actorEmail: 'alice@acme.test',
  actorRole: 'authenticated',
  targetType: 'project',
  targetName: 'Search',
  metadata: {},
  changes: {},
  ...more,
});

describe('changes', () => {
  test('columns become the API’s field names, in a stable order, with null for a missing side', () => {
    expect(fieldName('chunking_strategy')).toBe('chunkingStrategy');
    expect(fieldName('address_line1')).toBe('addressLine1');
    expect(fieldName('name')).toBe('name');
    expect(toChanges({ name: { old: 'A', new: 'B' }, custom_settings: { old: {}, new: { x: 1 } }, city: { new: 'Utrecht' } })).toEqual([
      { field: 'city', oldValue: null, newValue: 'Utrecht' },
      { field: 'customSettings', oldValue: {}, newValue: { x: 1 } },
      { field: 'name', oldValue: 'A', newValue: 'B' },
    ]);
    expect(toChanges({})).toEqual([]);
    expect(toChanges(null)).toEqual([]);
  });
});

describe('describeEntry', () => {
  test('says who did what to what', () => {
    expect(describeEntry(entry({}))).toBe('alice@acme.test created project Search');
    expect(describeEntry(entry({ eventType: 'team.role_changed', targetType: 'organization_member', targetName: 'bob@acme.test', changes: { role: { old: 'member', new: 'admin' } } }))).toBe(
      'alice@acme.test changed the role of bob@acme.test in the organization to admin',
    );
    expect(
      describeEntry(entry({ eventType: 'team.member_invited', targetType: 'project_invitation', targetName: 'dana@example.com', metadata: { projectName: 'Docs' } })),
    ).toBe('alice@acme.test invited dana@example.com to project Docs');
    expect(describeEntry(entry({ eventType: 'team.member_status_changed', targetName: 'bob@acme.test', changes: { status: { old: 'inactive', new: 'active' } } }))).toBe(
      'alice@acme.test reactivated bob@acme.test',
    );
  });

  test('without an actor: the back office or the system; unknown events still read', () => {
    expect(describeEntry(entry({ actorEmail: null, actorRole: 'service_role', eventType: 'team.plan_changed', targetName: 'pro' }))).toBe('The back office changed the plan to pro');
    expect(describeEntry(entry({ actorEmail: null, actorRole: null, eventType: 'context.deleted', targetName: null }))).toBe('The system deleted project an unnamed item');
    expect(describeEntry(entry({ eventType: 'integration.webhook_triggered', targetName: 'Slack' }))).toBe('alice@acme.test: webhook triggered (Slack)');
    expect(describeEntry(entry({ eventType: 'system.backup_created', targetName: null }))).toBe('alice@acme.test: backup created');
  });
});

describe('filters', () => {
  test('a window that ends before it starts is a field error; an open or equal one is not', () => {
    expect(windowErrors({ dateFrom: '2026-11-02T00:00:00Z', dateTo: '2026-11-01T00:00:00Z' }, '/query')).toEqual([
      { path: '/query/dateTo', message: 'must not be before dateFrom', code: 'window' },
    ]);
    expect(windowErrors({ dateFrom: '2026-11-01T00:00:00Z', dateTo: '2026-11-01T00:00:00Z' }, '/query')).toEqual([]);
    expect(windowErrors({ dateTo: '2026-11-01T00:00:00Z' }, '/query')).toEqual([]);
  });

  test('stored as sent, dates in UTC, an empty event-type list dropped', () => {
    expect(normalizeFilters({ dateFrom: '2026-11-01T01:00:00+01:00', eventTypes: [], searchQuery: 'bob' })).toEqual({
      dateFrom: '2026-11-01T00:00:00.000Z',
      searchQuery: 'bob',
    });
    expect(normalizeFilters({})).toEqual({});
  });
});
