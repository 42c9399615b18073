import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { addMember, addProjectMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

let t: TestApp;
let alice: TestUser; // owns the organization and creates the projects
let manager: TestUser; // project manager: an editor
let viewer: TestUser;
let auditor: TestUser;
let outsider: TestUser; // organization member who is on no project
let mallory: TestUser; // owner of another organization
let orgId: string;
let otherOrgId: string;
let serviceToken: string;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ZERO_METRICS = { filesProcessed: 0, totalFiles: 0, tokensProcessed: 0, bytesProcessed: 0, chunksCreated: 0, errorsEncountered: 0 };
const INGESTION_KEYS = [
  'cancelledAt',
  'completedAt',
  'errorCode',
  'errorMessage',
  'estimatedCompletionAt',
  'id',
  'message',
  'metrics',
  'optimizedTokens',
  'originalTokens',
  'phase',
  'progressPercent',
  'projectId',
  'startedAt',
  'startedBy',
  'status',
  'updatedAt',
];

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  manager = await newUser(t.app, 'manager');
  viewer = await newUser(t.app, 'viewer');
  auditor = await newUser(t.app, 'auditor');
  outsider = await newUser(t.app, 'outsider');
  mallory = await newUser(t.app, 'mallory');
  orgId = await newOrganization(t.app, alice, 'Ingest');
  otherOrgId = await newOrganization(t.app, mallory, 'Elsewhere');
  for (const user of [manager, viewer, auditor, outsider]) await addMember(t, orgId, user, 'member');
  serviceToken = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);
const base = (projectId: string) => `/api/v1/projects/${projectId}/ingestions`;

/** The ingestion worker: a service_role token, no organization unless one is given. */
function worker(projectId: string, ingestionId: string, body: unknown, organizationId?: string) {
  const test = request(t.app).patch(`${base(projectId)}/${ingestionId}`).set('Authorization', `Bearer ${serviceToken}`);
  if (organizationId) test.set('X-Organization-Id', organizationId);
  return test.send(body as object);
}

/** A private project of alice's with a manager, a viewer and an auditor on it. */
async function createProject(): Promise<{ id: string; status: string }> {
  const res = await api(alice).post('/api/v1/projects').send({ name: `Ingest ${randomUUID().slice(0, 8)}`, type: 'repository' });
  expect(res.status).toBe(201);
  for (const [user, role] of [
    [manager, 'manager'],
    [viewer, 'viewer'],
    [auditor, 'auditor'],
  ] as const) {
    await addProjectMember(t, res.body.id, user, role);
  }
  return res.body;
}

async function projectRow(projectId: string) {
  const { rows } = await t.admin.query(
    'select status, original_tokens, optimized_tokens, ingestion_time_seconds from public.projects where id = $1',
    [projectId],
  );
  return rows[0];
}

async function ingestionRows(projectId: string) {
  const { rows } = await t.admin.query(
    `select id, phase, progress_percent, message, metrics, completed_at, error_message, updated_at
     from public.ingestion_progress where project_id = $1 order by started_at, id`,
    [projectId],
  );
  return rows;
}

/**
 * Starts one and returns the ingestion as reads show it (the start's own
 * jobId and estimate checked and left out). It forces a reprocess unless
 * told otherwise: most tests run one ingestion after another completed.
 */
async function start(projectId: string, user: TestUser = alice, body: object | undefined = { forceReprocess: true }) {
  const req = api(user).post(base(projectId));
  const res = body === undefined ? await req : await req.send(body);
  expect(res.status).toBe(201);
  const { jobId, estimatedDurationSeconds, ...ingestion } = res.body;
  expect(jobId).toBe(ingestion.id);
  expect(estimatedDurationSeconds).toEqual(expect.any(Number));
  return ingestion;
}

/** Moves an ingestion's start into the past; the guard trigger forbids that to every request, so it is bypassed here. */
async function backdate(ingestionId: string, seconds: number): Promise<void> {
  const client = await t.admin.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query(`update public.ingestion_progress set started_at = started_at - make_interval(secs => $2) where id = $1`, [
      ingestionId,
      seconds,
    ]);
    await client.query('commit');
  } finally {
    client.release();
  }
}

