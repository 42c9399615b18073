import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { identityFromClaims } from '../src/auth/identity';
import { verifyHs256 } from '../src/auth/jwt';
import { withRequestTransaction } from '../src/db/transaction';
import { fileListQuery } from '../src/projects/files/sql';
import { addMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newProjectMember, newUser, type ProjectRole, type TestApp, type TestUser } from './support/harness';

// alice owns the organization; bob is a plain member of it.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let orgId: string;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  orgId = await newOrganization(t.app, alice, 'Files');
  await addMember(t, orgId, bob, 'member');
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);
const filesOf = (projectId: string) => `/api/v1/projects/${projectId}/files`;
const CHECKSUM = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/** A valid registration body; `path` also names the file and its storage key unless overridden. */
function fileBody(path: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: path.split('/').pop() || path,
    path,
    mimeType: 'text/markdown',
    sizeBytes: 4096,
    checksum: CHECKSUM,
    storageKey: `store/${path}`,
    ...overrides,
  };
}

async function createProject(user: TestUser, privacy: 'private' | 'shared' = 'private'): Promise<{ id: string }> {
  const res = await api(user).post('/api/v1/projects').send({ name: `Files ${randomUUID().slice(0, 8)}`, type: 'files', privacy });
  expect(res.status).toBe(201);
  return res.body;
}

async function register(projectId: string, body: Record<string, unknown>, user = alice) {
  const res = await api(user).post(filesOf(projectId)).send(body);
  expect(res.status).toBe(201);
  return res.body;
}

/** A project member with a role, arranged directly. */
const projectMember = (projectId: string, role: ProjectRole) => newProjectMember(t, orgId, projectId, role);

async function storedFiles(projectId: string) {
  const rows = await t.admin.query(
    'select id, path, checksum, storage_provider, processed, updated_at from public.project_files where project_id = $1 order by path, id',
    [projectId],
  );
  return rows.rows;
}

async function totalFiles(projectId: string): Promise<number> {
  const row = await t.admin.query('select total_files from public.projects where id = $1', [projectId]);
  return row.rows[0].total_files;
}

