import { randomUUID } from 'node:crypto';
import { as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The path rules over HTTP; the rules themselves are unit-tested beside src/projects/files/path.ts.
describe('over HTTP', () => {
  let t: TestApp;
  let owner: TestUser;
  let org: string;
  let projectId: string;

  beforeAll(async () => {
    t = createTestApp();
    owner = await newUser(t.app, 'paths');
    org = await newOrganization(t.app, owner, 'Paths');
    projectId = (await api().post('/api/v1/projects').send({ name: 'Path Rules', type: 'files' }).expect(201)).body.id;
  });
  afterAll(() => t.close());

  const api = () => as(t.app, owner, org);
  const file = (path: string) => ({ name: 'f', path, mimeType: 'text/plain', sizeBytes: 1, checksum: 'a'.repeat(64), storageKey: `k-${randomUUID()}` });
  const storedPaths = async () =>
    (await t.admin.query<{ path: string }>('select path from public.project_files where project_id = $1 order by path', [projectId])).rows.map((r) => r.path);

  test.each(['../../etc/passwd', '/etc/passwd', 'C:\\boot.ini', 'docs\\a.md', 'a/../b', 'evil\u202Etxt.exe', 'bell\u0007'])('registering %j is a 400 naming /body/path, and stores nothing', async (path) => {
    const res = await api().post(`/api/v1/projects/${projectId}/files`).send(file(path));
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([{ path: '/body/path', message: res.body.detail }]);
    expect(await storedPaths()).not.toContain(path);
  });

  test('a path with ./ and doubled slashes is stored normalized, so its duplicate is a 409', async () => {
    const res = await api().post(`/api/v1/projects/${projectId}/files`).send(file('./norm//guide.md')).expect(201);
    expect(res.body.path).toBe('norm/guide.md');
    expectProblem(await api().post(`/api/v1/projects/${projectId}/files`).send(file('norm/./guide.md')), 409);
  });

  test('repository path patterns that climb out are a 400 naming each one', async () => {
    const res = await api()
      .post(`/api/v1/projects/${projectId}/repositories`)
      .send({ repositoryUrl: 'https://github.com/acme/paths', includePaths: ['src/**', '../**'], excludePaths: ['a\u0000b'] });
    expectProblem(res, 400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['/body/includePaths/1', '/body/excludePaths/0']);
    const repo = await api().post(`/api/v1/projects/${projectId}/repositories`).send({ repositoryUrl: 'https://github.com/acme/paths', includePaths: ['src/**'] }).expect(201);
    expectProblem(await api().patch(`/api/v1/projects/${projectId}/repositories/${repo.body.id}`).send({ excludePaths: ['docs/../..'] }), 400);
    await api().patch(`/api/v1/projects/${projectId}/repositories/${repo.body.id}`).send({ excludePaths: ['vendor/**'] }).expect(200);
  });
});
