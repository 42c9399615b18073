import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApiKeyUsage, type ApiKeyUsage } from '../src/api-keys/usage';
import { problemFromDatabaseError } from '../src/db/errors';
import { withRequestTransaction } from '../src/db/transaction';
import { apiKeyClaims } from '../src/auth/api-key';
import type { ApiKeyIdentity, Identity } from '../src/auth/caller';
import { newApiKey, withKey } from './support/api-keys';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, signedToken, type TestApp, type TestUser } from './support/harness';

// Organization API keys: created by owners and admins, shown once, stored as
// a hash, scoped, revocable, pinned to their organization, and acting as
// their creator with the role the database caps by scope.

let t: TestApp;
let usage: ApiKeyUsage;
let owner: TestUser;
let admin: TestUser;
let member: TestUser;
let outsider: TestUser;
let orgA: string;
let orgB: string;
let projectA: string;
let projectB: string;

const KEYS = '/api/v1/api-keys';

beforeAll(async () => {
  // A usage recorder of the test's own, flushed by hand (its timer never fires within a test).
  t = createTestApp();
  usage = createApiKeyUsage({ pool: t.pool, statementTimeoutMs: 5000, flushIntervalMs: 3_600_000 });
  t = { ...t, app: t.variant({ apiKeyUsage: usage }) };
  owner = await newUser(t.app, 'keys-owner');
  admin = await newUser(t.app, 'keys-admin');
  member = await newUser(t.app, 'keys-member');
  outsider = await newUser(t.app, 'keys-outsider');
  orgA = await newOrganization(t.app, owner, 'Keys A');
  orgB = await newOrganization(t.app, outsider, 'Keys B');
  await addMember(t, orgA, admin, 'admin');
  await addMember(t, orgA, member, 'member');
  projectA = (await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: `Keyed ${randomUUID().slice(0, 6)}`, type: 'manual', privacy: 'shared' }).expect(201)).body.id;
  projectB = (await as(t.app, outsider, orgB).post('/api/v1/projects').send({ name: `Other ${randomUUID().slice(0, 6)}`, type: 'manual' }).expect(201)).body.id;
});
afterAll(async () => {
  await usage.close();
  await t.close();
});