describe('POST /api/v1/projects/{projectId}/files', () => {
  test('registers; checksum stored lowercase; storageProvider defaults to local; Location; totalFiles follows', async () => {
    const project = await createProject(alice);
    const res = await api(alice)
      .post(filesOf(project.id))
      .send(fileBody('docs/README.md', { checksum: CHECKSUM.toUpperCase() }))
      .expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      projectId: project.id,
      name: 'README.md',
      path: 'docs/README.md',
      mimeType: 'text/markdown',
      sizeBytes: 4096,
      checksum: CHECKSUM,
      storageKey: 'store/docs/README.md',
      storageProvider: 'local',
      processed: false,
      processedAt: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.any(String),
    });
    expect(res.headers.location).toBe(`/api/v1/projects/${project.id}/files/${res.body.id}`);
    expect((await api(alice).get(res.headers.location!).expect(200)).body).toEqual(res.body);
    expect((await storedFiles(project.id))[0]).toMatchObject({ checksum: CHECKSUM, storage_provider: 'local' });
    expect(await totalFiles(project.id)).toBe(1);
    expect((await api(alice).get(`/api/v1/projects/${project.id}`).expect(200)).body.totalFiles).toBe(1);
  });

  test('keeps a given storage provider, and sizes beyond 32 bits', async () => {
    const project = await createProject(alice);
    const big = 1099511627776;
    const res = await register(project.id, fileBody('data/dump.bin', { mimeType: 'application/octet-stream', sizeBytes: big, storageProvider: 's3' }));
    expect(res).toMatchObject({ sizeBytes: big, storageProvider: 's3', mimeType: 'application/octet-stream' });
    const empty = await register(project.id, fileBody('empty.txt', { mimeType: 'text/plain', sizeBytes: 0 }));
    expect(empty.sizeBytes).toBe(0);
  });

  test('409 for a path already registered in the project; the same path in another project is fine', async () => {
    const project = await createProject(alice);
    await register(project.id, fileBody('src/index.ts'));
    const clash = await api(alice).post(filesOf(project.id)).send(fileBody('src/index.ts', { name: 'other.ts', storageKey: 'elsewhere' }));
    expectProblem(clash, 409);
    expect(clash.body.errors[0].path).toBe('/body/path');
    // Paths are compared exactly: another case is another path.
    await register(project.id, fileBody('SRC/index.ts'));
    const other = await createProject(alice);
    await register(other.id, fileBody('src/index.ts'));
    expect(await totalFiles(project.id)).toBe(2);
  });

  test.each([
    ['an empty body', {}],
    ['a missing checksum', { ...fileBody('a.md'), checksum: undefined }],
    ['a checksum that is not SHA-256 hex', fileBody('a.md', { checksum: 'z'.repeat(64) })],
    ['a checksum of the wrong length', fileBody('a.md', { checksum: 'a'.repeat(63) })],
    ['a negative size', fileBody('a.md', { sizeBytes: -1 })],
    ['a fractional size', fileBody('a.md', { sizeBytes: 1.5 })],
    ['a size over 1 TiB', fileBody('a.md', { sizeBytes: 1099511627777 })],
    ['a media type without a slash', fileBody('a.md', { mimeType: 'markdown' })],
    ['an empty path', fileBody('a.md', { path: '' })],
    ['a path over 1024 characters', fileBody('a.md', { path: 'p'.repeat(1025) })],
    ['an empty name', fileBody('a.md', { name: '' })],
    ['an empty storage provider', fileBody('a.md', { storageProvider: '' })],
    ['an unknown field', fileBody('a.md', { processed: true })],
    ['the project id in the body', fileBody('a.md', { projectId: randomUUID() })],
    ['an array', [fileBody('a.md')]],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const project = await createProject(alice);
    const res = await api(alice).post(filesOf(project.id)).send(body);
    expectProblem(res, 400);
    expect(await storedFiles(project.id)).toEqual([]);
    expect(await totalFiles(project.id)).toBe(0);
  });

  test('a NUL character in a path is a 4xx, never a 500', async () => {
    const project = await createProject(alice);
    const res = await api(alice).post(filesOf(project.id)).send(fileBody('a\u0000b.md'));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await storedFiles(project.id)).toEqual([]);
  });

  test('401 without a token; 404 for an unknown project; 400 for a malformed one', async () => {
    expectProblem(await request(t.app).post(filesOf(randomUUID())).send(fileBody('a.md')), 401);
    expectProblem(await api(alice).post(filesOf(randomUUID())).send(fileBody('a.md')), 404);
    expectProblem(await api(alice).post(filesOf('123')).send(fileBody('a.md')), 400);
  });

  test('viewers and auditors get 403; a manager registers; a member not on a private project gets 404', async () => {
    const project = await createProject(alice, 'private');
    for (const role of ['viewer', 'auditor'] as const) {
      const member = await projectMember(project.id, role);
      expectProblem(await api(member).post(filesOf(project.id)).send(fileBody('a.md')), 403);
    }
    expectProblem(await api(bob).post(filesOf(project.id)).send(fileBody('a.md')), 404);
    expect(await storedFiles(project.id)).toEqual([]);
    const manager = await projectMember(project.id, 'manager');
    await register(project.id, fileBody('a.md'), manager);
    expect(await totalFiles(project.id)).toBe(1);
  });

  test('an organization member reads a shared project but may not register files in it (403)', async () => {
    const project = await createProject(alice, 'shared');
    expectProblem(await api(bob).post(filesOf(project.id)).send(fileBody('a.md')), 403);
    await api(bob).get(filesOf(project.id)).expect(200);
    expect(await storedFiles(project.id)).toEqual([]);
  });
});

