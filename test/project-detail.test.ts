import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { addMember, addProjectMember, as, countRoundTrips, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

let t: TestApp;
let alice: TestUser; // organization owner, creates the projects
let viewer: TestUser;
let outsider: TestUser; // organization member on no project
let mallory: TestUser; // owner of another organization
let orgId: string;
let otherOrgId: string;
let serviceToken: string;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const PROJECT_KEYS = [
  'anonymizeSecrets',
  'chunkingStrategy',
  'createdAt',
  'customSettings',
  'description',
  'id',
  'includeMetadata',
  'ingestionTimeSeconds',
  'name',
  'optimizedTokens',
  'organizationId',
  'originalTokens',
  'privacy',
  'status',
  'totalFiles',
  'totalRepos',
  'type',
  'updatedAt',
  'userId',
];

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  viewer = await newUser(t.app, 'viewer');
  outsider = await newUser(t.app, 'outsider');
  mallory = await newUser(t.app, 'mallory');
  orgId = await newOrganization(t.app, alice, 'Detail');
  otherOrgId = await newOrganization(t.app, mallory, 'Other');
  await addMember(t, orgId, viewer, 'member');
  await addMember(t, orgId, outsider, 'member');
  serviceToken = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);
const url = (projectId: string, include?: string) =>
  `/api/v1/projects/${projectId}${include === undefined ? '' : `?include=${include}`}`;

/** A private project of alice's with `viewer` on it as a viewer. */
async function createProject(body: Record<string, unknown> = {}) {
  const res = await api(alice)
    .post('/api/v1/projects')
    .send({ name: `Detail ${randomUUID().slice(0, 8)}`, type: 'repository', ...body });
  expect(res.status).toBe(201);
  await addProjectMember(t, res.body.id, viewer, 'viewer');
  return res.body;
}

/** A repository arranged directly; created_at is offset so the order is known. */
async function addRepository(projectId: string, name: string, extra: { status?: string; minutesAgo?: number } = {}) {
  const { rows } = await t.admin.query(
    `insert into public.project_repositories
       (project_id, provider, repository_url, repository_name, branch, status, last_sync_at, last_commit_hash,
        file_count, include_paths, exclude_paths, created_at)
     values ($1, 'github', $2, $3, 'main', $4::public.repository_status,
             now() - interval '1 minute' + interval '123.456 microseconds', 'abcdef1', 12,
             array['src/**'], array['vendor/**', 'dist/**'], now() - make_interval(mins => $5))
     returning *`,
    [projectId, `https://github.com/acme/${name}`, `acme/${name}`, extra.status ?? 'pending', extra.minutesAgo ?? 0],
  );
  return rows[0];
}

async function addFile(projectId: string, path: string, sizeBytes: number, processed: boolean) {
  await t.admin.query(
    `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key, processed, processed_at)
     values ($1, $2, $2, 'text/plain', $3, repeat('b', 64), $2, $4, case when $4 then now() end)`,
    [projectId, path, sizeBytes, processed],
  );
}

function worker(projectId: string, ingestionId: string, body: object) {
  return request(t.app)
    .patch(`/api/v1/projects/${projectId}/ingestions/${ingestionId}`)
    .set('Authorization', `Bearer ${serviceToken}`)
    .send(body)
    .expect(200);
}

/** Starts one whatever the project holds (a repository in error, a completed run before) and returns it as reads show it, without the start's jobId and estimate. */
async function startIngestion(projectId: string) {
  const res = await api(alice).post(`/api/v1/projects/${projectId}/ingestions`).send({ forceReprocess: true, skipValidation: true }).expect(201);
  const { jobId: _jobId, estimatedDurationSeconds: _estimate, ...ingestion } = res.body;
  return ingestion;
}

