import request from 'supertest';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

let t: TestApp;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let orgId: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'owner');
  member = await newUser(t.app, 'member');
  outsider = await newUser(t.app, 'outsider');
  orgId = await newOrganization(t.app, owner, 'Initech');
  await addMember(t, orgId, member, 'member');
});
afterAll(() => t.close());

describe('GET /api/v1/me', () => {
  test('returns the profile and every organization with the caller role', async () => {
    const res = await as(t.app, member).get('/api/v1/me').expect(200);
    expect(res.body.email).toBe(member.email);
    const roles = Object.fromEntries(res.body.organizations.map((o: { id: string; role: string }) => [o.id, o.role]));
    expect(roles).toEqual({ [member.personalOrganizationId]: 'owner', [orgId]: 'member' });
  });

  test('401 without a token', async () => {
    expectProblem(await request(t.app).get('/api/v1/me'), 401);
  });
});

describe('organizations', () => {
  test('POST creates an organization owned by the caller', async () => {
    const res = await as(t.app, owner).post('/api/v1/organizations').send({ name: 'Umbrella' }).expect(201);
    expect(res.body).toMatchObject({ name: 'Umbrella', role: 'owner', planTier: 'free', isPersonal: false });
    expect(res.headers.location).toBe(`/api/v1/organizations/${res.body.id}`);
    const members = await t.admin.query('select user_id, role from public.organization_members where organization_id = $1', [res.body.id]);
    expect(members.rows).toEqual([{ user_id: owner.userId, role: 'owner' }]);
  });

  test('POST rejects unknown fields and bad names with 400 and creates nothing', async () => {
    // Counted among the caller's own: other suites create organizations on this database meanwhile.
    const created = 'select count(*)::int as n from public.organizations where created_by = $1';
    const before = await t.admin.query(created, [owner.userId]);
    const unknown = await as(t.app, owner).post('/api/v1/organizations').send({ name: 'Valid', plan: 'pro' });
    expectProblem(unknown, 400);
    expect(unknown.body.errors[0].path).toBe('/body/plan');
    expectProblem(await as(t.app, owner).post('/api/v1/organizations').send({ name: 'x' }), 400);
    expectProblem(await as(t.app, owner).post('/api/v1/organizations').send({ name: ' padded ' }), 400);
    expectProblem(await as(t.app, owner).post('/api/v1/organizations').send({}), 400);
    const bad = await as(t.app, owner).post('/api/v1/organizations').set('Content-Type', 'application/json').send('{"name":');
    expectProblem(bad, 400);
    const after = await t.admin.query(created, [owner.userId]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  test('GET lists only the caller organizations, paged', async () => {
    const res = await as(t.app, member).get('/api/v1/organizations?pageSize=1').expect(200);
    expect(res.body).toMatchObject({ total: 2, totalExact: true, page: 1, pageSize: 1, hasMore: true });
    expect(res.body.data).toHaveLength(1);
    const second = await as(t.app, member).get('/api/v1/organizations?pageSize=1&page=2').expect(200);
    expect(second.body.hasMore).toBe(false);
    expect(second.body.data[0].id).not.toBe(res.body.data[0].id);
    expectProblem(await as(t.app, member).get('/api/v1/organizations?pageSize=101'), 400);
    expectProblem(await as(t.app, member).get('/api/v1/organizations?page=0'), 400);
    expectProblem(await as(t.app, member).get('/api/v1/organizations?color=red'), 400);
  });

  test('GET by id: members see it with their role, outsiders get 404', async () => {
    const res = await as(t.app, member).get(`/api/v1/organizations/${orgId}`).expect(200);
    expect(res.body.role).toBe('member');
    expectProblem(await as(t.app, outsider).get(`/api/v1/organizations/${orgId}`), 404);
    expectProblem(await as(t.app, outsider).get('/api/v1/organizations/not-a-uuid'), 400);
  });

  test('PATCH: owners rename, members get 403, outsiders 404, nothing changes on refusal', async () => {
    const renamed = await as(t.app, owner).patch(`/api/v1/organizations/${orgId}`).send({ name: 'Initech Global' }).expect(200);
    expect(renamed.body.name).toBe('Initech Global');
    expect(Date.parse(renamed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(renamed.body.createdAt));

    expectProblem(await as(t.app, member).patch(`/api/v1/organizations/${orgId}`).send({ name: 'Hijacked' }), 403);
    expectProblem(await as(t.app, outsider).patch(`/api/v1/organizations/${orgId}`).send({ name: 'Hijacked' }), 404);
    expectProblem(await as(t.app, owner).patch(`/api/v1/organizations/${orgId}`).send({}), 400);
    const row = await t.admin.query('select name from public.organizations where id = $1', [orgId]);
    expect(row.rows[0].name).toBe('Initech Global');
  });
});