describe('GET /api/v1/projects/{projectId}/files', () => {
  let project: { id: string };
  const paths = (res: request.Response) => res.body.data.map((f: { path: string }) => f.path);
  const list = (query = '', user = alice) => api(user).get(`${filesOf(project.id)}${query}`);
  // Registered in this order; % and _ appear in names to prove they match literally.
  const registered = ['docs/b.md', 'docs/a.md', 'docs_old/x.md', 'docs%/y.md', 'src/main.ts', 'docs/sub/c.md', 'README.md', 'd\\x.txt'];

  beforeAll(async () => {
    project = await createProject(alice, 'shared');
    for (const path of registered) {
      const mimeType = path.endsWith('.ts') ? 'text/x-typescript' : path.endsWith('.txt') ? 'text/plain' : 'text/markdown';
      if (path.includes('\\')) {
        // The API refuses backslashes in paths now; a row registered before that still lists and filters.
        await t.admin.query(
          `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key) values ($1, $2, $2, $3, 4096, $4, $5)`,
          [project.id, path, mimeType, CHECKSUM, `store/${path}`],
        );
      } else {
        await register(project.id, fileBody(path, { mimeType }));
      }
    }
    await t.admin.query(
      `update public.project_files set processed = true, processed_at = now() where project_id = $1 and path in ('docs/a.md', 'src/main.ts')`,
      [project.id],
    );
  });

  test('the envelope, by path byte-wise by default', async () => {
    const res = await list().expect(200);
    expect(res.body).toMatchObject({ total: registered.length, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    const byteOrder = [...registered].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(paths(res)).toEqual(byteOrder);
    expect(paths(await list('?sort=-path').expect(200))).toEqual([...byteOrder].reverse());
  });

  test('sorts by creation either way', async () => {
    expect(paths(await list('?sort=createdAt').expect(200))).toEqual(registered);
    expect(paths(await list('?sort=-createdAt').expect(200))).toEqual([...registered].reverse());
  });

  test('pathPrefix matches a prefix, with % _ and \\ taken literally', async () => {
    const prefixed = async (prefix: string) => paths(await list(`?pathPrefix=${encodeURIComponent(prefix)}`).expect(200));
    expect(paths(await list('?pathPrefix=docs/').expect(200))).toEqual(await prefixed('docs/'));
    expect(await prefixed('docs/')).toEqual(['docs/a.md', 'docs/b.md', 'docs/sub/c.md']);
    expect(await prefixed('docs/sub/')).toEqual(['docs/sub/c.md']);
    expect(await prefixed('docs')).toEqual(['docs%/y.md', 'docs/a.md', 'docs/b.md', 'docs/sub/c.md', 'docs_old/x.md']);
    expect(await prefixed('docs_')).toEqual(['docs_old/x.md']);
    expect(await prefixed('docs%')).toEqual(['docs%/y.md']);
    expect(await prefixed('%')).toEqual([]);
    expect(await prefixed('_')).toEqual([]);
    expect(await prefixed('d\\')).toEqual(['d\\x.txt']);
    expect(await prefixed('DOCS/')).toEqual([]);
    expect(await prefixed('README.md')).toEqual(['README.md']);
  });

  test('filters by media type (exactly) and processed, alone and together', async () => {
    // Reserved characters are allowed raw (allowReserved), as the contract's own examples send them.
    const mime = (type: string) => `mimeType=${type}`;
    expect(paths(await list(`?${mime('text/x-typescript')}`).expect(200))).toEqual(['src/main.ts']);
    expect((await list(`?${mime('TEXT/MARKDOWN')}`).expect(200)).body.total).toBe(0);
    expect((await list(`?${mime('text/markdown')}`).expect(200)).body.total).toBe(6);
    expect(paths(await list('?processed=true').expect(200))).toEqual(['docs/a.md', 'src/main.ts']);
    expect((await list('?processed=false').expect(200)).body.total).toBe(registered.length - 2);
    expect(paths(await list(`?processed=true&${mime('text/markdown')}&pathPrefix=docs`).expect(200))).toEqual(['docs/a.md']);
    const processed = (await list('?processed=true').expect(200)).body.data[0];
    expect(processed.processedAt).toEqual(expect.stringMatching(/Z$/));
  });

  test('pages do not overlap and hasMore tells when to stop', async () => {
    const first = await list('?pageSize=3').expect(200);
    const second = await list('?pageSize=3&page=2').expect(200);
    const third = await list('?pageSize=3&page=3').expect(200);
    expect([first.body.hasMore, second.body.hasMore, third.body.hasMore]).toEqual([true, true, false]);
    const all = [...paths(first), ...paths(second), ...paths(third)];
    expect(all).toEqual(paths(await list().expect(200)));
    expect(third.body).toMatchObject({ total: registered.length, page: 3, pageSize: 3 });
  });

  test.each([
    '?sort=name',
    '?sort=size',
    '?processed=maybe',
    '?pathPrefix=',
    `?pathPrefix=${'p'.repeat(1025)}`,
    `?mimeType=${'m'.repeat(256)}`,
    '?pageSize=0',
    '?page=0',
    '?search=docs',
    '?pageSize=100&page=102',
  ])('400 for %s', async (query) => {
    expectProblem(await list(query), 400);
  });

  test('readers see the list; 401 without a token; 404 when the project is not visible', async () => {
    const viewer = await projectMember(project.id, 'auditor');
    expect((await list('', viewer).expect(200)).body.total).toBe(registered.length);
    expect((await list('', bob).expect(200)).body.total).toBe(registered.length);
    expectProblem(await request(t.app).get(filesOf(project.id)), 401);
    expectProblem(await api(alice).get(filesOf(randomUUID())), 404);
    const hidden = await createProject(alice, 'private');
    expectProblem(await api(bob).get(filesOf(hidden.id)), 404);
  });

  /** Every index lookup in a JSON plan, with its condition. */
  function indexScans(node: Record<string, unknown>): Array<{ index: string; cond: string }> {
    const here = typeof node['Index Name'] === 'string' ? [{ index: node['Index Name'] as string, cond: String(node['Index Cond']) }] : [];
    const children = (node.Plans as Record<string, unknown>[] | undefined) ?? [];
    return [...here, ...children.flatMap(indexScans)];
  }

  test('the list query filters project_id explicitly: an index scan, never a scan of every project\'s files', async () => {
    // Two projects arranged directly: a large one whose rows a list of the small one must not scan,
    // and the small one (with a known share of rows under dir7/).
    const arranged = await t.admin.query<{ id: string }>(
      `insert into public.projects (organization_id, user_id, name, type, privacy)
       values ($1, $2, $3, 'files', 'shared'), ($1, $2, $4, 'files', 'shared') returning id`,
      [orgId, alice.userId, `Noise ${randomUUID().slice(0, 8)}`, `Small ${randomUUID().slice(0, 8)}`],
    );
    const [noiseId, smallId] = arranged.rows.map((row) => row.id) as [string, string];
    try {
      const fill = `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key)
         select $1, 'f' || g, 'dir' || (g % 40) || '/f' || g || '.md', 'text/markdown', 1, repeat('a', 64), 'k' || g
         from generate_series(1, $2) g`;
      await t.admin.query(fill, [noiseId, 6000]);
      await t.admin.query(fill, [smallId, 400]);
      await t.admin.query('analyze public.project_files');
      const query = fileListQuery(smallId, { pathPrefix: 'dir7/', sort: 'path' }, { page: 1, pageSize: 20 });
      expect(query.fromWhere).toMatch(/where f\.project_id = \$1/);
      const explain = `explain (format json) select ${query.select} from ${query.fromWhere}`;

      // Without row level security in the way (the owner), the prefix itself becomes an index range:
      // project_files_path_prefix_idx (text_pattern_ops), or the unique (project_id, path) index when
      // the database collation is C.
      const ownerPlan = (await t.admin.query(explain, query.params)).rows[0]['QUERY PLAN'][0].Plan;
      expect(indexScans(ownerPlan)).toContainEqual({
        index: expect.stringMatching(/^project_files_(path_prefix_idx|project_id_path_key)$/),
        cond: expect.stringMatching(/project_id = .*path (~>=~|>=) 'dir7\/'/),
      });

      // As the caller, under the policies: the LIKE is not leakproof and waits for them, but
      // project_id = $1 still drives an index scan.
      const identity = identityFromClaims(verifyHs256(alice.token, jwtSecret()));
      const plan = await withRequestTransaction(t.pool, identity, { requestedOrganizationId: orgId, statementTimeoutMs: 5000 }, async (tx) => {
        const rows = await tx.query(explain, query.params);
        return rows.rows[0]!['QUERY PLAN'][0].Plan;
      });
      const scans: Array<{ type: string; cond?: string }> = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Relation Name'] === 'project_files') {
          // An index scan carries an Index Cond, a bitmap heap scan the Recheck Cond of its bitmap index scan.
          scans.push({ type: node['Node Type'] as string, cond: (node['Index Cond'] ?? node['Recheck Cond']) as string | undefined });
        }
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk(plan);
      expect(scans.length).toBeGreaterThan(0);
      for (const scan of scans) {
        expect(scan.type).toMatch(/^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/);
        expect(scan.cond).toMatch(/project_id = /);
      }
      // And the route answers the same through the API.
      const res = await api(alice).get(`${filesOf(smallId)}?pathPrefix=${encodeURIComponent('dir7/')}&pageSize=5`).expect(200);
      expect(res.body).toMatchObject({ total: 10, hasMore: true });
      expect(res.body.data.every((f: { path: string }) => f.path.startsWith('dir7/'))).toBe(true);
    } finally {
      await t.admin.query('delete from public.projects where id = any($1::uuid[])', [[noiseId, smallId]]);
    }
  });
});

describe('GET /api/v1/projects/{projectId}/files/{fileId}', () => {
  test('returns it; 404 for an unknown id or an id of another project; 400 for a malformed id', async () => {
    const project = await createProject(alice);
    const other = await createProject(alice);
    const file = await register(project.id, fileBody('a.md'));
    const elsewhere = await register(other.id, fileBody('a.md'));
    expect((await api(alice).get(`${filesOf(project.id)}/${file.id}`).expect(200)).body).toEqual(file);
    expectProblem(await api(alice).get(`${filesOf(project.id)}/${randomUUID()}`), 404);
    expectProblem(await api(alice).get(`${filesOf(project.id)}/${elsewhere.id}`), 404);
    expectProblem(await api(alice).get(`${filesOf(project.id)}/not-an-id`), 400);
    expectProblem(await request(t.app).get(`${filesOf(project.id)}/${file.id}`), 401);
  });

  test('a viewer and an auditor read it; a member not on the private project gets 404', async () => {
    const project = await createProject(alice, 'private');
    const file = await register(project.id, fileBody('a.md'));
    for (const role of ['viewer', 'auditor'] as const) {
      const member = await projectMember(project.id, role);
      expect((await api(member).get(`${filesOf(project.id)}/${file.id}`).expect(200)).body.id).toBe(file.id);
    }
    expectProblem(await api(bob).get(`${filesOf(project.id)}/${file.id}`), 404);
  });
});

describe('DELETE /api/v1/projects/{projectId}/files/{fileId}', () => {
  test('an editor removes it (204); totalFiles follows; a second delete is 404; the path is free again', async () => {
    const project = await createProject(alice);
    const keep = await register(project.id, fileBody('keep.md'));
    const drop = await register(project.id, fileBody('drop.md'));
    expect(await totalFiles(project.id)).toBe(2);
    const res = await api(alice).delete(`${filesOf(project.id)}/${drop.id}`).expect(204);
    expect(res.text).toBe('');
    expect(await totalFiles(project.id)).toBe(1);
    expect((await api(alice).get(`/api/v1/projects/${project.id}`).expect(200)).body.totalFiles).toBe(1);
    expectProblem(await api(alice).get(`${filesOf(project.id)}/${drop.id}`), 404);
    expectProblem(await api(alice).delete(`${filesOf(project.id)}/${drop.id}`), 404);
    expect((await storedFiles(project.id)).map((f) => f.id)).toEqual([keep.id]);
    await register(project.id, fileBody('drop.md'));
  });

  test('403 for viewers, auditors and members on a shared project; 404 for other projects; 401; nothing is removed', async () => {
    const project = await createProject(alice, 'shared');
    const other = await createProject(alice);
    const file = await register(project.id, fileBody('a.md'));
    const elsewhere = await register(other.id, fileBody('a.md'));
    for (const user of [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'auditor'), bob]) {
      expectProblem(await api(user).delete(`${filesOf(project.id)}/${file.id}`), 403);
    }
    expectProblem(await api(alice).delete(`${filesOf(project.id)}/${elsewhere.id}`), 404);
    expectProblem(await api(alice).delete(`${filesOf(project.id)}/${randomUUID()}`), 404);
    expectProblem(await api(alice).delete(`${filesOf(project.id)}/x`), 400);
    expectProblem(await request(t.app).delete(`${filesOf(project.id)}/${file.id}`), 401);
    const hidden = await createProject(alice, 'private');
    const hiddenFile = await register(hidden.id, fileBody('a.md'));
    expectProblem(await api(bob).delete(`${filesOf(hidden.id)}/${hiddenFile.id}`), 404);
    expect([await totalFiles(project.id), await totalFiles(other.id), await totalFiles(hidden.id)]).toEqual([1, 1, 1]);
  });
});