describe('POST /api/v1/projects/{projectId}/ingestions', () => {
  test('the creator starts one: 201, processing, started by them, with its estimate; the project becomes processing', async () => {
    const project = await createProject();
    const res = await api(alice).post(base(project.id)).send({ message: 'Nightly re-index' }).expect(201);
    expect(Object.keys(res.body).sort()).toEqual([...INGESTION_KEYS, 'estimatedDurationSeconds', 'jobId'].sort());
    // No history and no repository or file: the size-based estimate's fixed start.
    expect(res.body.estimatedDurationSeconds).toBe(30);
    expect(Date.parse(res.body.estimatedCompletionAt) - Date.parse(res.body.startedAt)).toBeGreaterThanOrEqual(29_000);
    expect(res.body).toEqual({
      id: expect.any(String),
      jobId: res.body.id,
      estimatedDurationSeconds: 30,
      projectId: project.id,
      status: 'processing',
      phase: 'repository_fetch',
      progressPercent: 0,
      message: 'Nightly re-index',
      metrics: ZERO_METRICS,
      startedAt: expect.stringMatching(ISO),
      estimatedCompletionAt: expect.stringMatching(ISO),
      completedAt: null,
      cancelledAt: null,
      errorMessage: null,
      errorCode: null,
      originalTokens: null,
      optimizedTokens: null,
      startedBy: alice.userId,
      updatedAt: expect.stringMatching(ISO),
    });
    expect((await projectRow(project.id)).status).toBe('processing');
    expect((await api(viewer).get(`/api/v1/projects/${project.id}`).expect(200)).body.status).toBe('processing');
  });

  test('the body is optional; a project manager may start one', async () => {
    const project = await createProject();
    const res = await api(manager).post(base(project.id)).expect(201);
    expect(res.body).toMatchObject({ message: '', startedBy: manager.userId, status: 'processing' });
  });

  test('viewers and auditors read but cannot start (403); nothing is stored', async () => {
    const project = await createProject();
    for (const user of [viewer, auditor]) {
      await api(user).get(base(project.id)).expect(200);
      expectProblem(await api(user).post(base(project.id)).send({ message: 'mine' }), 403);
    }
    expect(await ingestionRows(project.id)).toEqual([]);
    expect((await projectRow(project.id)).status).toBe('draft');
  });

  test('409 while one is unfinished; only one row exists', async () => {
    const project = await createProject();
    await start(project.id);
    const clash = await api(manager).post(base(project.id)).send({});
    expectProblem(clash, 409);
    expect(clash.body.detail).toMatch(/unfinished/);
    expect(await ingestionRows(project.id)).toHaveLength(1);
  });

  test.each([
    ['an unknown field', { message: 'x', phase: 'indexing' }],
    ['a message that is too long', { message: 'x'.repeat(2001) }],
    ['a message that is not text', { message: 42 }],
    ['a message that is an object', { message: { text: 'x' } }],
    ['a body that is not an object', [1, 2]],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const project = await createProject();
    const res = await api(alice).post(base(project.id)).send(body);
    expectProblem(res, 400);
    expect(await ingestionRows(project.id)).toEqual([]);
  });

  test('400 for a malformed project id; 401 without a token; 404 for unknown, hidden and foreign projects', async () => {
    const project = await createProject();
    expectProblem(await api(alice).post(base('not-a-uuid')).send({}), 400);
    expectProblem(await request(t.app).post(base(project.id)).send({}), 401);
    expectProblem(await api(alice).post(base(randomUUID())).send({}), 404);
    // A private project is invisible to an organization member who is not on it.
    expectProblem(await api(outsider).post(base(project.id)).send({}), 404);
    expect(await ingestionRows(project.id)).toEqual([]);
  });

  test('a service token cannot start one (403): starting is for people', async () => {
    const project = await createProject();
    const res = await request(t.app)
      .post(base(project.id))
      .set('Authorization', `Bearer ${serviceToken}`)
      .set('X-Organization-Id', orgId)
      .send({});
    expectProblem(res, 403);
    expect(await ingestionRows(project.id)).toEqual([]);
  });
});

