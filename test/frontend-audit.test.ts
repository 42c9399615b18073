import { addMember, as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

/*
 * The web frontend's audit-log types (types/settings/audit.ts of the frontend
 * repository), field by field: every field each interface declares is in our
 * JSON under that name with the JSON type it reads (a `Date` arrives as an ISO
 * string it can parse). An optional field (`?`) may be null where we have no
 * value; a required one must hold a value. Requests use the frontend's names.
 */

type JsonType = 'string' | 'boolean' | 'date' | 'array' | 'object';
type Shape = Record<string, JsonType | `${JsonType}?`>;

function matches(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && !Number.isNaN(new Date(value).getTime());
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

function mismatches(body: Record<string, unknown>, shape: Shape): string[] {
  return Object.entries(shape).flatMap(([field, declared]) => {
    const optional = declared.endsWith('?');
    const type = declared.replace('?', '') as JsonType;
    if (!(field in body)) return [`${field}: missing`];
    const value = body[field];
    if (optional && value === null) return [];
    return matches(value, type) ? [] : [`${field}: ${JSON.stringify(value)} is not ${type}`];
  });
}

const AUDIT_LOG_ENTRY: Shape = {
  id: 'string',
  teamId: 'string?',
  userId: 'string?',
  userEmail: 'string?',
  userName: 'string?',
  userAvatarUrl: 'string?',
  eventType: 'string',
  eventCategory: 'string',
  description: 'string',
  metadata: 'object?',
  changes: 'array?',
  ipAddress: 'string?',
  sessionId: 'string?',
  createdAt: 'date',
};
const CHANGE: Shape = { field: 'string' };
const SAVED_FILTER: Shape = { id: 'string', teamId: 'string', userId: 'string', name: 'string', filters: 'object', isShared: 'boolean', createdAt: 'date' };
const CATEGORIES = ['user', 'context', 'team', 'security', 'integration', 'system'];

let t: TestApp;
let owner: TestUser;
let org: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'fe-audit-owner');
  org = await newOrganization(t.app, owner, 'FE audit');
  const colleague = await newUser(t.app, 'fe-audit-colleague');
  await addMember(t, org, colleague, 'member');
  const project = await as(t.app, owner, org).post('/api/v1/projects').send({ name: 'Frontend audit', type: 'manual' }).expect(201);
  await as(t.app, owner, org).patch(`/api/v1/projects/${project.body.id}`).send({ name: 'Frontend audit 2' }).expect(200);
  await as(t.app, owner, org).patch(`/api/v1/organizations/${org}/members/${colleague.userId}`).send({ role: 'admin' }).expect(200);
});
afterAll(() => t.close());

test('AuditLogEntry: every field, its type, the category of its event type; changes as {field, oldValue, newValue}', async () => {
  const res = await as(t.app, owner, org).get('/api/v1/audit-log').expect(200);
  const entries = res.body.data as Array<Record<string, unknown>>;
  expect(entries.length).toBeGreaterThanOrEqual(4);
  for (const entry of entries) {
    expect({ id: entry.id, problems: mismatches(entry, AUDIT_LOG_ENTRY) }).toEqual({ id: entry.id, problems: [] });
    expect(CATEGORIES).toContain(entry.eventCategory);
    expect(String(entry.eventType).split('.')[0]).toBe(entry.eventCategory);
    for (const change of entry.changes as Array<Record<string, unknown>>) {
      expect(mismatches(change, CHANGE)).toEqual([]);
      expect(change).toHaveProperty('oldValue');
      expect(change).toHaveProperty('newValue');
    }
  }
  const updated = entries.find((e) => e.eventType === 'context.updated')!;
  expect(updated.changes).toEqual([{ field: 'name', oldValue: 'Frontend audit', newValue: 'Frontend audit 2' }]);
  // The list filters by the frontend's AuditLogFilters, under their names.
  const filtered = await as(t.app, owner, org).get(`/api/v1/audit-log?userId=${owner.userId}&eventCategory=team&eventTypes=team.role_changed&searchQuery=colleague`).expect(200);
  expect(filtered.body.data.map((e: { eventType: string }) => e.eventType)).toEqual(['team.role_changed']);
});

test('AuditLogSavedFilter: every field, saved with the frontend’s AuditLogFilters', async () => {
  const filters = {
    userId: owner.userId,
    eventCategory: 'team',
    eventTypes: ['team.role_changed', 'team.member_joined'],
    dateFrom: '2026-11-01T00:00:00.000Z',
    dateTo: '2026-11-30T23:59:59.000Z',
    searchQuery: 'bob',
  };
  const saved = await as(t.app, owner, org).post('/api/v1/audit-log/saved-filters').send({ name: 'Team changes', filters, isShared: true }).expect(201);
  expect(mismatches(saved.body, SAVED_FILTER)).toEqual([]);
  expect(saved.body).toMatchObject({ teamId: org, userId: owner.userId, filters, isShared: true });
});