describe('counters under concurrency', () => {
  test('20 parallel registrations and then 10 parallel removals through the API keep totalFiles exact', async () => {
    const project = await createProject(alice);
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => api(alice).post(filesOf(project.id)).send(fileBody(`parallel/${i}.md`))));
    expect(created.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(await totalFiles(project.id)).toBe(20);
    const deleted = await Promise.all(created.slice(0, 10).map((r) => api(alice).delete(`${filesOf(project.id)}/${r.body.id}`)));
    expect(deleted.map((r) => r.status)).toEqual(Array(10).fill(204));
    expect(await totalFiles(project.id)).toBe(10);
    expect((await api(alice).get(filesOf(project.id)).expect(200)).body.total).toBe(10);
  });

  test('the same path registered 10 times at once: one 201, nine 409', async () => {
    const project = await createProject(alice);
    const attempts = await Promise.all(Array.from({ length: 10 }, () => api(alice).post(filesOf(project.id)).send(fileBody('race.md'))));
    expect(attempts.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
    expect(await totalFiles(project.id)).toBe(1);
  });
});

describe('another organization', () => {
  let ownerB: TestUser;
  let orgB: string;
  let project: { id: string };
  let file: { id: string };

  beforeAll(async () => {
    ownerB = await newUser(t.app, 'owner-b');
    orgB = await newOrganization(t.app, ownerB, 'Outsiders');
    project = await createProject(alice, 'shared');
    file = await register(project.id, fileBody('secret/plan.md'));
  });

  test('cannot list, read, register or remove, with or without the header; nothing changes', async () => {
    const before = await storedFiles(project.id);
    for (const header of [undefined, orgB, orgId]) {
      const outsider = as(t.app, ownerB, header);
      expectProblem(await outsider.get(filesOf(project.id)), 404);
      expectProblem(await outsider.get(`${filesOf(project.id)}?pathPrefix=secret`), 404);
      expectProblem(await outsider.get(`${filesOf(project.id)}/${file.id}`), 404);
      expectProblem(await outsider.post(filesOf(project.id)).send(fileBody('injected.md')), 404);
      expectProblem(await outsider.delete(`${filesOf(project.id)}/${file.id}`), 404);
    }
    expect(await storedFiles(project.id)).toEqual(before);
    expect(await totalFiles(project.id)).toBe(1);
  });

  test("its own project's list never shows the first organization's files, even by id", async () => {
    const own = (await as(t.app, ownerB, orgB).post('/api/v1/projects').send({ name: 'Outsider Files', type: 'files' }).expect(201)).body;
    const list = await as(t.app, ownerB, orgB).get(`${filesOf(own.id)}?pathPrefix=secret`).expect(200);
    expect(list.body).toMatchObject({ data: [], total: 0 });
    expectProblem(await as(t.app, ownerB, orgB).get(`${filesOf(own.id)}/${file.id}`), 404);
    expectProblem(await as(t.app, ownerB, orgB).delete(`${filesOf(own.id)}/${file.id}`), 404);
    expect((await storedFiles(project.id)).map((f) => f.id)).toEqual([file.id]);
  });
});
