import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { addMember, addProjectMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let orgId: string;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  orgId = await newOrganization(t.app, alice, 'Projects');
  await addMember(t, orgId, bob, 'member');
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);

async function createProject(user: TestUser, body: Record<string, unknown> = {}) {
  const res = await api(user)
    .post('/api/v1/projects')
    .send({ name: `Project ${randomUUID().slice(0, 8)}`, type: 'repository', ...body });
  expect(res.status).toBe(201);
  return res.body;
}

describe('POST /api/v1/projects', () => {
  test('creates with defaults; the creator becomes its first member (admin)', async () => {
    const res = await api(alice).post('/api/v1/projects').send({ name: 'Checkout Service', type: 'repository' }).expect(201);
    expect(res.body).toMatchObject({
      name: 'Checkout Service',
      organizationId: orgId,
      userId: alice.userId,
      type: 'repository',
      status: 'draft',
      privacy: 'private',
      chunkingStrategy: 'semantic',
      includeMetadata: true,
      anonymizeSecrets: true,
      customSettings: {},
      totalRepos: 0,
      totalFiles: 0,
      description: null,
    });
    expect(res.headers.location).toBe(`/api/v1/projects/${res.body.id}`);
    expect(res.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const members = await t.admin.query('select user_id, role from public.project_members where project_id = $1', [res.body.id]);
    expect(members.rows).toEqual([{ user_id: alice.userId, role: 'admin' }]);
  });

  test('names are unique per organization regardless of case: 409', async () => {
    await createProject(alice, { name: 'Unique Name' });
    const clash = await api(bob).post('/api/v1/projects').send({ name: 'UNIQUE name', type: 'files' });
    expectProblem(clash, 409);
    expect(clash.body.errors[0].path).toBe('/body/name');
    // Another organization may use the same name.
    await as(t.app, alice, alice.personalOrganizationId).post('/api/v1/projects').send({ name: 'Unique Name', type: 'files' }).expect(201);
  });

  test.each([
    ['too short', { name: 'ab', type: 'manual' }],
    ['too long', { name: 'x'.repeat(51), type: 'manual' }],
    ['surrounding spaces', { name: ' Spaced ', type: 'manual' }],
    ['unknown type', { name: 'Fine Name', type: 'svn' }],
    ['missing type', { name: 'Fine Name' }],
    ['unknown field', { name: 'Fine Name', type: 'manual', status: 'active' }],
    ['wrong field type', { name: 'Fine Name', type: 'manual', includeMetadata: 'yes' }],
    ['settings not an object', { name: 'Fine Name', type: 'manual', customSettings: [1, 2] }],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const before = await t.admin.query('select count(*)::int as n from public.projects where organization_id = $1', [orgId]);
    const res = await api(alice).post('/api/v1/projects').send(body);
    expectProblem(res, 400);
    expect(res.body.errors.length).toBeGreaterThan(0);
    const after = await t.admin.query('select count(*)::int as n from public.projects where organization_id = $1', [orgId]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  test('401 without a token, 404 for an organization the caller is not in', async () => {
    expectProblem(await request(t.app).post('/api/v1/projects').send({ name: 'Nope Nope', type: 'manual' }), 401);
    const stranger = await newUser(t.app, 'stranger');
    expectProblem(await as(t.app, stranger, orgId).post('/api/v1/projects').send({ name: 'Nope Nope', type: 'manual' }), 404);
  });
});

describe('GET /api/v1/projects/{projectId}', () => {
  test('returns the project; 404 for an unknown id; 400 for a malformed one', async () => {
    const created = await createProject(alice, { description: 'Keeps the lights on', customSettings: { depth: 2 } });
    const res = await api(alice).get(`/api/v1/projects/${created.id}`).expect(200);
    expect(res.body).toEqual(created);
    expectProblem(await api(alice).get(`/api/v1/projects/${randomUUID()}`), 404);
    expectProblem(await api(alice).get('/api/v1/projects/12345'), 400);
  });

  test('private projects are hidden from members who are not on them; shared ones are visible', async () => {
    const hidden = await createProject(alice, { privacy: 'private' });
    const open = await createProject(alice, { privacy: 'shared' });
    expectProblem(await api(bob).get(`/api/v1/projects/${hidden.id}`), 404);
    await api(bob).get(`/api/v1/projects/${open.id}`).expect(200);
  });
});

describe('PATCH /api/v1/projects/{projectId}', () => {
  test('the creator edits; updatedAt moves; unchanged fields stay', async () => {
    const created = await createProject(alice, { description: 'before' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await api(alice)
      .patch(`/api/v1/projects/${created.id}`)
      .send({ description: null, privacy: 'shared', customSettings: { maxDepth: 3 } })
      .expect(200);
    expect(res.body).toMatchObject({ description: null, privacy: 'shared', customSettings: { maxDepth: 3 }, name: created.name });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));
  });

  test('a viewer and an auditor can read but not edit (403); a manager can edit', async () => {
    const created = await createProject(alice, { privacy: 'private' });
    for (const role of ['viewer', 'auditor'] as const) {
      const user = await newUser(t.app, role);
      await addMember(t, orgId, user, 'member');
      await addProjectMember(t, created.id, user, role);
      await api(user).get(`/api/v1/projects/${created.id}`).expect(200);
      expectProblem(await api(user).patch(`/api/v1/projects/${created.id}`).send({ name: 'Taken Over' }), 403);
      expectProblem(await api(user).delete(`/api/v1/projects/${created.id}`), 403);
    }
    const manager = await newUser(t.app, 'manager');
    await addMember(t, orgId, manager, 'member');
    await addProjectMember(t, created.id, manager, 'manager');
    await api(manager).patch(`/api/v1/projects/${created.id}`).send({ chunkingStrategy: 'fixed' }).expect(200);
    const row = await t.admin.query('select name, chunking_strategy from public.projects where id = $1', [created.id]);
    expect(row.rows[0]).toEqual({ name: created.name, chunking_strategy: 'fixed' });
  });

  test('a member of the organization may not edit a shared project they are not on (403)', async () => {
    const created = await createProject(alice, { privacy: 'shared' });
    expectProblem(await api(bob).patch(`/api/v1/projects/${created.id}`).send({ description: 'mine now' }), 403);
  });

  test('renaming onto an existing name is 409; empty body and unknown fields are 400', async () => {
    const first = await createProject(alice, { name: 'Rename Target' });
    const second = await createProject(alice);
    expectProblem(await api(alice).patch(`/api/v1/projects/${second.id}`).send({ name: 'rename target' }), 409);
    expectProblem(await api(alice).patch(`/api/v1/projects/${second.id}`).send({}), 400);
    expectProblem(await api(alice).patch(`/api/v1/projects/${second.id}`).send({ userId: bob.userId }), 400);
    expectProblem(await api(alice).patch(`/api/v1/projects/${randomUUID()}`).send({ name: 'Whatever' }), 404);
    expect((await api(alice).get(`/api/v1/projects/${first.id}`).expect(200)).body.name).toBe('Rename Target');
  });
});

describe('DELETE /api/v1/projects/{projectId}', () => {
  test('the creator deletes; repositories, members, invitations, ingestions and files go with it', async () => {
    const created = await createProject(alice);
    await t.admin.query(
      `insert into public.project_repositories (project_id, provider, repository_url, repository_name) values ($1, 'github', 'https://github.com/acme/api', 'acme/api')`,
      [created.id],
    );
    await t.admin.query(
      `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key)
       values ($1, 'a.md', 'docs/a.md', 'text/markdown', 10, repeat('a', 64), 'k1')`,
      [created.id],
    );
    await t.admin.query(`insert into public.ingestion_progress (project_id) values ($1)`, [created.id]);
    await t.admin.query(
      `insert into public.project_invitations (project_id, email, token_hash) values ($1, 'x@example.test', sha256('t'::bytea))`,
      [created.id],
    );
    const counters = await t.admin.query('select total_repos, total_files from public.projects where id = $1', [created.id]);
    expect(counters.rows[0]).toEqual({ total_repos: 1, total_files: 1 });

    await api(alice).delete(`/api/v1/projects/${created.id}`).expect(204);
    expectProblem(await api(alice).get(`/api/v1/projects/${created.id}`), 404);
    for (const table of ['project_repositories', 'project_files', 'ingestion_progress', 'project_invitations', 'project_members']) {
      const left = await t.admin.query(`select count(*)::int as n from public.${table} where project_id = $1`, [created.id]);
      expect({ table, n: left.rows[0].n }).toEqual({ table, n: 0 });
    }
    expectProblem(await api(alice).delete(`/api/v1/projects/${created.id}`), 404);
  });

  test('a member who did not create it gets 403 and the project stays', async () => {
    const created = await createProject(alice, { privacy: 'shared' });
    expectProblem(await api(bob).delete(`/api/v1/projects/${created.id}`), 403);
    await api(alice).get(`/api/v1/projects/${created.id}`).expect(200);
  });
});

describe('POST /api/v1/projects/validate-name', () => {
  test('judges rules and availability without storing anything', async () => {
    const existing = await createProject(alice, { name: 'Taken Name', privacy: 'private' });
    // bob cannot see the private project, yet its name is still taken for him.
    const taken = await api(bob).post('/api/v1/projects/validate-name').send({ name: 'taken name' }).expect(200);
    // The frontend shows a name as fine when valid is true: a taken name is not valid, and error says why.
    expect(taken.body).toMatchObject({ valid: false, available: false, error: 'A project with this name already exists in this organization.' });
    expect(taken.body.reasons).toEqual([taken.body.error]);

    const own = await api(alice)
      .post('/api/v1/projects/validate-name')
      .send({ name: 'Taken Name', excludeProjectId: existing.id })
      .expect(200);
    expect(own.body).toEqual({ name: 'Taken Name', valid: true, available: true, error: null, reasons: [] });

    const short = await api(alice).post('/api/v1/projects/validate-name').send({ name: ' a' }).expect(200);
    expect(short.body.valid).toBe(false);
    expect(short.body.reasons).toHaveLength(2);
    expect(short.body.error).toBe(short.body.reasons[0]);

    // A name that breaks a rule and is taken: the rule comes first.
    const both = await api(bob).post('/api/v1/projects/validate-name').send({ name: 'Taken Name ' }).expect(200);
    expect(both.body).toMatchObject({ valid: false, available: false });
    expect(both.body.error).toMatch(/whitespace/);

    expectProblem(await api(alice).post('/api/v1/projects/validate-name').send({ title: 'x' }), 400);
    expectProblem(await request(t.app).post('/api/v1/projects/validate-name').send({ name: 'Whatever' }), 401);
  });
});

describe('GET /api/v1/projects', () => {
  let listOrg: string;
  beforeAll(async () => {
    listOrg = await newOrganization(t.app, alice, 'Listing');
    const make = (name: string, type: string, privacy = 'shared') =>
      as(t.app, alice, listOrg).post('/api/v1/projects').send({ name, type, privacy }).expect(201);
    await make('alpha service', 'repository');
    await make('Beta Docs', 'files');
    await make('gamma notes', 'manual', 'private');
    await make('Delta 100% done', 'repository');
    await make('Epsilon_under', 'files');
  });
  const list = (query: string) => as(t.app, alice, listOrg).get(`/api/v1/projects${query}`).expect(200);

  test('the envelope, newest first by default', async () => {
    const res = await list('');
    expect(res.body).toMatchObject({ total: 5, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(res.body.data.map((p: { name: string }) => p.name)).toEqual([
      'Epsilon_under',
      'Delta 100% done',
      'gamma notes',
      'Beta Docs',
      'alpha service',
    ]);
  });

  test('sorts by name either way, case-insensitively', async () => {
    const names = (await list('?sort=name')).body.data.map((p: { name: string }) => p.name);
    expect(names).toEqual(['alpha service', 'Beta Docs', 'Delta 100% done', 'Epsilon_under', 'gamma notes']);
    const reversed = (await list('?sort=-name')).body.data.map((p: { name: string }) => p.name);
    expect(reversed).toEqual([...names].reverse());
    expectProblem(await as(t.app, alice, listOrg).get('/api/v1/projects?sort=owner'), 400);
  });

  test('filters by type, privacy and status; searches names literally', async () => {
    expect((await list('?type=files')).body.total).toBe(2);
    expect((await list('?privacy=private')).body.data.map((p: { name: string }) => p.name)).toEqual(['gamma notes']);
    expect((await list('?status=active')).body.total).toBe(0);
    expect((await list('?search=DOCS')).body.data.map((p: { name: string }) => p.name)).toEqual(['Beta Docs']);
    // % and _ are matched as themselves, not as wildcards.
    expect((await list('?search=100%25')).body.data.map((p: { name: string }) => p.name)).toEqual(['Delta 100% done']);
    expect((await list('?search=_')).body.data.map((p: { name: string }) => p.name)).toEqual(['Epsilon_under']);
    expectProblem(await as(t.app, alice, listOrg).get('/api/v1/projects?type=svn'), 400);
  });

  test('pages do not overlap and hasMore tells when to stop', async () => {
    const first = await list('?pageSize=2&sort=name');
    const second = await list('?pageSize=2&sort=name&page=2');
    const third = await list('?pageSize=2&sort=name&page=3');
    expect([first.body.hasMore, second.body.hasMore, third.body.hasMore]).toEqual([true, true, false]);
    const ids = [...first.body.data, ...second.body.data, ...third.body.data].map((p: { id: string }) => p.id);
    expect(new Set(ids).size).toBe(5);
    const beyond = await list('?pageSize=2&page=4');
    expect(beyond.body).toMatchObject({ data: [], total: 5, hasMore: false });
  });

  test('deep offsets are refused with a 400 that says why', async () => {
    const res = await as(t.app, alice, listOrg).get('/api/v1/projects?pageSize=100&page=102');
    expectProblem(res, 400);
    expect(res.body.errors[0].path).toBe('/query/page');
  });
});

describe('hostile input never becomes a 500', () => {
  test.each([
    ['a NUL character in the description', { name: 'Nul Project', type: 'manual', description: 'a\u0000b' }],
    ['a NUL character inside customSettings', { name: 'Nul Settings', type: 'manual', customSettings: { k: 'a\u0000b' } }],
  ])('%s is refused with a 4xx and stores nothing', async (_label, body) => {
    const res = await api(alice).post('/api/v1/projects').send(body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    const stored = await t.admin.query('select count(*)::int as n from public.projects where name = $1', [body.name]);
    expect(stored.rows[0].n).toBe(0);
  });

  test('a body that is not JSON, or not an object, is a 400 or 415', async () => {
    const text = await api(alice).post('/api/v1/projects').set('Content-Type', 'text/plain').send('name=x');
    expect([400, 415]).toContain(text.status);
    expect(text.headers['content-type']).toMatch(/application\/problem\+json/);
    const array = await api(alice).post('/api/v1/projects').send([{ name: 'Array Body', type: 'manual' }]);
    expectProblem(array, 400);
  });

  test('search terms with quotes, backslashes and unicode are plain text', async () => {
    for (const term of ["'; drop table projects; --", '\\', '\u{1F600}', '%_%']) {
      const res = await api(alice).get(`/api/v1/projects?search=${encodeURIComponent(term)}`);
      expect(res.status).toBe(200);
    }
  });
});