describe('GET /api/v1/projects/{projectId}?include=...', () => {
  test('without include the body is exactly the Project', async () => {
    const created = await createProject({ description: 'Plain' });
    const res = await api(viewer).get(url(created.id)).expect(200);
    expect(res.body).toEqual(created);
    expect(Object.keys(res.body).sort()).toEqual(PROJECT_KEYS);
  });

  test('repositories: none, then the stored ones in creation order, camelCase, UTC timestamps', async () => {
    const project = await createProject();
    const empty = await api(alice).get(url(project.id, 'repositories')).expect(200);
    expect(empty.body.repositories).toEqual([]);
    expect(Object.keys(empty.body).sort()).toEqual([...PROJECT_KEYS, 'repositories'].sort());

    const older = await addRepository(project.id, 'older', { status: 'connected', minutesAgo: 5 });
    const newer = await addRepository(project.id, 'newer');
    const res = await api(viewer).get(url(project.id, 'repositories')).expect(200);
    expect(res.body.totalRepos).toBe(2);
    expect(res.body.repositories).toEqual(
      [older, newer].map((row) => ({
        id: row.id,
        projectId: project.id,
        provider: 'github',
        repositoryUrl: row.repository_url,
        repositoryName: row.repository_name,
        branch: 'main',
        status: row.status,
        lastSyncAt: row.last_sync_at,
        lastCommitHash: 'abcdef1',
        fileCount: 12,
        includePaths: ['src/**'],
        excludePaths: ['vendor/**', 'dist/**'],
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      })),
    );
    for (const repository of res.body.repositories) {
      for (const key of ['lastSyncAt', 'createdAt', 'updatedAt']) expect(repository[key]).toMatch(ISO);
    }
    expect(res.body).not.toHaveProperty('members');
    expect(res.body).not.toHaveProperty('ingestion');
  });

  test('members: the creator (isCreator) and the others, with their roles', async () => {
    const project = await createProject();
    const res = await api(viewer).get(url(project.id, 'members')).expect(200);
    const stored = await t.admin.query('select * from public.project_members where project_id = $1 order by created_at, id', [project.id]);
    expect(res.body.members).toEqual(
      stored.rows.map((row) => ({
        id: row.id,
        projectId: project.id,
        userId: row.user_id,
        email: row.email,
        name: row.name,
        avatarUrl: row.avatar_url,
        role: row.role,
        notifyOnIngestion: true,
        notifyOnError: true,
        notifyOnTeamChanges: true,
        invitedAt: row.invited_at,
        acceptedAt: row.accepted_at,
        lastActiveAt: null,
        isCreator: row.user_id === alice.userId,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      })),
    );
    expect(res.body.members.map((m: { userId: string; role: string; isCreator: boolean }) => [m.userId, m.role, m.isCreator])).toEqual([
      [alice.userId, 'admin', true],
      [viewer.userId, 'viewer', false],
    ]);
    expect(res.body.members[0].acceptedAt).toMatch(ISO);
    expect(res.body).not.toHaveProperty('repositories');
  });

  test('ingestion: null, then the running one, then the latest finished; a running one wins over finished ones', async () => {
    const project = await createProject();
    expect((await api(viewer).get(url(project.id, 'ingestion')).expect(200)).body.ingestion).toBeNull();

    const first = await startIngestion(project.id);
    await worker(project.id, first.id, { phase: 'parsing', progressPercent: 30, metrics: { filesProcessed: 3 } });
    const current = await api(viewer).get(`/api/v1/projects/${project.id}/ingestions/current`).expect(200);
    const running = await api(viewer).get(url(project.id, 'ingestion')).expect(200);
    // Timestamps embedded in json come out exactly as top-level columns do.
    expect(running.body.ingestion).toEqual(current.body);
    expect(running.body.status).toBe('processing');

    const done = (await worker(project.id, first.id, { completed: true, originalTokens: 10, optimizedTokens: 7 })).body;
    const latest = await api(viewer).get(url(project.id, 'ingestion')).expect(200);
    expect(latest.body.ingestion).toEqual(done);
    expect(latest.body).toMatchObject({ status: 'active', originalTokens: 10, optimizedTokens: 7 });

    const second = await startIngestion(project.id);
    expect((await api(viewer).get(url(project.id, 'ingestion')).expect(200)).body.ingestion).toEqual(second);
    const failed = (await worker(project.id, second.id, { error: { message: 'disk full' } })).body;
    const afterFailure = await api(viewer).get(url(project.id, 'ingestion')).expect(200);
    expect(afterFailure.body.ingestion).toEqual(failed);
    expect(afterFailure.body.ingestion.status).toBe('failed');
  });

  test('everything at once, in one statement', async () => {
    const project = await createProject();
    await addRepository(project.id, 'one');
    const ingestion = await startIngestion(project.id);
    // A first request lets this instance learn the viewer's organization and role.
    await api(viewer).get(url(project.id, 'repositories,members,ingestion')).expect(200);
    let res: request.Response | undefined;
    const statements = await countRoundTrips(async () => {
      res = await api(viewer).get(url(project.id, 'repositories,members,ingestion')).expect(200);
    });
    // The transaction's opening, the one select and its end travel as one message.
    expect(statements).toBe(1);
    expect(Object.keys(res!.body).sort()).toEqual([...PROJECT_KEYS, 'ingestion', 'members', 'repositories'].sort());
    expect(res!.body.repositories.map((r: { repositoryName: string }) => r.repositoryName)).toEqual(['acme/one']);
    expect(res!.body.members).toHaveLength(2);
    expect(res!.body.ingestion).toEqual(ingestion);
    // The order of the list does not matter.
    const reordered = await api(viewer).get(url(project.id, 'ingestion,repositories,members')).expect(200);
    expect(reordered.body).toEqual(res!.body);
  });

  test('at most 100 repositories and members are embedded (the first by creation)', async () => {
    const project = await createProject();
    await t.admin.query(
      `insert into public.project_repositories (project_id, provider, repository_url, repository_name, created_at)
       select $1, 'gitlab', 'https://gitlab.com/acme/r' || n, 'acme/r' || n, now() + make_interval(secs => n)
       from generate_series(1, 105) n`,
      [project.id],
    );
    await t.admin.query(
      `with people as (
         select gen_random_uuid() as id, 'bulk-' || n || '-' || substr(md5(random()::text), 1, 8) || '@example.test' as email, n
         from generate_series(1, 104) n
       ), users as (
         insert into auth.users (id, email) select id, email from people returning id
       ), profiles as (
         insert into public.profiles (id, email) select id, email from people returning id
       )
       insert into public.project_members (project_id, user_id, email, role, created_at)
       select $1, p.id, p.email, 'developer', now() + make_interval(secs => p.n)
       from people p join profiles using (id)`,
      [project.id],
    );
    const res = await api(alice).get(url(project.id, 'repositories,members')).expect(200);
    expect(res.body.totalRepos).toBe(105);
    expect(res.body.repositories).toHaveLength(100);
    expect(res.body.repositories[0].repositoryName).toBe('acme/r1');
    expect(res.body.repositories[99].repositoryName).toBe('acme/r100');
    expect(res.body.members).toHaveLength(100);
    expect(res.body.members[0].isCreator).toBe(true);
  });

  test('400 for an unknown or repeated relation and a malformed id; 401; 404 for unknown and hidden projects', async () => {
    const project = await createProject();
    for (const include of ['files', 'repositories,files', 'members,members', 'Members']) {
      expectProblem(await api(alice).get(url(project.id, include)), 400);
    }
    expectProblem(await api(alice).get(url('not-a-uuid', 'members')), 400);
    expectProblem(await request(t.app).get(url(project.id, 'members')), 401);
    expectProblem(await api(alice).get(url(randomUUID(), 'members')), 404);
    expectProblem(await api(outsider).get(url(project.id, 'repositories,members,ingestion')), 404);
  });
});

