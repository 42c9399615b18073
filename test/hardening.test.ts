import { randomUUID } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import {
  addMember,
  addProjectMember,
  appDatabaseUrl,
  as,
  createTestApp,
  expectProblem,
  jwtSecret,
  newOrganization,
  newUser,
  signedToken,
  token,
  type TestApp,
  type TestUser,
} from './support/harness';

// Abuse cases found in review: each must be refused with a 4xx and change nothing.
let t: TestApp;
let owner: TestUser;
let manager: TestUser; // organization member, project manager
let orgAdmin: TestUser; // organization admin
let org: string;
let projectId: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'hard-owner');
  manager = await newUser(t.app, 'hard-manager');
  orgAdmin = await newUser(t.app, 'hard-admin');
  org = await newOrganization(t.app, owner, 'Hardening');
  await addMember(t, org, manager, 'member');
  await addMember(t, org, orgAdmin, 'admin');
  projectId = (await as(t.app, owner, org).post('/api/v1/projects').send({ name: 'Hardened', type: 'manual' }).expect(201)).body.id;
  await addProjectMember(t, projectId, manager, 'manager');
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, org);

test('a project manager cannot create admins through invitations', async () => {
  const res = await api(manager).post(`/api/v1/projects/${projectId}/invitations`).send({ emails: ['alt@example.test'], role: 'admin' });
  expectProblem(res, 403);
  const rows = await t.admin.query('select count(*)::int as n from public.project_invitations where project_id = $1', [projectId]);
  expect(rows.rows[0].n).toBe(0);
  await api(manager).post(`/api/v1/projects/${projectId}/invitations`).send({ emails: ['alt@example.test'], role: 'developer' }).expect(200);
});

test('service tokens reach no user endpoint, whatever organization they name', async () => {
  const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
  const send = (test: request.Test) => test.set('Authorization', `Bearer ${service}`).set('X-Organization-Id', org);
  expectProblem(await send(request(t.app).patch(`/api/v1/projects/${projectId}`).send({ name: 'Hijacked' })), 403);
  expectProblem(await send(request(t.app).delete(`/api/v1/projects/${projectId}`)), 403);
  expectProblem(await send(request(t.app).get(`/api/v1/projects/${projectId}`)), 403);
  expectProblem(await send(request(t.app).get('/api/v1/projects')), 403);
  const row = await t.admin.query('select name from public.projects where id = $1', [projectId]);
  expect(row.rows[0].name).toBe('Hardened');
});

describe('direct SQL as a signed-in user (what Supabase Data API callers can do)', () => {
  // The same role and claims, but none of this API's handlers and no selected organization.
  async function asUser<T>(user: TestUser, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: appDatabaseUrl() });
    await client.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({ sub: user.userId, email: user.email, role: 'authenticated' }),
      ]);
      await client.query('set local role authenticated');
      return await work(client);
    } finally {
      await client.query('rollback').catch(() => undefined);
      await client.end();
    }
  }

  test('an organization admin cannot change its plan, promote themselves or demote the owner', async () => {
    await expect(asUser(orgAdmin, (c) => c.query(`update public.organizations set plan_tier = 'enterprise' where id = $1`, [org]))).rejects.toMatchObject({
      code: '42501',
    });
    const promote = await asUser(orgAdmin, (c) =>
      c.query(`update public.organization_members set role = 'owner' where organization_id = $1 and user_id = $2`, [org, orgAdmin.userId]),
    ).catch((error: { code?: string }) => error);
    expect((promote as { rowCount?: number }).rowCount ?? 0).toBe(0);
    const demote = await asUser(orgAdmin, (c) =>
      c.query(`update public.organization_members set role = 'member' where organization_id = $1 and user_id = $2`, [org, owner.userId]),
    ).catch((error: { code?: string }) => error);
    expect((demote as { rowCount?: number }).rowCount ?? 0).toBe(0);
    const roles = await t.admin.query('select user_id, role from public.organization_members where organization_id = $1', [org]);
    expect(Object.fromEntries(roles.rows.map((r: { user_id: string; role: string }) => [r.user_id, r.role]))).toEqual({
      [owner.userId]: 'owner',
      [manager.userId]: 'member',
      [orgAdmin.userId]: 'admin',
    });
  });

  test('nobody rewrites their profile email or a project counter', async () => {
    await expect(asUser(manager, (c) => c.query(`update public.profiles set email = 'victim@example.test' where id = $1`, [manager.userId]))).rejects.toMatchObject({
      code: '42501',
    });
    await expect(asUser(owner, (c) => c.query(`update public.projects set total_files = 999 where id = $1`, [projectId]))).rejects.toMatchObject({
      code: '42501',
    });
  });
});