describe('GET /api/v1/projects/{projectId}/ingestions', () => {
  test('any reader gets the history newest first, paged', async () => {
    const project = await createProject();
    const first = await start(project.id);
    await worker(project.id, first.id, { completed: true }).expect(200);
    const second = await start(project.id);
    await worker(project.id, second.id, { error: { message: 'boom' } }).expect(200);
    const third = await start(project.id, manager);

    const all = await api(viewer).get(base(project.id)).expect(200);
    expect(all.body).toMatchObject({ total: 3, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(all.body.data.map((i: { id: string }) => i.id)).toEqual([third.id, second.id, first.id]);
    expect(all.body.data.map((i: { status: string }) => i.status)).toEqual(['processing', 'failed', 'completed']);

    const page1 = await api(auditor).get(`${base(project.id)}?pageSize=2`).expect(200);
    expect(page1.body).toMatchObject({ total: 3, page: 1, pageSize: 2, hasMore: true });
    expect(page1.body.data.map((i: { id: string }) => i.id)).toEqual([third.id, second.id]);
    const page2 = await api(auditor).get(`${base(project.id)}?pageSize=2&page=2`).expect(200);
    expect(page2.body).toMatchObject({ total: 3, page: 2, hasMore: false });
    expect(page2.body.data.map((i: { id: string }) => i.id)).toEqual([first.id]);
  });

  test('an empty history; 400 for bad paging; 401; 404', async () => {
    const project = await createProject();
    const empty = await api(alice).get(base(project.id)).expect(200);
    expect(empty.body).toEqual({ data: [], total: 0, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expectProblem(await api(alice).get(`${base(project.id)}?pageSize=0`), 400);
    expectProblem(await api(alice).get(`${base(project.id)}?page=0`), 400);
    expectProblem(await api(alice).get(`${base(project.id)}?sort=phase`), 400);
    expectProblem(await request(t.app).get(base(project.id)), 401);
    expectProblem(await api(alice).get(base(randomUUID())), 404);
    expectProblem(await api(outsider).get(base(project.id)), 404);
  });
});

describe('GET /api/v1/projects/{projectId}/ingestions/current', () => {
  test('the unfinished one, else null (200: the frontend polls it)', async () => {
    const project = await createProject();
    const none = await api(viewer).get(`${base(project.id)}/current`).expect(200);
    expect(none.body).toBeNull();
    expect(none.headers['content-type']).toMatch(/^application\/json/);
    const started = await start(project.id);
    const current = await api(viewer).get(`${base(project.id)}/current`).expect(200);
    expect(current.body).toEqual(started);
    await worker(project.id, started.id, { completed: true }).expect(200);
    expect((await api(viewer).get(`${base(project.id)}/current`).expect(200)).body).toBeNull();
  });

  test('400 for a malformed id; 401; 404 for unknown and hidden projects', async () => {
    const project = await createProject();
    await start(project.id);
    expectProblem(await api(alice).get(`${base('123')}/current`), 400);
    expectProblem(await request(t.app).get(`${base(project.id)}/current`), 401);
    expectProblem(await api(alice).get(`${base(randomUUID())}/current`), 404);
    expectProblem(await api(outsider).get(`${base(project.id)}/current`), 404);
  });
});

describe('PATCH /api/v1/projects/{projectId}/ingestions/{ingestionId} (workers)', () => {
  test('the whole run: phases forward, metrics merged, completion with totals; the project follows', async () => {
    const project = await createProject();
    const started = await start(project.id, manager);
    expect((await projectRow(project.id)).status).toBe('processing');

    const eta = new Date(Date.now() + 10 * 60_000).toISOString();
    const parsing = await worker(project.id, started.id, {
      phase: 'parsing',
      progressPercent: 20,
      message: 'Parsing 100 files',
      metrics: { filesProcessed: 10, totalFiles: 100 },
      estimatedCompletionAt: eta,
    }).expect(200);
    expect(parsing.body).toMatchObject({
      id: started.id,
      status: 'processing',
      phase: 'parsing',
      progressPercent: 20,
      message: 'Parsing 100 files',
      metrics: { ...ZERO_METRICS, filesProcessed: 10, totalFiles: 100 },
      estimatedCompletionAt: eta,
      startedBy: manager.userId,
    });

    // The organization header may come along; it changes nothing for a worker.
    const chunking = await worker(
      project.id,
      started.id,
      { phase: 'chunking', progressPercent: 55, metrics: { filesProcessed: 55, chunksCreated: 300 } },
      orgId,
    ).expect(200);
    expect(chunking.body.metrics).toEqual({ ...ZERO_METRICS, filesProcessed: 55, totalFiles: 100, chunksCreated: 300 });
    expect(chunking.body.message).toBe('Parsing 100 files');

    // Staying in a phase is not going back.
    const same = await worker(project.id, started.id, { phase: 'chunking', progressPercent: 60, message: null }).expect(200);
    expect(same.body).toMatchObject({ phase: 'chunking', progressPercent: 60, message: '' });

    const current = await api(viewer).get(`${base(project.id)}/current`).expect(200);
    expect(current.body).toEqual(same.body);

    await backdate(started.id, 90);
    const done = await worker(project.id, started.id, {
      phase: 'indexing',
      completed: true,
      originalTokens: 120_000,
      optimizedTokens: 80_000,
      metrics: { tokensProcessed: 120_000 },
    }).expect(200);
    expect(done.body).toMatchObject({
      status: 'completed',
      phase: 'indexing',
      progressPercent: 100,
      completedAt: expect.stringMatching(ISO),
      originalTokens: 120_000,
      optimizedTokens: 80_000,
      errorMessage: null,
    });
    expect(done.body.metrics.tokensProcessed).toBe(120_000);
    expect(Date.parse(done.body.completedAt) - Date.parse(done.body.startedAt)).toBeGreaterThanOrEqual(90_000);

    const after = await api(alice).get(`/api/v1/projects/${project.id}`).expect(200);
    expect(after.body).toMatchObject({ status: 'active', originalTokens: 120_000, optimizedTokens: 80_000 });
    expect(after.body.ingestionTimeSeconds).toBeGreaterThanOrEqual(90);
    expect(after.body.ingestionTimeSeconds).toBeLessThan(120);

    expect((await api(alice).get(`${base(project.id)}/current`).expect(200)).body).toBeNull();
    const history = await api(viewer).get(base(project.id)).expect(200);
    expect(history.body.data).toHaveLength(1);
    expect(history.body.data[0]).toEqual(done.body);

    // Finished is final.
    const late = await worker(project.id, started.id, { progressPercent: 10 });
    expectProblem(late, 409);
    expect(late.body.detail).toMatch(/finished/);

    // A new run may start now.
    const next = await start(project.id, alice);
    expect(next.id).not.toBe(started.id);
    expect((await projectRow(project.id)).status).toBe('processing');
    const list = await api(alice).get(base(project.id)).expect(200);
    expect(list.body.data.map((i: { id: string }) => i.id)).toEqual([next.id, started.id]);
  });

  test('a failure: the project becomes error; the failure is final', async () => {
    const project = await createProject();
    const started = await start(project.id);
    const failed = await worker(project.id, started.id, {
      phase: 'parsing',
      error: { message: 'Repository unreachable', code: 'FETCH_FAILED' },
    }).expect(200);
    expect(failed.body).toMatchObject({
      status: 'failed',
      phase: 'parsing',
      errorMessage: 'Repository unreachable',
      errorCode: 'FETCH_FAILED',
      completedAt: null,
    });
    expect((await projectRow(project.id)).status).toBe('error');
    expect((await api(alice).get(`${base(project.id)}/current`).expect(200)).body).toBeNull();

    expectProblem(await worker(project.id, started.id, { completed: true }), 409);
    expectProblem(await worker(project.id, started.id, { error: { message: 'again' } }), 409);
    const [row] = await ingestionRows(project.id);
    expect(row).toMatchObject({ error_message: 'Repository unreachable', completed_at: null });
    expect((await projectRow(project.id)).status).toBe('error');

    // A failure without a code.
    const retry = await start(project.id);
    const bare = await worker(project.id, retry.id, { error: { message: 'out of memory' } }).expect(200);
    expect(bare.body).toMatchObject({ status: 'failed', errorMessage: 'out of memory', errorCode: null });
  });

  test('a phase may not go back (409) and the row stays as it was', async () => {
    const project = await createProject();
    const started = await start(project.id);
    await worker(project.id, started.id, { phase: 'optimization', progressPercent: 70 }).expect(200);
    const before = await ingestionRows(project.id);
    const back = await worker(project.id, started.id, { phase: 'parsing', progressPercent: 75 });
    expectProblem(back, 409);
    expect(back.body.detail).toMatch(/forward/);
    expect(await ingestionRows(project.id)).toEqual(before);
  });

  test('a user token gets 403, even the creator\'s and an organization owner\'s; no token is 401', async () => {
    const project = await createProject();
    const started = await start(project.id);
    const before = await ingestionRows(project.id);
    for (const user of [alice, manager, viewer]) {
      expectProblem(await api(user).patch(`${base(project.id)}/${started.id}`).send({ progressPercent: 50 }), 403);
    }
    expectProblem(await request(t.app).patch(`${base(project.id)}/${started.id}`).send({ progressPercent: 50 }), 401);
    expect(await ingestionRows(project.id)).toEqual(before);
  });

  test.each([
    ['progress over 100', { progressPercent: 101 }],
    ['progress as text', { progressPercent: '50' }],
    ['completed as text', { completed: 'true' }],
    ['negative progress', { progressPercent: -1 }],
    ['an unknown field', { progressPercent: 10, status: 'completed' }],
    ['an unknown metric', { metrics: { linesRead: 3 } }],
    ['a negative metric', { metrics: { filesProcessed: -3 } }],
    ['empty metrics', { metrics: {} }],
    ['an empty body', {}],
    ['an unknown phase', { phase: 'embedding' }],
    ['completed: false', { completed: false }],
    ['completed together with an error', { completed: true, error: { message: 'both' } }],
    ['token totals without completion', { originalTokens: 10 }],
    ['an error without a message', { error: { code: 'X' } }],
    ['a malformed completion estimate', { estimatedCompletionAt: 'tomorrow' }],
  ])('400 for %s, and nothing changes', async (_label, body) => {
    const project = await createProject();
    const started = await start(project.id);
    const before = await ingestionRows(project.id);
    expectProblem(await worker(project.id, started.id, body), 400);
    expect(await ingestionRows(project.id)).toEqual(before);
    expect((await projectRow(project.id)).status).toBe('processing');
  });

  test('400 for malformed ids; 404 for an unknown ingestion and for one of another project', async () => {
    const project = await createProject();
    const other = await createProject();
    const started = await start(project.id);
    expectProblem(await worker(project.id, 'nope', { progressPercent: 1 }), 400);
    expectProblem(await worker('nope', started.id, { progressPercent: 1 }), 400);
    expectProblem(await worker(project.id, randomUUID(), { progressPercent: 1 }), 404);
    // The service role sees every row: the ids must match each other, not just exist.
    const mismatched = await worker(other.id, started.id, { progressPercent: 99, completed: true });
    expectProblem(mismatched, 404);
    const [row] = await ingestionRows(project.id);
    expect(row).toMatchObject({ progress_percent: 0, completed_at: null });
    expect((await projectRow(project.id)).status).toBe('processing');
    expect((await projectRow(other.id)).status).toBe('draft');
  });
});

describe('isolation between organizations', () => {
  test('another organization\'s owner gets 404 everywhere, with or without the header, and nothing changes', async () => {
    const project = await createProject();
    const started = await start(project.id);
    const before = await ingestionRows(project.id);
    for (const header of [undefined, otherOrgId, orgId]) {
      const m = as(t.app, mallory, header);
      expectProblem(await m.get(base(project.id)), 404);
      expectProblem(await m.get(`${base(project.id)}/current`), 404);
      expectProblem(await m.post(base(project.id)).send({ message: 'hijack' }), 404);
      expectProblem(await m.get(`/api/v1/projects/${project.id}`), 404);
      expectProblem(await m.get(`/api/v1/projects/${project.id}?include=repositories,members,ingestion`), 404);
      expectProblem(await m.get(`/api/v1/projects/${project.id}/stats`), 404);
      // A user token is refused before any lookup.
      expectProblem(await m.patch(`${base(project.id)}/${started.id}`).send({ completed: true }), 403);
    }
    expect(await ingestionRows(project.id)).toEqual(before);
    expect((await projectRow(project.id)).status).toBe('processing');

    // Mallory's own project cannot be reached through alice's ingestion either.
    const mine = await as(t.app, mallory, otherOrgId)
      .post('/api/v1/projects')
      .send({ name: `Mine ${randomUUID().slice(0, 6)}`, type: 'manual' })
      .expect(201);
    expectProblem(await worker(mine.body.id, started.id, { error: { message: 'sabotage' } }), 404);
    expect(await ingestionRows(project.id)).toEqual(before);
    expect((await projectRow(mine.body.id)).status).toBe('draft');
  });
});

describe('starting again: forceReprocess', () => {
  test('after a completed ingestion with nothing changed: 409 ingestion_up_to_date without it, 201 with it', async () => {
    const project = await createProject();
    const first = await start(project.id, alice, undefined);
    await worker(project.id, first.id, { completed: true }).expect(200);
    const refused = await api(alice).post(base(project.id)).send({});
    expectProblem(refused, 409);
    expect(refused.body.code).toBe('ingestion_up_to_date');
    expect(await ingestionRows(project.id)).toHaveLength(1);
    expect((await projectRow(project.id)).status).toBe('active');
    await api(alice).post(base(project.id)).send({ forceReprocess: false }).expect(409);
    const forced = await api(alice).post(base(project.id)).send({ forceReprocess: true }).expect(201);
    expect(forced.body.status).toBe('processing');
  });

  test('a change after the completion (settings, a repository, a file) makes it due again without forcing', async () => {
    const project = await createProject();
    const editsSettings = async () => {
      await api(alice).patch(`/api/v1/projects/${project.id}`).send({ description: `Changed ${randomUUID()}` }).expect(200);
    };
    const addsRepository = async () => {
      await api(alice)
        .post(`/api/v1/projects/${project.id}/repositories`)
        .send({ repositoryUrl: `https://github.com/acme/r-${randomUUID().slice(0, 8)}` })
        .expect(201);
    };
    const registersFile = async () => {
      await api(alice)
        .post(`/api/v1/projects/${project.id}/files`)
        .send({ name: 'a.md', path: `docs/${randomUUID().slice(0, 8)}.md`, mimeType: 'text/markdown', sizeBytes: 10, checksum: 'a'.repeat(64), storageKey: `k/${randomUUID()}` })
        .expect(201);
    };
    for (const change of [editsSettings, addsRepository, registersFile]) {
      const run = await start(project.id);
      await worker(project.id, run.id, { completed: true }).expect(200);
      expectProblem(await api(alice).post(base(project.id)).send({}), 409);
      await change();
      await api(alice).post(base(project.id)).send({}).expect(201);
      const current = (await api(alice).get(`${base(project.id)}/current`).expect(200)).body;
      await worker(project.id, current.id, { completed: true }).expect(200);
    }
  });

  test('after a failed or cancelled ingestion a retry needs no forcing', async () => {
    const project = await createProject();
    const failed = await start(project.id, alice, undefined);
    await worker(project.id, failed.id, { error: { message: 'boom' } }).expect(200);
    const retry = await api(alice).post(base(project.id)).send({}).expect(201);
    await api(alice).post(`${base(project.id)}/${retry.body.id}/cancel`).expect(200);
    await api(alice).post(base(project.id)).send({}).expect(201);
  });
});

describe('starting: skipValidation and the repository check', () => {
  test('a repository in status error refuses the start (422 naming it); skipValidation starts anyway', async () => {
    const project = await createProject();
    const repo = await api(alice)
      .post(`/api/v1/projects/${project.id}/repositories`)
      .send({ repositoryUrl: 'https://github.com/acme/broken-repo' })
      .expect(201);
    await api(alice).patch(`/api/v1/projects/${project.id}/repositories/${repo.body.id}`).send({ status: 'error' }).expect(200);
    const refused = await api(manager).post(base(project.id)).send({ message: 'try' });
    expectProblem(refused, 422);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: '/body/skipValidation', message: expect.stringContaining('acme/broken-repo') })]);
    expect(await ingestionRows(project.id)).toEqual([]);
    await api(manager).post(base(project.id)).send({ skipValidation: false }).expect(422);
    const skipped = await api(manager).post(base(project.id)).send({ skipValidation: true }).expect(201);
    expect(skipped.body.status).toBe('processing');
  });

  test('the frontend sends projectId in the body: the path\'s is accepted, another is 400', async () => {
    const project = await createProject();
    const other = await createProject();
    expectProblem(await api(alice).post(base(project.id)).send({ projectId: other.id }), 400);
    expect(await ingestionRows(project.id)).toEqual([]);
    await api(alice).post(base(project.id)).send({ projectId: project.id, skipValidation: false, forceReprocess: false }).expect(201);
  });

  test.each([
    ['skipValidation as text', { skipValidation: 'yes' }],
    ['forceReprocess as a number', { forceReprocess: 1 }],
    ['a projectId that is no uuid', { projectId: 'abc' }],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const project = await createProject();
    expectProblem(await api(alice).post(base(project.id)).send(body), 400);
    expect(await ingestionRows(project.id)).toEqual([]);
  });
});

