import { as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

/*
 * The web frontend's API key types (types/settings/security.ts of the
 * frontend repository), field by field: every field ApiKey and
 * CreatedApiKeyResponse declare is in our JSON under that name with the JSON
 * type it reads (a `Date` arrives as an ISO string; an optional field may be
 * null where we have no value). Requests use the frontend's CreateApiKeyData.
 */

let t: TestApp;
let owner: TestUser;
let orgA: string;
const KEYS = '/api/v1/api-keys';

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'fe-keys');
  orgA = await newOrganization(t.app, owner, 'Frontend keys');
});
afterAll(() => t.close());

type JsonType = 'string' | 'integer' | 'boolean' | 'date' | 'array';
type Shape = Record<string, JsonType | `${JsonType}?`>;

function mismatches(body: Record<string, unknown>, shape: Shape): string[] {
  return Object.entries(shape).flatMap(([field, declared]) => {
    const optional = declared.endsWith('?');
    const type = declared.replace('?', '') as JsonType;
    if (!(field in body)) return [`${field}: missing`];
    const value = body[field];
    if (optional && value === null) return [];
    const ok =
      type === 'string' ? typeof value === 'string'
      : type === 'integer' ? Number.isSafeInteger(value)
      : type === 'boolean' ? typeof value === 'boolean'
      : type === 'array' ? Array.isArray(value)
      : typeof value === 'string' && !Number.isNaN(new Date(value).getTime());
    return ok ? [] : [`${field}: ${JSON.stringify(value)} is not ${type}`];
  });
}

/** The frontend's ApiKey and CreatedApiKeyResponse (types/settings/security.ts). */
const API_KEY: Shape = {
  id: 'string',
  name: 'string',
  keyPrefix: 'string',
  scopes: 'array',
  createdAt: 'date',
  lastUsedAt: 'date?',
  usageCount: 'integer',
  expiresAt: 'date?',
  isExpired: 'boolean',
};
const CREATED_API_KEY: Shape = { id: 'string', name: 'string', key: 'string', keyPrefix: 'string', scopes: 'array', expiresAt: 'date?' };

describe('the frontend contract', () => {
  test("a created key has every field of CreatedApiKeyResponse, and a listed one every field of ApiKey", async () => {
    const created = await as(t.app, owner, orgA).post(KEYS).send({ name: 'Frontend key', scopes: ['read', 'write'], expiration: '30' }).expect(201);
    expect(mismatches(created.body, CREATED_API_KEY)).toEqual([]);
    expect(created.headers['cache-control']).toBe('no-store');
    const listed = await as(t.app, owner, orgA).get(KEYS).expect(200);
    const mine = listed.body.data.find((k: { id: string }) => k.id === created.body.id);
    expect(mismatches(mine, API_KEY)).toEqual([]);
    expect(mine.scopes).toEqual(['read', 'write']);
    expect(mine.isExpired).toBe(false);
    const days = (Date.parse(mine.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
  });
});


test("CreateApiKeyData with a custom number of days is accepted as the frontend sends it", async () => {
  const created = await as(t.app, owner, orgA).post(KEYS).send({ name: 'Custom', expiration: 'custom', customExpirationDays: 7, scopes: ['admin'] }).expect(201);
  expect(mismatches(created.body, CREATED_API_KEY)).toEqual([]);
  const days = (Date.parse(created.body.expiresAt) - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(6.9);
  expect(days).toBeLessThanOrEqual(7);
});
