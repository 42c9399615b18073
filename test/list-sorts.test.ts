import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The whitelisted sorts of the project's sub-lists, each in both directions.
let t: TestApp;
let owner: TestUser;
let org: string;
let projectId: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'sorter');
  org = await newOrganization(t.app, owner, 'Sorts');
  projectId = (await as(t.app, owner, org).post('/api/v1/projects').send({ name: 'Sorted Lists', type: 'manual' }).expect(201)).body.id;
});
afterAll(() => t.close());

const list = (path: string) => as(t.app, owner, org).get(`/api/v1/projects/${projectId}${path}`).expect(200);

test('members sort by email, case-insensitively, and by creation', async () => {
  for (const label of ['Zed', 'amy', 'Mia']) {
    const user = await newUser(t.app, label);
    await addMember(t, org, user, 'member');
    await as(t.app, owner, org).post(`/api/v1/projects/${projectId}/members`).send({ userId: user.userId, role: 'developer' }).expect(201);
  }
  const emails = (await list('/members?sort=email')).body.data.map((m: { email: string }) => m.email);
  expect(emails).toEqual([...emails].sort((a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase())));
  expect((await list('/members?sort=-email')).body.data.map((m: { email: string }) => m.email)).toEqual([...emails].reverse());
  const created = (await list('/members?sort=createdAt')).body.data.map((m: { id: string }) => m.id);
  expect((await list('/members?sort=-createdAt')).body.data.map((m: { id: string }) => m.id)).toEqual([...created].reverse());
  expect((await list('/members')).body.data[0].isCreator).toBe(true);
  expectProblem(await as(t.app, owner, org).get(`/api/v1/projects/${projectId}/members?sort=role`), 400);
});

test('invitations sort by creation and by expiry', async () => {
  const sent = await as(t.app, owner, org)
    .post(`/api/v1/projects/${projectId}/invitations`)
    .send({ emails: ['one@example.test'], expiresInDays: 20 })
    .expect(200);
  await as(t.app, owner, org).post(`/api/v1/projects/${projectId}/invitations`).send({ emails: ['two@example.test'], expiresInDays: 2 }).expect(200);
  expect(sent.body.results[0].outcome).toBe('invited');
  const byExpiry = (await list('/invitations?sort=expiresAt')).body.data.map((i: { email: string }) => i.email);
  expect(byExpiry).toEqual(['two@example.test', 'one@example.test']);
  expect((await list('/invitations?sort=-expiresAt')).body.data.map((i: { email: string }) => i.email)).toEqual(byExpiry.reverse());
  expect((await list('/invitations')).body.data.map((i: { email: string }) => i.email)).toEqual(['two@example.test', 'one@example.test']);
  expect((await list('/invitations?sort=createdAt')).body.data.map((i: { email: string }) => i.email)).toEqual(['one@example.test', 'two@example.test']);
});

test('ingestions sort by start either way', async () => {
  const first = (await as(t.app, owner, org).post(`/api/v1/projects/${projectId}/ingestions`).expect(201)).body;
  await t.admin.query(`update public.ingestion_progress set completed_at = now() where id = $1`, [first.id]);
  const second = (await as(t.app, owner, org).post(`/api/v1/projects/${projectId}/ingestions`).send({ forceReprocess: true }).expect(201)).body;
  expect((await list('/ingestions')).body.data.map((i: { id: string }) => i.id)).toEqual([second.id, first.id]);
  expect((await list('/ingestions?sort=startedAt')).body.data.map((i: { id: string }) => i.id)).toEqual([first.id, second.id]);
  expectProblem(await as(t.app, owner, org).get(`/api/v1/projects/${projectId}/ingestions?sort=phase`), 400);
});