describe('the estimate', () => {
  test('from the project\'s size without history; the mean of the last three completed runs with it', async () => {
    const project = await createProject();
    await api(alice).post(`/api/v1/projects/${project.id}/repositories`).send({ repositoryUrl: 'https://github.com/acme/sized' }).expect(201);
    for (let i = 0; i < 2; i += 1) {
      await api(alice)
        .post(`/api/v1/projects/${project.id}/files`)
        .send({ name: 'big.bin', path: `big-${i}.bin`, mimeType: 'application/octet-stream', sizeBytes: 10_000_000, checksum: 'b'.repeat(64), storageKey: `k/${randomUUID()}` })
        .expect(201);
    }
    // 30 + 20 per repository + 0.05 per file + 20 MB at 2 MB/s = 60.1, rounded up.
    const first = await api(alice).post(base(project.id)).send({}).expect(201);
    expect(first.body.estimatedDurationSeconds).toBe(61);

    const durations = [100, 200, 400, 900];
    let last = first.body.id as string;
    for (const [index, seconds] of durations.entries()) {
      if (index > 0) last = (await start(project.id)).id;
      await backdate(last, seconds);
      await worker(project.id, last, { completed: true }).expect(200);
    }
    // The last three: 200, 400 and 900 seconds (and the moments each took to complete, so 500 or just over).
    const next = await api(alice).post(base(project.id)).send({ forceReprocess: true }).expect(201);
    expect(next.body.estimatedDurationSeconds).toBeGreaterThanOrEqual(500);
    expect(next.body.estimatedDurationSeconds).toBeLessThanOrEqual(502);
    const eta = Date.parse(next.body.estimatedCompletionAt) - Date.parse(next.body.startedAt);
    expect(eta).toBeGreaterThanOrEqual(499_000);
    expect(eta).toBeLessThan(512_000);
  });
});