test('a timestamp the API could not write back is refused with 422, and lists keep working', async () => {
  const repo = (
    await api(owner).post(`/api/v1/projects/${projectId}/repositories`).send({ repositoryUrl: `https://github.com/acme/${randomUUID().slice(0, 8)}` }).expect(201)
  ).body;
  expectProblem(await api(owner).patch(`/api/v1/projects/${projectId}/repositories/${repo.id}`).send({ lastSyncAt: '9999-12-31T23:59:59-12:00' }), 422);
  const ok = await api(owner).patch(`/api/v1/projects/${projectId}/repositories/${repo.id}`).send({ lastSyncAt: '0050-01-01T10:00:00Z' }).expect(200);
  expect(ok.body.lastSyncAt).toBe('0050-01-01T10:00:00.000Z');
  await api(owner).get(`/api/v1/projects/${projectId}/repositories`).expect(200);
});

test('an address outside strict email syntax still gets a working profile and member list', async () => {
  const odd = signedToken({
    sub: randomUUID(),
    email: `user_${randomUUID().slice(0, 6)}@exa_mple.com`,
    role: 'authenticated',
    aud: 'authenticated',
    exp: Math.floor(Date.now() / 1000) + 600,
  });
  const me = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${odd}`).expect(200);
  await addMember(t, org, { email: me.body.email, token: odd, userId: me.body.id, personalOrganizationId: me.body.defaultOrganizationId }, 'member');
  await api(owner).post(`/api/v1/projects/${projectId}/members`).send({ userId: me.body.id, role: 'viewer' }).expect(201);
  await api(owner).get(`/api/v1/projects/${projectId}/members`).expect(200);
});

test('deleting a creator account keeps their projects with the organization', async () => {
  const creator = await newUser(t.app, 'leaver');
  await addMember(t, org, creator, 'member');
  const project = (await as(t.app, creator, org).post('/api/v1/projects').send({ name: 'Outlives Creator', type: 'manual', privacy: 'shared' }).expect(201)).body;
  await t.admin.query('delete from auth.users where id = $1', [creator.userId]);
  const after = await api(owner).get(`/api/v1/projects/${project.id}`).expect(200);
  expect(after.body.userId).toBeNull();
  await api(owner).delete(`/api/v1/projects/${project.id}`).expect(204);
});

test('a path too large to index is a 422, not a false duplicate', async () => {
  const res = await api(owner)
    .post(`/api/v1/projects/${projectId}/files`)
    .send({ name: 'wide', path: '\u{1F600}'.repeat(1024), mimeType: 'text/plain', sizeBytes: 1, checksum: 'a'.repeat(64), storageKey: 'k' });
  expectProblem(res, 422);
});

test('accepting while already a member is a 409 and leaves the invitation open', async () => {
  const invitee = await newUser(t.app, 'twice');
  const sent = await api(owner).post(`/api/v1/projects/${projectId}/invitations`).send({ emails: [invitee.email], role: 'manager' }).expect(200);
  await addMember(t, org, invitee, 'member');
  await addProjectMember(t, projectId, invitee, 'viewer');
  const res = await request(t.app)
    .post('/api/v1/invitations/accept')
    .set('Authorization', `Bearer ${token(invitee.email)}`)
    .send({ token: sent.body.results[0].token });
  expectProblem(res, 409);
  const row = await t.admin.query('select status from public.project_invitations where id = $1', [sent.body.results[0].invitation.id]);
  expect(row.rows[0].status).toBe('pending');
});

test('validate-name judges any string, NUL and line breaks included', async () => {
  const nul = await api(owner).post('/api/v1/projects/validate-name').send({ name: 'ab\u0000cd' }).expect(200);
  expect(nul.body.valid).toBe(false);
  const newline = await api(owner).post('/api/v1/projects/validate-name').send({ name: 'ab\ncd' }).expect(200);
  expect(newline.body.valid).toBe(false);
  expectProblem(await api(owner).post('/api/v1/projects').send({ name: 'ab\ncd', type: 'manual' }), 400);
});