describe('GET /api/v1/projects/{projectId}/stats', () => {
  test('a new project: zeros everywhere, every status and role present, the creator counted', async () => {
    const project = await createProject();
    const res = await api(viewer).get(`/api/v1/projects/${project.id}/stats`).expect(200);
    expect(res.body).toEqual({
      projectId: project.id,
      repositories: { total: 0, byStatus: { pending: 0, connected: 0, syncing: 0, error: 0 } },
      files: { total: 0, processed: 0, totalBytes: 0 },
      tokens: { original: 0, optimized: 0 },
      members: { total: 2, byRole: { admin: 1, manager: 0, developer: 0, viewer: 1, auditor: 0 } },
      lastIngestion: null,
      currentIngestion: null,
    });
  });

  test('counts repositories by status, files and bytes, members by role; the last and current ingestion', async () => {
    const project = await createProject();
    for (const [name, status] of [
      ['a', 'pending'],
      ['b', 'pending'],
      ['c', 'connected'],
      ['d', 'error'],
      ['e', 'syncing'],
      ['f', 'connected'],
      ['g', 'connected'],
    ] as const) {
      await addRepository(project.id, name, { status });
    }
    await addFile(project.id, 'docs/a.md', 100, true);
    await addFile(project.id, 'docs/b.md', 250, true);
    await addFile(project.id, 'big.bin', 6_000_000_000, false);
    for (const role of ['manager', 'developer', 'developer', 'auditor', 'viewer', 'admin']) {
      const user = await newUser(t.app, role);
      await addMember(t, orgId, user, 'member');
      await addProjectMember(t, project.id, user, role);
    }

    const first = await startIngestion(project.id);
    const completed = (await worker(project.id, first.id, { completed: true, originalTokens: 5000, optimizedTokens: 3100 })).body;
    const second = await startIngestion(project.id);
    const failed = (await worker(project.id, second.id, { error: { message: 'flaky network' } })).body;
    const third = await startIngestion(project.id);
    const running = (await worker(project.id, third.id, { phase: 'chunking', progressPercent: 40 })).body;

    await api(viewer).get(`/api/v1/projects/${project.id}/stats`).expect(200);
    let res: request.Response | undefined;
    const statements = await countRoundTrips(async () => {
      res = await api(viewer).get(`/api/v1/projects/${project.id}/stats`).expect(200);
    });
    // The opening travels with the one select; the commit follows.
    expect(statements).toBe(2);
    expect(res!.body).toEqual({
      projectId: project.id,
      repositories: { total: 7, byStatus: { pending: 2, connected: 3, syncing: 1, error: 1 } },
      files: { total: 3, processed: 2, totalBytes: 6_000_000_350 },
      tokens: { original: 5000, optimized: 3100 },
      members: { total: 8, byRole: { admin: 2, manager: 1, developer: 2, viewer: 2, auditor: 1 } },
      // The failed run is the most recent finished one; the completed one set the tokens.
      lastIngestion: failed,
      currentIngestion: running,
    });
    expect(completed.status).toBe('completed');
  });

  test('400 for a malformed id; 401; 404 for unknown and hidden projects', async () => {
    const project = await createProject();
    expectProblem(await api(alice).get('/api/v1/projects/xyz/stats'), 400);
    expectProblem(await request(t.app).get(`/api/v1/projects/${project.id}/stats`), 401);
    expectProblem(await api(alice).get(`/api/v1/projects/${randomUUID()}/stats`), 404);
    expectProblem(await api(outsider).get(`/api/v1/projects/${project.id}/stats`), 404);
  });
});

describe('isolation between organizations', () => {
  test('another organization\'s owner gets 404 for detail and stats, with or without the header', async () => {
    const project = await createProject();
    await addRepository(project.id, 'secret');
    await startIngestion(project.id);
    for (const header of [undefined, otherOrgId, orgId]) {
      const m = as(t.app, mallory, header);
      for (const include of [undefined, 'repositories', 'members', 'ingestion', 'repositories,members,ingestion']) {
        expectProblem(await m.get(url(project.id, include)), 404);
      }
      expectProblem(await m.get(`/api/v1/projects/${project.id}/stats`), 404);
    }
    // Service tokens skip row level security, so the user endpoints refuse them outright, whatever the header says.
    for (const header of [undefined, orgId]) {
      const service = request(t.app).get(url(project.id, 'members')).set('Authorization', `Bearer ${serviceToken}`);
      if (header) service.set('X-Organization-Id', header);
      expectProblem(await service, 403);
    }
  });
});