describe('cancelling', () => {
  test('POST .../ingestions/{id}/cancel: processing becomes cancelled; the project goes back to draft; workers are refused', async () => {
    const project = await createProject();
    const started = await start(project.id, manager);
    const res = await api(manager).post(`${base(project.id)}/${started.id}/cancel`).expect(200);
    expect(res.body).toEqual({ success: true, ingestion: { ...started, status: 'cancelled', cancelledAt: expect.stringMatching(ISO), updatedAt: expect.any(String) } });
    expect((await projectRow(project.id)).status).toBe('draft');
    expect((await api(viewer).get(`${base(project.id)}/current`).expect(200)).body).toBeNull();
    expectProblem(await worker(project.id, started.id, { progressPercent: 50 }), 409);
    // Cancelling again, or cancelling a completed one, is a 409.
    expectProblem(await api(manager).post(`${base(project.id)}/${started.id}/cancel`), 409);
    const next = await start(project.id);
    await worker(project.id, next.id, { completed: true }).expect(200);
    const done = await api(alice).post(`${base(project.id)}/${next.id}/cancel`);
    expectProblem(done, 409);
    expect((await api(alice).get(base(project.id)).expect(200)).body.data.map((i: { status: string }) => i.status)).toEqual(['completed', 'cancelled']);
  });

  test('POST /projects/{id}/cancel-ingestion (the frontend\'s): the unfinished one; 409 when none; the project goes back to active after an earlier completion', async () => {
    const project = await createProject();
    expectProblem(await api(alice).post(`/api/v1/projects/${project.id}/cancel-ingestion`), 409);
    const first = await start(project.id);
    await worker(project.id, first.id, { completed: true }).expect(200);
    const second = await start(project.id);
    const res = await api(alice).post(`/api/v1/projects/${project.id}/cancel-ingestion`).expect(200);
    expect(res.body).toMatchObject({ success: true, ingestion: { id: second.id, status: 'cancelled' } });
    expect((await projectRow(project.id)).status).toBe('active');
    expectProblem(await api(alice).post(`/api/v1/projects/${project.id}/cancel-ingestion`), 409);
  });

  test('viewers and auditors cannot cancel (403); malformed ids 400; unknown ones 404; nothing changes', async () => {
    const project = await createProject();
    const started = await start(project.id);
    for (const user of [viewer, auditor]) {
      expectProblem(await api(user).post(`${base(project.id)}/${started.id}/cancel`), 403);
      expectProblem(await api(user).post(`/api/v1/projects/${project.id}/cancel-ingestion`), 403);
    }
    expectProblem(await api(alice).post(`${base(project.id)}/nope/cancel`), 400);
    expectProblem(await api(alice).post(`/api/v1/projects/nope/cancel-ingestion`), 400);
    expectProblem(await api(alice).post(`${base(project.id)}/${randomUUID()}/cancel`), 404);
    expectProblem(await api(outsider).post(`${base(project.id)}/${started.id}/cancel`), 404);
    expectProblem(await request(t.app).post(`/api/v1/projects/${project.id}/cancel-ingestion`), 401);
    const [row] = await ingestionRows(project.id);
    expect(row).toMatchObject({ completed_at: null, error_message: null });
    expect((await projectRow(project.id)).status).toBe('processing');
  });

  test('the database keeps the transitions: a finished ingestion cannot be cancelled, nor a cancellation undone or backdated', async () => {
    const project = await createProject();
    const started = await start(project.id);
    await worker(project.id, started.id, { completed: true }).expect(200);
    await expect(t.admin.query('update public.ingestion_progress set cancelled_at = now() where id = $1', [started.id])).rejects.toMatchObject({ code: '55000' });
    const second = await start(project.id);
    await t.admin.query("update public.ingestion_progress set cancelled_at = now() - interval '1 day' where id = $1", [second.id]);
    const { rows } = await t.admin.query('select cancelled_at > now() - interval \'1 minute\' as recent from public.ingestion_progress where id = $1', [second.id]);
    expect(rows[0].recent).toBe(true);
    await expect(t.admin.query('update public.ingestion_progress set cancelled_at = null where id = $1', [second.id])).rejects.toMatchObject({ code: '55000' });
    await expect(
      t.admin.query('update public.ingestion_progress set cancelled_at = now(), completed_at = now() where id = $1', [(await start(project.id)).id]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  test('isolation: another organization\'s owner gets 404 and the ingestion runs on', async () => {
    const project = await createProject();
    const started = await start(project.id);
    for (const header of [undefined, otherOrgId, orgId]) {
      const m = as(t.app, mallory, header);
      expectProblem(await m.post(`${base(project.id)}/${started.id}/cancel`), 404);
      expectProblem(await m.post(`/api/v1/projects/${project.id}/cancel-ingestion`), 404);
    }
    expect((await api(alice).get(`${base(project.id)}/current`).expect(200)).body.id).toBe(started.id);
  });
});
