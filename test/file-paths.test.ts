import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { MAX_FILE_PATH_LENGTH, normalizeFilePath, pathPatternProblem } from '../src/projects/files/path';
import { as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The path rule of project files and repository path patterns (src/projects/files/path.ts).
describe('normalizeFilePath', () => {
  test.each([
    ['docs/README.md', 'docs/README.md'],
    ['README', 'README'],
    ['./docs/guide.md', 'docs/guide.md'],
    ['docs//guide.md', 'docs/guide.md'],
    ['docs/./a/.//b.md', 'docs/a/b.md'],
    ['docs/', 'docs'],
    ['.env', '.env'],
    ['a/.../b', 'a/.../b'],
    ['..a/b..', '..a/b..'],
    ['%2e%2e/secret', '%2e%2e/secret'],
    ['caf\u00e9/\u{1F600}.txt', 'caf\u00e9/\u{1F600}.txt'],
    ['name with spaces.md', 'name with spaces.md'],
  ])('%j is kept as %j', (raw, normalized) => {
    expect(normalizeFilePath(raw)).toEqual({ ok: true, path: normalized });
  });

  test.each([
    ['../../etc/passwd', /"\.\."/],
    ['docs/../../secret', /"\.\."/],
    ['..', /"\.\."/],
    ['docs/..', /"\.\."/],
    ['./../x', /"\.\."/],
    ['/etc/passwd', /relative/],
    ['//server/share', /relative/],
    ['C:\\Windows\\win.ini', /backslash/],
    ['C:/Windows/win.ini', /drive letter/],
    ['c:notes.txt', /drive letter/],
    ['./C:/Windows', /drive letter/],
    ['.//d:', /drive letter/],
    ['docs\\guide.md', /backslash/],
    ['a\u0000b.md', /control characters/],
    ['a\nb.md', /control characters/],
    ['tab\there', /control characters/],
    ['del\u007f', /control characters/],
    ['c1\u0085', /control characters/],
    ['invoice\u202Efdp.exe', /bidirectional/],
    ['isolate\u2066x\u2069', /bidirectional/],
    ['half\ud800.md', /Unicode/],
    ['.', /names no file/],
    ['./', /names no file/],
    ['', /names no file/],
  ])('%j is refused', (raw, reason) => {
    const verdict = normalizeFilePath(raw);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });

  test('the length limit counts characters of the normalized path', () => {
    expect(normalizeFilePath('p'.repeat(MAX_FILE_PATH_LENGTH)).ok).toBe(true);
    expect(normalizeFilePath(`./${'p'.repeat(MAX_FILE_PATH_LENGTH)}`).ok).toBe(true);
    expect(normalizeFilePath('\u{1F600}'.repeat(MAX_FILE_PATH_LENGTH)).ok).toBe(true);
    expect(normalizeFilePath('p'.repeat(MAX_FILE_PATH_LENGTH + 1))).toEqual({ ok: false, reason: expect.stringMatching(/at most 1024/) });
  });

  test('a normalized path is normalized already, and never climbs or starts at a root', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b.md', '.', '..', '', 'C:', '\\', '\u0000', '\u202e', ' '), { maxLength: 8 }), (parts) => {
        const verdict = normalizeFilePath(parts.join('/'));
        if (!verdict.ok) return;
        expect(normalizeFilePath(verdict.path)).toEqual(verdict);
        expect(verdict.path.split('/')).not.toContain('..');
        expect(verdict.path.split('/')).not.toContain('.');
        expect(verdict.path.split('/')).not.toContain('');
        expect(verdict.path).not.toMatch(/^\/|^[A-Za-z]:|\\|\u0000/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pathPatternProblem', () => {
  test.each(['src/**', 'docs/*.md', '**/*.test.ts', '/build', 'vendor/', '\\*.literal', 'a/.../b', '..*/x'])('%j is a fine pattern', (pattern) => {
    expect(pathPatternProblem(pattern)).toBeUndefined();
  });

  test.each([
    ['../**', /"\.\."/],
    ['src/../../**', /"\.\."/],
    ['src\\..\\..\\**', /"\.\."/],
    ['\\.\\./secret', /"\.\."/],
    ['C:/**', /drive letter/],
    ['a\u0000b', /control characters/],
    ['a\rb', /control characters/],
    ['x\u202e', /bidirectional/],
    ['\udfff', /Unicode/],
  ])('%j is refused', (pattern, reason) => {
    expect(pathPatternProblem(pattern)).toMatch(reason);
  });
});

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
