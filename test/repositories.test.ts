import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { addMember, as, createTestApp, expectProblem, newOrganization, newProjectMember, newUser, type ProjectRole, type TestApp, type TestUser } from './support/harness';

// alice owns the organization; bob is a plain member of it.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let orgId: string;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  orgId = await newOrganization(t.app, alice, 'Repositories');
  await addMember(t, orgId, bob, 'member');
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);
const reposOf = (projectId: string) => `/api/v1/projects/${projectId}/repositories`;

async function createProject(user: TestUser, privacy: 'private' | 'shared' = 'private'): Promise<{ id: string }> {
  const res = await api(user).post('/api/v1/projects').send({ name: `Repos ${randomUUID().slice(0, 8)}`, type: 'repository', privacy });
  expect(res.status).toBe(201);
  return res.body;
}

async function connect(projectId: string, body: Record<string, unknown>, user = alice) {
  const res = await api(user).post(reposOf(projectId)).send(body);
  expect(res.status).toBe(201);
  return res.body;
}

/** A project member with a role, arranged directly. */
const projectMember = (projectId: string, role: ProjectRole) => newProjectMember(t, orgId, projectId, role);

async function storedRepositories(projectId: string) {
  const rows = await t.admin.query(
    `select id, provider::text, repository_url, repository_name, branch, status::text, last_commit_hash, updated_at
     from public.project_repositories where project_id = $1 order by created_at, id`,
    [projectId],
  );
  return rows.rows;
}

async function totalRepos(projectId: string): Promise<number> {
  const row = await t.admin.query('select total_repos from public.projects where id = $1', [projectId]);
  return row.rows[0].total_repos;
}