describe('creating, listing and revoking', () => {
  test('the secret is shown once, has the prefix, and only its sha256 is stored', async () => {
    const created = await as(t.app, admin, orgA).post(KEYS).send({ name: 'CI', scopes: ['write'], expiration: 'never' }).expect(201);
    const { key, keyPrefix, id } = created.body;
    expect(key).toMatch(/^dtk_live_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`${keyPrefix}_`)).toBe(true);
    expect(created.body.expiresAt).toBeNull();
    expect(created.body.createdBy).toBe(admin.userId);
    // Never again: not in the key, not in the list.
    const one = await as(t.app, owner, orgA).get(`${KEYS}/${id}`).expect(200);
    expect(one.body.key).toBeUndefined();
    const list = await as(t.app, owner, orgA).get(`${KEYS}?pageSize=100`).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(key.slice(keyPrefix.length));
    // The database holds the hash and no trace of the secret.
    const stored = await t.admin.query('select to_jsonb(k)::text as row, secret_hash from public.api_keys k where id = $1', [id]);
    expect(stored.rows[0].secret_hash.equals(createHash('sha256').update(key).digest())).toBe(true);
    expect(stored.rows[0].row).not.toContain(key.slice(keyPrefix.length + 1));
    // And a request role cannot read the hash at all.
    await expect(
      withRequestTransaction(t.pool, { role: 'authenticated', userId: owner.userId, email: owner.email, claims: { sub: owner.userId, email: owner.email, role: 'authenticated' } }, { requestedOrganizationId: orgA, statementTimeoutMs: 5000 }, (tx) =>
        tx.query('select secret_hash from public.api_keys where id = $1', [id]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  test('a plain member cannot create, list or revoke keys (403); the database refuses the insert too', async () => {
    expectProblem(await as(t.app, member, orgA).post(KEYS).send({ name: 'Mine', scopes: ['read'], expiration: 'never' }), 403);
    expectProblem(await as(t.app, member, orgA).get(KEYS), 403);
    const { id } = await newApiKey(t.app, owner, orgA, ['read']);
    expectProblem(await as(t.app, member, orgA).delete(`${KEYS}/${id}`), 403);
    const claims = { sub: member.userId, email: member.email, role: 'authenticated' };
    await expect(
      withRequestTransaction(t.pool, { role: 'authenticated', userId: member.userId, email: member.email, claims }, { requestedOrganizationId: orgA, statementTimeoutMs: 5000 }, (tx) =>
        tx.query(`insert into public.api_keys (organization_id, name, public_id, secret_hash, scopes) values ($1, 'x', 'abcdefabcdef', $2, '{admin}')`, [orgA, Buffer.alloc(32, 7)]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  test('revoked keys stop at once (401) and stay listed as revoked; DELETE and POST .../revoke both revoke', async () => {
    const first = await newApiKey(t.app, owner, orgA, ['read']);
    const second = await newApiKey(t.app, owner, orgA, ['read']);
    await withKey(t.app, first.key).get('/api/v1/projects').expect(200);
    await as(t.app, owner, orgA).delete(`${KEYS}/${first.id}`).expect(204);
    const revoked = await as(t.app, owner, orgA).post(`${KEYS}/${second.id}/revoke`).expect(200);
    expect(revoked.body).toMatchObject({ id: second.id, isRevoked: true });
    expect(Date.parse(revoked.body.revokedAt)).toBeLessThanOrEqual(Date.now());
    const firstFailure = await withKey(t.app, first.key).get('/api/v1/projects');
    expectProblem(firstFailure, 401);
    expect(firstFailure.body.detail).toMatch(/revoked/);
    expectProblem(await withKey(t.app, second.key).get('/api/v1/projects'), 401);
    // Revoking again changes nothing.
    const again = await as(t.app, owner, orgA).post(`${KEYS}/${second.id}/revoke`).expect(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const listed = (await as(t.app, owner, orgA).get(`${KEYS}?pageSize=100`).expect(200)).body.data;
    expect(listed.find((k: { id: string }) => k.id === first.id)).toMatchObject({ isRevoked: true });
  });

  test('a revoke on another instance stops the key too: the database checks it on every request', async () => {
    const other = t.variant({ apiKeyUsage: usage });
    const { id, key } = await newApiKey(t.app, owner, orgA, ['read']);
    await withKey(other, key).get('/api/v1/projects').expect(200);
    await as(t.app, owner, orgA).delete(`${KEYS}/${id}`).expect(204);
    // `other` still has the key in its cache; begin_request refuses it.
    expectProblem(await withKey(other, key).get('/api/v1/projects'), 401);
  });

  test('expired keys are refused (401), and listed as expired', async () => {
    const { id, key } = await newApiKey(t.app, owner, orgA, ['read'], { expiration: 'custom', customExpirationDays: 1 });
    await withKey(t.app, key).get('/api/v1/projects').expect(200);
    // Three days later (the guard keeps created_at as it was; replica mode skips it for this one statement).
    await t.admin.query(
      `begin; set local session_replication_role = replica;
       update public.api_keys set created_at = now() - interval '3 days', expires_at = now() - interval '1 second' where id = '${id}';
       commit`,
    );
    const res = await withKey(t.variant({ apiKeyUsage: usage }), key).get('/api/v1/projects');
    expectProblem(res, 401);
    expectProblem(await withKey(t.app, key).get('/api/v1/projects'), 401);
    expect((await as(t.app, owner, orgA).get(`${KEYS}/${id}`).expect(200)).body).toMatchObject({ isExpired: true, isRevoked: false });
  });

  test('a session token cannot bring an api_key claim of its own (401)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = signedToken({ sub: owner.userId, email: owner.email, role: 'authenticated', aud: 'authenticated', exp: now + 600, api_key: { id: randomUUID(), organization_id: orgA, scope: 'admin' } });
    expectProblem(await request(t.app).get('/api/v1/projects').set('Authorization', `Bearer ${forged}`), 401);
  });

  test('unknown and malformed keys are 401', async () => {
    expectProblem(await withKey(t.app, `dtk_live_${'a'.repeat(12)}_${'B'.repeat(43)}`).get('/api/v1/projects'), 401);
    expectProblem(await withKey(t.app, 'dtk_live_nope').get('/api/v1/projects'), 401);
  });

  test('a key stops working when its creator is no longer an active member', async () => {
    const creator = await newUser(t.app, 'keys-leaving');
    await addMember(t, orgA, creator, 'admin');
    const { key } = await newApiKey(t.app, creator, orgA, ['read']);
    await withKey(t.app, key).get('/api/v1/projects').expect(200);
    await t.admin.query("update public.organization_members set status = 'inactive' where organization_id = $1 and user_id = $2", [orgA, creator.userId]);
    expectProblem(await withKey(t.app, key).get('/api/v1/projects'), 401);
    await t.admin.query('delete from public.organization_members where organization_id = $1 and user_id = $2', [orgA, creator.userId]);
    expectProblem(await withKey(t.app, key).get('/api/v1/projects'), 401);
  });

  test('bad input is a 400 and creates nothing', async () => {
    const count = async () => Number((await t.admin.query('select count(*) from public.api_keys where organization_id = $1', [orgA])).rows[0].count);
    const before = await count();
    const api = as(t.app, owner, orgA);
    for (const body of [
      {},
      { name: 'x', scopes: [], expiration: 'never' },
      { name: 'x', scopes: ['root'], expiration: 'never' },
      { name: 'x', scopes: ['read', 'read'], expiration: 'never' },
      { name: 'x', scopes: ['read'], expiration: '45' },
      { name: '', scopes: ['read'], expiration: 'never' },
      { name: '   ', scopes: ['read'], expiration: 'never' },
      { name: 'x', scopes: ['read'], expiration: 'never', extra: 1 },
      { name: 'x', scopes: ['read'], expiration: '30', customExpirationDays: 5 },
      { name: 'x', scopes: ['read'], expiration: 'custom' },
      { name: 'x', scopes: ['read'], expiration: 'custom', customExpirationDays: 5, expiresAt: '2099-01-01T00:00:00Z' },
      { name: 'x', scopes: ['read'], expiration: 'custom', expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'x', scopes: ['read'], expiration: 'custom', customExpirationDays: 0 },
    ]) {
      expectProblem(await api.post(KEYS).send(body), 400);
    }
    expectProblem(await api.get(`${KEYS}/not-a-uuid`), 400);
    expect(await count()).toBe(before);
  });
});

describe('what a key may do', () => {
  test('read: GET works, anything else is 403 before any work, and a forced write is refused by the database', async () => {
    const { key } = await newApiKey(t.app, owner, orgA, ['read']);
    const list = await withKey(t.app, key).get('/api/v1/projects').expect(200);
    expect(list.body.data.map((p: { id: string }) => p.id)).toContain(projectA);
    const refused = await withKey(t.app, key).post('/api/v1/projects').send({ name: 'By a read key', type: 'manual' });
    expectProblem(refused, 403);
    expectProblem(await withKey(t.app, key).post('/api/v1/events').send({ eventName: 'ci.build' }), 403);
    expectProblem(await withKey(t.app, key).delete(`/api/v1/projects/${projectA}`), 403);
    // Even a handler that forgot the scope could not write: the transaction is read-only.
    const { id } = await newApiKey(t.app, owner, orgA, ['read']);
    const forced = await withRequestTransaction(t.pool, keyIdentity(owner, { id, organizationId: orgA, scope: 'read' }), { requestedOrganizationId: orgA, statementTimeoutMs: 5000, meterApiCall: false }, (tx) =>
      tx.query('update public.projects set name = name where id = $1', [projectA]),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(forced).toMatchObject({ code: '25006' });
    // ... and it would reach the client as the scope's 403, not a 500.
    expect(problemFromDatabaseError(forced as Parameters<typeof problemFromDatabaseError>[0])?.status).toBe(403);
  });

  test("write: member-level writes work; an owner's write key cannot do what only owners and admins may", async () => {
    const { key } = await newApiKey(t.app, owner, orgA, ['write']);
    const made = await withKey(t.app, key).post('/api/v1/projects').send({ name: `By key ${randomUUID().slice(0, 6)}`, type: 'manual' }).expect(201);
    // It acts as its creator.
    expect((await t.admin.query('select user_id from public.projects where id = $1', [made.body.id])).rows[0].user_id).toBe(owner.userId);
    // Managing keys needs the admin scope.
    expectProblem(await withKey(t.app, key).get(KEYS), 403);
    expectProblem(await withKey(t.app, key).post(KEYS).send({ name: 'Nested', scopes: ['admin'], expiration: 'never' }), 403);
    // The database sees the capped role too, whatever the API would ask: member, and no key rows.
    const { id } = await newApiKey(t.app, owner, orgA, ['write']);
    const seen = await withRequestTransaction(t.pool, keyIdentity(owner, { id, organizationId: orgA, scope: 'write' }), { requestedOrganizationId: orgA, statementTimeoutMs: 5000, meterApiCall: false }, async (tx) => ({
      role: (await tx.query('select app.current_organization_role()::text as role')).rows[0]!.role,
      keys: (await tx.query('select count(*)::int as n from public.api_keys')).rows[0]!.n,
      orgB: (await tx.query('select app.organization_role($1)::text as role', [orgB])).rows[0]!.role,
    }));
    expect(seen).toEqual({ role: 'member', keys: 0, orgB: null });
  });

  test('admin: an admin-scope key manages keys but never sees another key\'s secret', async () => {
    const { key } = await newApiKey(t.app, owner, orgA, ['admin']);
    const other = await newApiKey(t.app, owner, orgA, ['read']);
    const listed = await withKey(t.app, key).get(`${KEYS}?pageSize=100`).expect(200);
    expect(listed.body.data.some((k: { id: string }) => k.id === other.id)).toBe(true);
    expect(JSON.stringify(listed.body)).not.toContain(other.key);
    const made = await withKey(t.app, key).post(KEYS).send({ name: 'Made by a key', scopes: ['read'], expiration: '60' }).expect(201);
    expect(made.body.createdBy).toBe(owner.userId);
    await withKey(t.app, key).delete(`${KEYS}/${made.body.id}`).expect(204);
  });

  test('a CI system sends POST /events with a write key', async () => {
    const { key } = await newApiKey(t.app, owner, orgA, ['write']);
    const res = await withKey(t.app, key).post('/api/v1/events').send({ eventName: 'deployment.finished', source: 'ci', payload: { version: '1.2.3' } }).expect(200);
    expect(res.body).toHaveProperty('executions');
  });
});

describe('isolation', () => {
  test("a key of A sees nothing of B and cannot act in B with X-Organization-Id (404)", async () => {
    const { key } = await newApiKey(t.app, owner, orgA, ['admin']);
    // The owner is also a member of B: the key still cannot reach it.
    await addMember(t, orgB, owner, 'admin');
    try {
      expectProblem(await withKey(t.app, key, orgB).get('/api/v1/projects'), 404);
      expectProblem(await withKey(t.app, key).get(`/api/v1/projects/${projectB}`), 404);
      expectProblem(await withKey(t.app, key, orgB).post('/api/v1/projects').send({ name: 'Into B', type: 'manual' }), 404);
      const mine = (await withKey(t.app, key).get('/api/v1/projects?pageSize=100').expect(200)).body.data.map((p: { id: string }) => p.id);
      expect(mine).not.toContain(projectB);
      const orgs = (await withKey(t.app, key).get('/api/v1/organizations').expect(200)).body;
      const orgIds = (orgs.data ?? orgs).map((o: { id: string }) => o.id);
      expect(orgIds).toContain(orgA);
      expect(orgIds).not.toContain(orgB);
    } finally {
      await t.admin.query('delete from public.organization_members where organization_id = $1 and user_id = $2', [orgB, owner.userId]);
    }
  });

  test("another organization's keys are 404, never listed", async () => {
    const theirs = await newApiKey(t.app, outsider, orgB, ['read']);
    expectProblem(await as(t.app, owner, orgA).get(`${KEYS}/${theirs.id}`), 404);
    expectProblem(await as(t.app, owner, orgA).delete(`${KEYS}/${theirs.id}`), 404);
    expectProblem(await as(t.app, owner, orgA).post(`${KEYS}/${theirs.id}/revoke`), 404);
    const listed = (await as(t.app, owner, orgA).get(`${KEYS}?pageSize=100`).expect(200)).body.data.map((k: { id: string }) => k.id);
    expect(listed).not.toContain(theirs.id);
    expectProblem(await as(t.app, owner, orgB).get(KEYS), 404);
    await withKey(t.app, theirs.key).get('/api/v1/projects').expect(200);
  });
});

describe('usage', () => {
  test('lastUsedAt and usageCount show up after a flush, not one write per request', async () => {
    const { id, key } = await newApiKey(t.app, owner, orgA, ['read']);
    const read = async () => (await as(t.app, owner, orgA).get(`${KEYS}/${id}`).expect(200)).body;
    expect(await read()).toMatchObject({ usageCount: 0, lastUsedAt: null });
    const started = Date.now();
    for (let i = 0; i < 3; i += 1) await withKey(t.app, key).get('/api/v1/projects').expect(200);
    expect(await read()).toMatchObject({ usageCount: 0, lastUsedAt: null });
    await usage.flush();
    const after = await read();
    expect(after.usageCount).toBe(3);
    expect(Date.parse(after.lastUsedAt)).toBeGreaterThanOrEqual(started - 1000);
    await withKey(t.app, key).get('/api/v1/projects').expect(200);
    await usage.flush();
    expect((await read()).usageCount).toBe(4);
  });
});

describe("Supabase's legacy keys", () => {
  const legacy = (role: string, secret?: string) => {
    const now = Math.floor(Date.now() / 1000);
    return signedLegacy({ iss: 'supabase', ref: 'abcdefghijklmnopqrst', role, iat: now, exp: now + 10 * 365 * 86400 }, secret);
  };

  test('the service_role key (no sub, no aud) is a back-office token; the anon key and a foreign signature are refused', async () => {
    const service = legacy('service_role');
    const res = await request(t.app).get('/api/v1/plans').set('Authorization', `Bearer ${service}`).expect(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    // It acts as service_role: back-office routes take it with X-Organization-Id.
    const started = await as(t.app, owner, orgA).post(`/api/v1/projects/${projectA}/ingestions`).send({}).expect(201);
    await request(t.app)
      .patch(`/api/v1/projects/${projectA}/ingestions/${started.body.id}`)
      .set('Authorization', `Bearer ${service}`)
      .send({ progressPercent: 5 })
      .expect(200);
    await as(t.app, owner, orgA).post(`/api/v1/projects/${projectA}/cancel-ingestion`).expect(200);
    expectProblem(await request(t.app).get('/api/v1/plans').set('Authorization', `Bearer ${legacy('anon')}`), 401);
    expectProblem(await request(t.app).get('/api/v1/plans').set('Authorization', `Bearer ${legacy('service_role', 'another-secret-of-32-characters!!')}`), 401);
  });
});

function signedLegacy(claims: Record<string, unknown>, secret?: string): string {
  return secret ? signedToken(claims, secret) : signedToken(claims);
}

/** The identity the API gives a request made with key `id` of `user`. */
function keyIdentity(user: TestUser, apiKey: ApiKeyIdentity): Identity {
  return { role: 'authenticated', userId: user.userId, email: user.email, claims: apiKeyClaims({ id: user.userId, email: user.email }, apiKey), apiKey };
}