describe('POST /api/v1/repositories/validate-url', () => {
  const valid = (provider: string, owner: string, repository: string, normalizedUrl: string) => ({
    valid: true,
    provider,
    owner,
    repository,
    normalizedUrl,
    reason: null,
  });

  test.each([
    ['github', 'https://github.com/acme/payments-api', valid('github', 'acme', 'payments-api', 'https://github.com/acme/payments-api')],
    ['github with .git', 'https://github.com/acme/payments-api.git', valid('github', 'acme', 'payments-api', 'https://github.com/acme/payments-api')],
    ['github with a trailing slash', 'https://github.com/acme/payments-api/', valid('github', 'acme', 'payments-api', 'https://github.com/acme/payments-api')],
    ['http, query and fragment', 'http://github.com/acme/api?tab=readme#top', valid('github', 'acme', 'api', 'https://github.com/acme/api')],
    ['a pasted page of a github repository', 'https://github.com/acme/api/tree/main/src', valid('github', 'acme', 'api', 'https://github.com/acme/api')],
    ['an upper-case scheme and host', 'HTTPS://GitHub.com/Acme/Api', valid('github', 'Acme', 'Api', 'https://github.com/Acme/Api')],
    ['gitlab', 'https://gitlab.com/acme/web.git', valid('gitlab', 'acme', 'web', 'https://gitlab.com/acme/web')],
    ['gitlab nested groups', 'https://gitlab.com/acme/platform/backend/billing', valid('gitlab', 'acme/platform/backend', 'billing', 'https://gitlab.com/acme/platform/backend/billing')],
    ['a gitlab page inside a project', 'https://gitlab.com/acme/sub/web/-/tree/main', valid('gitlab', 'acme/sub', 'web', 'https://gitlab.com/acme/sub/web')],
    ['self-hosted gitlab', 'https://gitlab.acme.internal:8443/infra/tools.git/', valid('gitlab', 'infra', 'tools', 'https://gitlab.acme.internal:8443/infra/tools')],
    ['bitbucket', 'https://bitbucket.org/acme/mobile-app.git', valid('bitbucket', 'acme', 'mobile-app', 'https://bitbucket.org/acme/mobile-app')],
    ['azure dev.azure.com', 'https://dev.azure.com/acme/Payments/_git/ledger', valid('azure', 'acme/Payments', 'ledger', 'https://dev.azure.com/acme/Payments/_git/ledger')],
    ['azure with a space in the project', 'https://dev.azure.com/acme/Big%20Project/_git/api', valid('azure', 'acme/Big Project', 'api', 'https://dev.azure.com/acme/Big%20Project/_git/api')],
    ['azure visualstudio.com', 'https://acme.visualstudio.com/Payments/_git/ledger.git', valid('azure', 'acme/Payments', 'ledger', 'https://acme.visualstudio.com/Payments/_git/ledger')],
    ['surrounding spaces', '  https://github.com/acme/api  ', valid('github', 'acme', 'api', 'https://github.com/acme/api')],
  ])('valid: %s', async (_label, url, expected) => {
    const res = await api(alice).post('/api/v1/repositories/validate-url').send({ url }).expect(200);
    expect(res.body).toEqual({ url, ...expected });
  });

  test.each([
    ['ftp', 'ftp://github.com/acme/api', /only http and https/i],
    ['ssh (scp form)', 'git@github.com:acme/api.git', /use the https url/i],
    ['ssh (URL form)', 'ssh://git@github.com/acme/api.git', /use the https url/i],
    ['credentials', 'https://user:secret@github.com/acme/api', /user name or password/i],
    ['a user name alone', 'https://token@github.com/acme/api', /user name or password/i],
    ['an unknown host', 'https://example.com/acme/api', /example\.com is not a recognised git provider/i],
    ['no repository', 'https://github.com/acme', /no repository/i],
    ['no owner', 'https://github.com/', /no owner/i],
    ['only .git as the repository', 'https://bitbucket.org/acme/.git', /no repository/i],
    ['gitlab without a project', 'https://gitlab.com/acme', /no project/i],
    ['azure without _git', 'https://dev.azure.com/acme/Payments/ledger', /_git/],
    ['azure without a repository', 'https://dev.azure.com/acme/Payments/_git', /no repository/i],
    ['garbage text', 'not a url at all', /not a url/i],
    ['no scheme', 'github.com/acme/api', /not a url/i],
    ['the empty string', '', /empty/i],
    ['a space inside', 'https://github.com/acme/my api', /spaces/i],
    ['backslashes', 'https://github.com\\acme\\api', /backslashes/i],
    ['too long', `https://github.com/acme/${'x'.repeat(500)}`, /longer than 500/i],
  ])('not valid: %s', async (_label, url, reason) => {
    const res = await api(alice).post('/api/v1/repositories/validate-url').send({ url }).expect(200);
    expect(res.body).toEqual({ url, valid: false, provider: null, owner: null, repository: null, normalizedUrl: null, reason: expect.any(String) });
    expect(res.body.reason).toMatch(reason);
  });

  test('stores nothing; 400 only when the body breaks the schema; 401 without a token', async () => {
    // In the caller's organization: other suites add repositories on the shared database meanwhile.
    const stored = 'select count(*)::int as n from public.project_repositories where organization_id = $1';
    const before = await t.admin.query(stored, [orgId]);
    await api(alice).post('/api/v1/repositories/validate-url').send({ url: 'https://github.com/acme/api' }).expect(200);
    const after = await t.admin.query(stored, [orgId]);
    expect(after.rows[0].n).toBe(before.rows[0].n);

    for (const body of [{}, { url: 'https://github.com/a/b', extra: true }, { url: 'x'.repeat(2001) }, [{ url: 'https://github.com/a/b' }]]) {
      const res = await api(alice).post('/api/v1/repositories/validate-url').send(body);
      expectProblem(res, 400);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expectProblem(await request(t.app).post('/api/v1/repositories/validate-url').send({ url: 'https://github.com/a/b' }), 401);
  });
  test('a URL that is not a string is a 400, never coerced to text', async () => {
    for (const body of [{ url: 42 }, { url: null }, { url: true }]) {
      expectProblem(await api(alice).post('/api/v1/repositories/validate-url').send(body), 400);
    }
  });
});

describe('POST /api/v1/projects/{projectId}/repositories', () => {
  test('connects with provider and name taken from the URL; Location; totalRepos follows', async () => {
    const project = await createProject(alice);
    const res = await api(alice).post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/acme/payments-api.git', excludePaths: ['vendor/**'] }).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      projectId: project.id,
      provider: 'github',
      repositoryUrl: 'https://github.com/acme/payments-api',
      repositoryName: 'acme/payments-api',
      branch: 'main',
      status: 'pending',
      lastSyncAt: null,
      lastCommitHash: null,
      fileCount: 0,
      includePaths: [],
      excludePaths: ['vendor/**'],
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.any(String),
    });
    expect(res.headers.location).toBe(`/api/v1/projects/${project.id}/repositories/${res.body.id}`);
    await api(alice).get(res.headers.location!).expect(200);
    expect(await totalRepos(project.id)).toBe(1);
    const project2 = (await api(alice).get(`/api/v1/projects/${project.id}`).expect(200)).body;
    expect(project2.totalRepos).toBe(1);
  });

  test('an explicit name, branch and include paths are kept; nested gitlab and azure names', async () => {
    const project = await createProject(alice);
    const named = await connect(project.id, {
      repositoryUrl: 'https://github.com/acme/api',
      provider: 'github',
      repositoryName: 'Payments API',
      branch: 'release/2.x',
      includePaths: ['src/**', 'docs/*.md'],
    });
    expect(named).toMatchObject({ repositoryName: 'Payments API', branch: 'release/2.x', includePaths: ['src/**', 'docs/*.md'], excludePaths: [] });
    const nested = await connect(project.id, { repositoryUrl: 'https://gitlab.com/acme/platform/billing.git' });
    expect(nested).toMatchObject({ provider: 'gitlab', repositoryName: 'acme/platform/billing', repositoryUrl: 'https://gitlab.com/acme/platform/billing' });
    const azure = await connect(project.id, { repositoryUrl: 'https://acme.visualstudio.com/Payments/_git/ledger' });
    expect(azure).toMatchObject({ provider: 'azure', repositoryName: 'acme/Payments/ledger' });
    const bitbucket = await connect(project.id, { repositoryUrl: 'http://bitbucket.org/acme/mobile/' });
    expect(bitbucket).toMatchObject({ provider: 'bitbucket', repositoryName: 'acme/mobile', repositoryUrl: 'https://bitbucket.org/acme/mobile' });
    expect(await totalRepos(project.id)).toBe(4);
  });

  test('a self-hosted server is accepted when the provider is named; the name comes from the path', async () => {
    const project = await createProject(alice);
    const res = await connect(project.id, { repositoryUrl: 'http://git.acme.internal/team/tools.git/?x=1', provider: 'gitlab' });
    expect(res).toMatchObject({ provider: 'gitlab', repositoryUrl: 'http://git.acme.internal/team/tools', repositoryName: 'team/tools' });
    // Without the provider the same URL is refused: nothing says what it is.
    const refused = await api(alice).post(reposOf(project.id)).send({ repositoryUrl: 'https://git.acme.internal/team/other' });
    expectProblem(refused, 422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: '/body/repositoryUrl' })]);
    expect(refused.body.detail).toMatch(/name the provider/i);
  });

  test.each([
    ['an unknown host without a provider', { repositoryUrl: 'https://example.com/acme/api' }, '/body/repositoryUrl'],
    ['a github URL without a repository', { repositoryUrl: 'https://github.com/acme' }, '/body/repositoryUrl'],
    ['the same, even with a provider', { repositoryUrl: 'https://github.com/acme', provider: 'github' }, '/body/repositoryUrl'],
    ['credentials in the URL', { repositoryUrl: 'https://me:hunter2@github.com/acme/api' }, '/body/repositoryUrl'],
    ['credentials on a self-hosted server', { repositoryUrl: 'https://me:hunter2@git.acme.internal/a/b', provider: 'gitlab' }, '/body/repositoryUrl'],
    ['a self-hosted URL without a path', { repositoryUrl: 'https://git.acme.internal/', provider: 'gitlab' }, '/body/repositoryUrl'],
    ['a provider that contradicts the URL', { repositoryUrl: 'https://github.com/acme/api', provider: 'gitlab' }, '/body/provider'],
    ['a derived name over 200 characters', { repositoryUrl: `https://gitlab.com/${'g'.repeat(150)}/${'p'.repeat(100)}` }, '/body/repositoryName'],
  ])('422 for %s, with a field error, and nothing is stored', async (_label, body, path) => {
    const project = await createProject(alice);
    const res = await api(alice).post(reposOf(project.id)).send(body);
    expectProblem(res, 422);
    expect(res.body.errors).toEqual([expect.objectContaining({ path })]);
    expect(await storedRepositories(project.id)).toEqual([]);
    expect(await totalRepos(project.id)).toBe(0);
  });

  test.each([
    ['an empty body', {}],
    ['a missing URL', { branch: 'main' }],
    ['an ftp URL', { repositoryUrl: 'ftp://github.com/acme/api' }],
    ['a URL with a space', { repositoryUrl: 'https://github.com/acme/my api' }],
    ['a URL over 500 characters', { repositoryUrl: `https://github.com/acme/${'x'.repeat(480)}` }],
    ['an unknown provider', { repositoryUrl: 'https://github.com/acme/api', provider: 'svn' }],
    ['a branch with a space', { repositoryUrl: 'https://github.com/acme/api', branch: 'my branch' }],
    ['an empty name', { repositoryUrl: 'https://github.com/acme/api', repositoryName: '' }],
    ['include paths not an array', { repositoryUrl: 'https://github.com/acme/api', includePaths: 'src/**' }],
    ['an empty path pattern', { repositoryUrl: 'https://github.com/acme/api', excludePaths: [''] }],
    ['an unknown field', { repositoryUrl: 'https://github.com/acme/api', status: 'connected' }],
    ['a field owned by the database', { repositoryUrl: 'https://github.com/acme/api', fileCount: 3 }],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const project = await createProject(alice);
    const res = await api(alice).post(reposOf(project.id)).send(body);
    expectProblem(res, 400);
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await storedRepositories(project.id)).toEqual([]);
  });

  test('409 for the same repository and branch, however the URL is written; another branch or project is fine', async () => {
    const project = await createProject(alice);
    await connect(project.id, { repositoryUrl: 'https://github.com/acme/dup' });
    for (const variant of [
      'https://github.com/acme/dup',
      'https://github.com/acme/dup.git',
      'https://github.com/acme/dup/',
      'http://github.com/acme/dup.git/',
      'https://www.github.com/acme/dup?tab=readme',
    ]) {
      const clash = await api(alice).post(reposOf(project.id)).send({ repositoryUrl: variant, branch: 'main' });
      expectProblem(clash, 409);
      expect(clash.body.errors[0].path).toBe('/body/repositoryUrl');
    }
    await connect(project.id, { repositoryUrl: 'https://github.com/acme/dup.git', branch: 'develop' });
    const other = await createProject(alice);
    await connect(other.id, { repositoryUrl: 'https://github.com/acme/dup' });
    expect(await totalRepos(project.id)).toBe(2);
    expect((await storedRepositories(project.id)).map((r) => r.branch)).toEqual(['main', 'develop']);
  });

  test('401 without a token; 404 for an unknown or malformed project (400)', async () => {
    const project = await createProject(alice);
    expectProblem(await request(t.app).post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/acme/api' }), 401);
    expectProblem(await api(alice).post(reposOf(randomUUID())).send({ repositoryUrl: 'https://github.com/acme/api' }), 404);
    expectProblem(await api(alice).post(reposOf('not-a-uuid')).send({ repositoryUrl: 'https://github.com/acme/api' }), 400);
    expect(await storedRepositories(project.id)).toEqual([]);
  });

  test('viewers and auditors get 403; a manager connects; a member not on a private project gets 404', async () => {
    const project = await createProject(alice, 'private');
    for (const role of ['viewer', 'auditor'] as const) {
      const member = await projectMember(project.id, role);
      const res = await api(member).post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/acme/api' });
      expectProblem(res, 403);
    }
    expectProblem(await api(bob).post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/acme/api' }), 404);
    expect(await storedRepositories(project.id)).toEqual([]);
    const manager = await projectMember(project.id, 'manager');
    await connect(project.id, { repositoryUrl: 'https://github.com/acme/api' }, manager);
    expect(await totalRepos(project.id)).toBe(1);
  });

  test('an organization member reads a shared project but may not connect to it (403)', async () => {
    const project = await createProject(alice, 'shared');
    expectProblem(await api(bob).post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/acme/api' }), 403);
    await api(bob).get(reposOf(project.id)).expect(200);
    expect(await storedRepositories(project.id)).toEqual([]);
  });

  test('a NUL character in a path pattern is a 4xx, never a 500', async () => {
    const project = await createProject(alice);
    const res = await api(alice).post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/acme/api', includePaths: ['a\u0000b'] });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await storedRepositories(project.id)).toEqual([]);
  });
});

describe('GET /api/v1/projects/{projectId}/repositories', () => {
  let project: { id: string };
  const names = (res: request.Response) => res.body.data.map((r: { repositoryName: string }) => r.repositoryName);
  const list = (query = '', user = alice) => api(user).get(`${reposOf(project.id)}${query}`);

  beforeAll(async () => {
    project = await createProject(alice, 'shared');
    for (const url of ['https://github.com/acme/zeta', 'https://gitlab.com/acme/Alpha', 'https://bitbucket.org/acme/mid', 'https://github.com/acme/beta']) {
      await connect(project.id, { repositoryUrl: url });
    }
    const all = (await list().expect(200)).body.data;
    await api(alice).patch(`${reposOf(project.id)}/${all[1].id}`).send({ status: 'connected' }).expect(200);
    await api(alice).patch(`${reposOf(project.id)}/${all[3].id}`).send({ status: 'connected' }).expect(200);
  });

  test('the envelope, oldest first by default', async () => {
    const res = await list().expect(200);
    expect(res.body).toMatchObject({ total: 4, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(names(res)).toEqual(['acme/zeta', 'acme/Alpha', 'acme/mid', 'acme/beta']);
    expect(names(await list('?sort=-createdAt').expect(200))).toEqual(['acme/beta', 'acme/mid', 'acme/Alpha', 'acme/zeta']);
  });

  test('sorts by name either way, case-insensitively', async () => {
    const sorted = names(await list('?sort=repositoryName').expect(200));
    expect(sorted).toEqual(['acme/Alpha', 'acme/beta', 'acme/mid', 'acme/zeta']);
    expect(names(await list('?sort=-repositoryName').expect(200))).toEqual([...sorted].reverse());
  });

  test('filters by status and provider', async () => {
    expect(names(await list('?status=connected').expect(200))).toEqual(['acme/Alpha', 'acme/beta']);
    expect(names(await list('?provider=github').expect(200))).toEqual(['acme/zeta', 'acme/beta']);
    expect(names(await list('?provider=github&status=pending').expect(200))).toEqual(['acme/zeta']);
    const none = await list('?provider=azure').expect(200);
    expect(none.body).toMatchObject({ data: [], total: 0, hasMore: false });
  });

  test('pages do not overlap and hasMore tells when to stop', async () => {
    const first = await list('?pageSize=3&sort=repositoryName').expect(200);
    const second = await list('?pageSize=3&sort=repositoryName&page=2').expect(200);
    expect([first.body.hasMore, second.body.hasMore]).toEqual([true, false]);
    expect([...names(first), ...names(second)]).toEqual(['acme/Alpha', 'acme/beta', 'acme/mid', 'acme/zeta']);
    expect(second.body).toMatchObject({ total: 4, page: 2, pageSize: 3 });
  });

  test.each(['?sort=name', '?sort=id', '?status=ready', '?provider=svn', '?pageSize=0', '?pageSize=101', '?page=0', '?owner=me', '?pageSize=100&page=102'])(
    '400 for %s',
    async (query) => {
      expectProblem(await list(query), 400);
    },
  );

  test('readers see the list; 401 without a token; 404 when the project is not visible', async () => {
    const viewer = await projectMember(project.id, 'viewer');
    expect((await list('', viewer).expect(200)).body.total).toBe(4);
    expect((await list('', bob).expect(200)).body.total).toBe(4);
    expectProblem(await request(t.app).get(reposOf(project.id)), 401);
    expectProblem(await api(alice).get(reposOf(randomUUID())), 404);
    const hidden = await createProject(alice, 'private');
    expectProblem(await api(bob).get(reposOf(hidden.id)), 404);
  });
});

describe('GET /api/v1/projects/{projectId}/repositories/{repositoryId}', () => {
  test('returns it; 404 for an unknown id or an id of another project; 400 for a malformed id', async () => {
    const project = await createProject(alice);
    const other = await createProject(alice);
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/one' });
    const elsewhere = await connect(other.id, { repositoryUrl: 'https://github.com/acme/two' });
    expect((await api(alice).get(`${reposOf(project.id)}/${repo.id}`).expect(200)).body).toEqual(repo);
    expectProblem(await api(alice).get(`${reposOf(project.id)}/${randomUUID()}`), 404);
    expectProblem(await api(alice).get(`${reposOf(project.id)}/${elsewhere.id}`), 404);
    expectProblem(await api(alice).get(`${reposOf(project.id)}/nope`), 400);
    expectProblem(await request(t.app).get(`${reposOf(project.id)}/${repo.id}`), 401);
  });

  test('a viewer and an auditor read it; a member not on the private project gets 404', async () => {
    const project = await createProject(alice, 'private');
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/one' });
    for (const role of ['viewer', 'auditor'] as const) {
      const member = await projectMember(project.id, role);
      expect((await api(member).get(`${reposOf(project.id)}/${repo.id}`).expect(200)).body.id).toBe(repo.id);
    }
    expectProblem(await api(bob).get(`${reposOf(project.id)}/${repo.id}`), 404);
  });
});

describe('PATCH /api/v1/projects/{projectId}/repositories/{repositoryId}', () => {
  test('an editor changes fields; updatedAt moves; the rest stays', async () => {
    const project = await createProject(alice);
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/api', excludePaths: ['vendor/**'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await api(alice)
      .patch(`${reposOf(project.id)}/${repo.id}`)
      .send({ branch: 'develop', status: 'connected', lastSyncAt: '2026-01-05T09:30:00Z', lastCommitHash: 'abc1234', fileCount: 12, includePaths: ['src/**'] })
      .expect(200);
    expect(res.body).toEqual({
      ...repo,
      branch: 'develop',
      status: 'connected',
      lastSyncAt: '2026-01-05T09:30:00.000Z',
      lastCommitHash: 'abc1234',
      fileCount: 12,
      includePaths: ['src/**'],
      updatedAt: expect.any(String),
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(repo.updatedAt));
    const cleared = await api(alice).patch(`${reposOf(project.id)}/${repo.id}`).send({ lastCommitHash: null, lastSyncAt: null, repositoryName: 'API' }).expect(200);
    expect(cleared.body).toMatchObject({ lastCommitHash: null, lastSyncAt: null, repositoryName: 'API', branch: 'develop' });
    expect(await api(alice).get(`${reposOf(project.id)}/${repo.id}`).expect(200).then((r) => r.body)).toEqual(cleared.body);
  });

  test('409 when the new branch makes a duplicate; nothing changes', async () => {
    const project = await createProject(alice);
    await connect(project.id, { repositoryUrl: 'https://github.com/acme/api', branch: 'develop' });
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/api.git' });
    const clash = await api(alice).patch(`${reposOf(project.id)}/${repo.id}`).send({ branch: 'develop', status: 'connected' });
    expectProblem(clash, 409);
    expect(clash.body.errors[0].path).toBe('/body/branch');
    expect((await storedRepositories(project.id)).map((r) => [r.branch, r.status])).toEqual([
      ['develop', 'pending'],
      ['main', 'pending'],
    ]);
  });

  test.each([
    ['an empty body', {}],
    ['the URL (not changeable)', { repositoryUrl: 'https://github.com/acme/other' }],
    ['the provider (not changeable)', { provider: 'gitlab' }],
    ['an unknown field', { owner: 'me' }],
    ['an unknown status', { status: 'ready' }],
    ['a commit hash that is not hex', { lastCommitHash: 'XYZ1234' }],
    ['a negative file count', { fileCount: -1 }],
    ['a lastSyncAt that is not a time', { lastSyncAt: 'yesterday' }],
    ['a branch with a space', { branch: 'a b' }],
  ])('400 for %s, and nothing changes', async (_label, body) => {
    const project = await createProject(alice);
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/api' });
    const before = await storedRepositories(project.id);
    const res = await api(alice).patch(`${reposOf(project.id)}/${repo.id}`).send(body);
    expectProblem(res, 400);
    expect(await storedRepositories(project.id)).toEqual(before);
  });

  test('403 for viewers, auditors and members on a shared project; 404 for unknown ids and other projects', async () => {
    const project = await createProject(alice, 'shared');
    const other = await createProject(alice);
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/api' });
    const elsewhere = await connect(other.id, { repositoryUrl: 'https://github.com/acme/api' });
    const before = await storedRepositories(project.id);
    for (const user of [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'auditor'), bob]) {
      expectProblem(await api(user).patch(`${reposOf(project.id)}/${repo.id}`).send({ status: 'error' }), 403);
    }
    expectProblem(await api(alice).patch(`${reposOf(project.id)}/${randomUUID()}`).send({ status: 'error' }), 404);
    expectProblem(await api(alice).patch(`${reposOf(project.id)}/${elsewhere.id}`).send({ status: 'error' }), 404);
    expectProblem(await request(t.app).patch(`${reposOf(project.id)}/${repo.id}`).send({ status: 'error' }), 401);
    expect(await storedRepositories(project.id)).toEqual(before);
    expect((await storedRepositories(other.id))[0].status).toBe('pending');
  });
});

describe('DELETE /api/v1/projects/{projectId}/repositories/{repositoryId}', () => {
  test('an editor disconnects (204); totalRepos follows; a second delete is 404', async () => {
    const project = await createProject(alice);
    const keep = await connect(project.id, { repositoryUrl: 'https://github.com/acme/keep' });
    const drop = await connect(project.id, { repositoryUrl: 'https://github.com/acme/drop' });
    expect(await totalRepos(project.id)).toBe(2);
    const res = await api(alice).delete(`${reposOf(project.id)}/${drop.id}`).expect(204);
    expect(res.text).toBe('');
    expect(await totalRepos(project.id)).toBe(1);
    expect((await api(alice).get(`/api/v1/projects/${project.id}`).expect(200)).body.totalRepos).toBe(1);
    expectProblem(await api(alice).get(`${reposOf(project.id)}/${drop.id}`), 404);
    expectProblem(await api(alice).delete(`${reposOf(project.id)}/${drop.id}`), 404);
    expect((await storedRepositories(project.id)).map((r) => r.id)).toEqual([keep.id]);
    // The same URL can be connected again.
    await connect(project.id, { repositoryUrl: 'https://github.com/acme/drop' });
  });

  test('403 for viewers, auditors and members on a shared project; 404 for other projects; 401; nothing is removed', async () => {
    const project = await createProject(alice, 'shared');
    const other = await createProject(alice);
    const repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/api' });
    const elsewhere = await connect(other.id, { repositoryUrl: 'https://github.com/acme/api' });
    for (const user of [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'auditor'), bob]) {
      expectProblem(await api(user).delete(`${reposOf(project.id)}/${repo.id}`), 403);
    }
    expectProblem(await api(alice).delete(`${reposOf(project.id)}/${elsewhere.id}`), 404);
    expectProblem(await api(alice).delete(`${reposOf(project.id)}/${randomUUID()}`), 404);
    expectProblem(await api(alice).delete(`${reposOf(project.id)}/x`), 400);
    expectProblem(await request(t.app).delete(`${reposOf(project.id)}/${repo.id}`), 401);
    const hidden = await createProject(alice, 'private');
    const hiddenRepo = await connect(hidden.id, { repositoryUrl: 'https://github.com/acme/api' });
    expectProblem(await api(bob).delete(`${reposOf(hidden.id)}/${hiddenRepo.id}`), 404);
    expect([await totalRepos(project.id), await totalRepos(other.id), await totalRepos(hidden.id)]).toEqual([1, 1, 1]);
  });
});

describe('counters under concurrency', () => {
  test('20 parallel connects and then 10 parallel disconnects through the API keep totalRepos exact', async () => {
    const project = await createProject(alice);
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api(alice).post(reposOf(project.id)).send({ repositoryUrl: `https://github.com/acme/parallel-${i}` })),
    );
    expect(created.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(await totalRepos(project.id)).toBe(20);
    const deleted = await Promise.all(created.slice(0, 10).map((r) => api(alice).delete(`${reposOf(project.id)}/${r.body.id}`)));
    expect(deleted.map((r) => r.status)).toEqual(Array(10).fill(204));
    expect(await totalRepos(project.id)).toBe(10);
    expect((await api(alice).get(reposOf(project.id)).expect(200)).body.total).toBe(10);
  });

  test('the same repository connected 10 times at once: one 201, nine 409', async () => {
    const project = await createProject(alice);
    const attempts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api(alice).post(reposOf(project.id)).send({ repositoryUrl: i % 2 === 0 ? 'https://github.com/acme/race' : 'https://github.com/acme/race.git' }),
      ),
    );
    expect(attempts.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
    expect(await totalRepos(project.id)).toBe(1);
  });
});

describe('another organization', () => {
  let ownerB: TestUser;
  let orgB: string;
  let project: { id: string };
  let repo: { id: string };

  beforeAll(async () => {
    ownerB = await newUser(t.app, 'owner-b');
    orgB = await newOrganization(t.app, ownerB, 'Outsiders');
    project = await createProject(alice, 'shared');
    repo = await connect(project.id, { repositoryUrl: 'https://github.com/acme/secret' });
  });

  test('cannot list, read, connect, change or disconnect, with or without the header; nothing changes', async () => {
    const before = await storedRepositories(project.id);
    for (const header of [undefined, orgB, orgId]) {
      const outsider = as(t.app, ownerB, header);
      expectProblem(await outsider.get(reposOf(project.id)), 404);
      expectProblem(await outsider.get(`${reposOf(project.id)}/${repo.id}`), 404);
      expectProblem(await outsider.post(reposOf(project.id)).send({ repositoryUrl: 'https://github.com/evil/inject' }), 404);
      expectProblem(await outsider.patch(`${reposOf(project.id)}/${repo.id}`).send({ status: 'error' }), 404);
      expectProblem(await outsider.delete(`${reposOf(project.id)}/${repo.id}`), 404);
    }
    expect(await storedRepositories(project.id)).toEqual(before);
    expect(await totalRepos(project.id)).toBe(1);
  });

  test("its own project's list never shows the first organization's repositories, even by id", async () => {
    const own = (await as(t.app, ownerB, orgB).post('/api/v1/projects').send({ name: 'Outsider Project', type: 'repository' }).expect(201)).body;
    const list = await as(t.app, ownerB, orgB).get(reposOf(own.id)).expect(200);
    expect(list.body).toMatchObject({ data: [], total: 0 });
    expectProblem(await as(t.app, ownerB, orgB).get(`${reposOf(own.id)}/${repo.id}`), 404);
    expectProblem(await as(t.app, ownerB, orgB).patch(`${reposOf(own.id)}/${repo.id}`).send({ status: 'error' }), 404);
    expectProblem(await as(t.app, ownerB, orgB).delete(`${reposOf(own.id)}/${repo.id}`), 404);
    expect((await storedRepositories(project.id))[0]).toMatchObject({ id: repo.id, status: 'pending' });
  });
});
