import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { addMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The web frontend's project and team types, field by field: every field its
// TypeScript interface declares is in our JSON under that name, with the JSON
// type the frontend reads (a Date arrives as an ISO-8601 string), and the
// requests it builds with its own field names are accepted.

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'date';
/** A frontend interface: field -> its JSON type; `?` for an optional field (absent or null is fine, else that type). */
type Shape = Record<string, `${JsonType}` | `${JsonType}?`>;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Every field of `shape` is in `body` with its type; a list of the mismatches, empty when all fit. */
function mismatches(body: Record<string, unknown>, shape: Shape): string[] {
  const found: string[] = [];
  for (const [field, declared] of Object.entries(shape)) {
    const optional = declared.endsWith('?');
    const type = declared.replace('?', '') as JsonType;
    const value = body[field];
    if (value === undefined || value === null) {
      if (!optional) found.push(`${field}: missing (${jsonTypeOf(value)})`);
      continue;
    }
    if (type === 'date') {
      if (typeof value !== 'string' || !ISO.test(value)) found.push(`${field}: not an ISO date (${JSON.stringify(value)})`);
    } else if (jsonTypeOf(value) !== type) {
      found.push(`${field}: ${jsonTypeOf(value)}, not ${type}`);
    }
  }
  return found;
}

function expectShape(body: unknown, shape: Shape): void {
  expect(body).toEqual(expect.any(Object));
  expect(mismatches(body as Record<string, unknown>, shape)).toEqual([]);
}

// types/project.ts
const PROJECT: Shape = {
  id: 'string',
  userId: 'string',
  organizationId: 'string',
  name: 'string',
  description: 'string?',
  type: 'string',
  status: 'string',
  privacy: 'string',
  chunkingStrategy: 'string',
  includeMetadata: 'boolean',
  anonymizeSecrets: 'boolean',
  totalRepos: 'number',
  totalFiles: 'number',
  originalTokens: 'number?',
  optimizedTokens: 'number?',
  ingestionTimeSeconds: 'number?',
  createdAt: 'date',
  updatedAt: 'date',
};
const PROJECT_REPOSITORY: Shape = {
  id: 'string',
  projectId: 'string',
  provider: 'string',
  repositoryUrl: 'string',
  repositoryName: 'string',
  branch: 'string',
  status: 'string',
  lastSyncAt: 'date?',
  lastCommitHash: 'string?',
  fileCount: 'number?',
  includePaths: 'array?',
  excludePaths: 'array?',
  createdAt: 'date',
  updatedAt: 'date',
};
const PROJECT_MEMBER: Shape = {
  id: 'string',
  projectId: 'string',
  userId: 'string',
  email: 'string',
  name: 'string?',
  avatarUrl: 'string?',
  role: 'string',
  notifyOnIngestion: 'boolean',
  notifyOnError: 'boolean',
  notifyOnTeamChanges: 'boolean',
  invitedAt: 'date',
  acceptedAt: 'date?',
  lastActiveAt: 'date?',
};
const INGESTION_METRICS: Shape = {
  filesProcessed: 'number',
  totalFiles: 'number',
  tokensProcessed: 'number',
  bytesProcessed: 'number',
  chunksCreated: 'number',
  errorsEncountered: 'number',
};
const INGESTION_PROGRESS: Shape = {
  id: 'string',
  projectId: 'string',
  phase: 'string',
  progressPercent: 'number',
  message: 'string',
  metrics: 'object',
  startedAt: 'date',
  estimatedCompletionAt: 'date?',
  completedAt: 'date?',
  errorMessage: 'string?',
  errorCode: 'string?',
};
/** StartIngestionResponse without wsNamespaceUrl: live updates are Server-Sent Events here, not a WebSocket namespace. */
const START_INGESTION_RESPONSE: Shape = { jobId: 'string', projectId: 'string', status: 'string', estimatedDurationSeconds: 'number' };
const PROJECT_STATS: Shape = {
  totalProjects: 'number',
  activeProjects: 'number',
  processingProjects: 'number',
  errorProjects: 'number',
  totalTokens: 'number',
  totalFiles: 'number',
};
// services/projectApi.ts
const NAME_VALIDATION: Shape = { valid: 'boolean', error: 'string?' };
const REPOSITORY_VALIDATION: Shape = { valid: 'boolean', error: 'string?', provider: 'string?', repoName: 'string?' };
const INVITATION_RESULT: Shape = { email: 'string', status: 'string', memberId: 'string?', error: 'string?' };
const BULK_INVITATION_RESPONSE: Shape = { success: 'boolean', results: 'array', totalSent: 'number', totalFailed: 'number' };
// types/settings/team.ts
const TEAM_MEMBER: Shape = {
  id: 'string',
  teamId: 'string',
  userId: 'string',
  email: 'string',
  name: 'string',
  avatarUrl: 'string?',
  role: 'string',
  status: 'string',
  joinedAt: 'date',
  lastActiveAt: 'date?',
};
const TEAM_STATS: Shape = { totalMembers: 'number', activeMembers: 'number', pendingInvites: 'number', availableSeats: 'number', maxSeats: 'number' };

let t: TestApp;
let owner: TestUser;
let colleague: TestUser;
let orgId: string;
let serviceToken: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'fe-owner');
  colleague = await newUser(t.app, 'fe-colleague');
  orgId = await newOrganization(t.app, owner, 'Frontend');
  await addMember(t, orgId, colleague, 'member');
  await t.admin.query("update public.profiles set full_name = 'Casey Colleague' where id = $1", [colleague.userId]);
  serviceToken = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
});
afterAll(() => t.close());

const api = () => as(t.app, owner, orgId);

/** A project made with the frontend's CreateProjectRequest (organizationId in the body, no header). */
async function frontendProject(type: 'repository' | 'files' | 'manual' = 'repository') {
  const res = await as(t.app, owner)
    .post('/api/v1/projects')
    .send({
      name: `Frontend ${randomUUID().slice(0, 8)}`,
      description: 'Made the way the wizard makes it',
      type,
      privacy: 'shared',
      chunkingStrategy: 'semantic',
      includeMetadata: true,
      anonymizeSecrets: true,
      organizationId: orgId,
    })
    .expect(201);
  return res.body;
}

describe("the frontend's project types", () => {
  test('Project: CreateProjectRequest (with organizationId) is accepted; every field of Project is there', async () => {
    const project = await frontendProject();
    expect(project.organizationId).toBe(orgId);
    expectShape(project, PROJECT);
    expectShape((await api().get(`/api/v1/projects/${project.id}`).expect(200)).body, PROJECT);
    expectShape((await api().get('/api/v1/projects').expect(200)).body.data[0], PROJECT);
    // A header naming another organization than the body is a 400, and nothing is made.
    const other = await newOrganization(t.app, owner, 'Elsewhere');
    const clash = await as(t.app, owner, other).post('/api/v1/projects').send({ name: `Clash ${randomUUID().slice(0, 6)}`, type: 'manual', organizationId: orgId });
    expectProblem(clash, 400);
    // An organization the caller is not in is a 404, as with the header.
    const stranger = await newUser(t.app, 'fe-stranger');
    expectProblem(await as(t.app, stranger).post('/api/v1/projects').send({ name: 'Intruder', type: 'manual', organizationId: orgId }), 404);
  });

  test('ProjectRepository: AddRepositoryRequest (with projectId) is accepted; every field is there', async () => {
    const project = await frontendProject();
    const res = await api()
      .post(`/api/v1/projects/${project.id}/repositories`)
      .send({ projectId: project.id, provider: 'github', repositoryUrl: 'https://github.com/example/frontend', branch: 'main', includePaths: ['src/**'], excludePaths: [] })
      .expect(201);
    expectShape(res.body, PROJECT_REPOSITORY);
    expect(res.body.repositoryName).toBe('example/frontend');
    expectShape((await api().get(`/api/v1/projects/${project.id}/repositories`).expect(200)).body.data[0], PROJECT_REPOSITORY);
    const other = await frontendProject();
    expectProblem(await api().post(`/api/v1/projects/${project.id}/repositories`).send({ projectId: other.id, repositoryUrl: 'https://github.com/example/x' }), 400);
  });

  test('ProjectMember: AddMemberRequest with its notification flags is accepted and stored; every field is there', async () => {
    const project = await frontendProject();
    const res = await api()
      .post(`/api/v1/projects/${project.id}/members`)
      .send({ projectId: project.id, email: colleague.email, role: 'developer', notifyOnIngestion: false, notifyOnError: true, notifyOnTeamChanges: false, inviteMessage: 'Welcome' })
      .expect(201);
    expectShape(res.body, PROJECT_MEMBER);
    expect(res.body).toMatchObject({ name: 'Casey Colleague', role: 'developer', notifyOnIngestion: false, notifyOnError: true, notifyOnTeamChanges: false });
    const listed = (await api().get(`/api/v1/projects/${project.id}/members`).expect(200)).body.data;
    const stored = listed.find((m: { userId: string }) => m.userId === colleague.userId);
    expectShape(stored, PROJECT_MEMBER);
    expect(stored).toMatchObject({ notifyOnIngestion: false, notifyOnTeamChanges: false });
    // updateMember's fields (PATCH here).
    await api().patch(`/api/v1/projects/${project.id}/members/${stored.id}`).send({ role: 'viewer', notifyOnIngestion: true }).expect(200);
  });

  test('IngestionProgress and StartIngestionResponse: StartIngestionRequest is accepted; every field is there', async () => {
    const project = await frontendProject('manual');
    const started = await api()
      .post(`/api/v1/projects/${project.id}/ingestions`)
      .send({ projectId: project.id, skipValidation: false, forceReprocess: false })
      .expect(201);
    expectShape(started.body, START_INGESTION_RESPONSE);
    expect(started.body).toMatchObject({ projectId: project.id, status: 'processing', jobId: started.body.id });
    expectShape(started.body, INGESTION_PROGRESS);
    expectShape(started.body.metrics, INGESTION_METRICS);

    const progress = (await api().get(`/api/v1/projects/${project.id}/ingestions/current`).expect(200)).body;
    expectShape(progress, INGESTION_PROGRESS);
    const reported = await request(t.app)
      .patch(`/api/v1/projects/${project.id}/ingestions/${progress.id}`)
      .set('Authorization', `Bearer ${serviceToken}`)
      .send({ phase: 'parsing', progressPercent: 30, message: 'Parsing', metrics: { filesProcessed: 3, totalFiles: 10 } })
      .expect(200);
    expectShape(reported.body, INGESTION_PROGRESS);
    expectShape(reported.body.metrics, INGESTION_METRICS);
    expectShape((await api().get(`/api/v1/projects/${project.id}?include=ingestion`).expect(200)).body.ingestion, INGESTION_PROGRESS);

    // cancelIngestion(projectId) reads { success }.
    const cancelled = await api().post(`/api/v1/projects/${project.id}/cancel-ingestion`).expect(200);
    expect(cancelled.body.success).toBe(true);
    expectShape(cancelled.body.ingestion, INGESTION_PROGRESS);
  });

  test('ProjectStats: every field is there', async () => {
    await frontendProject();
    expectShape((await api().get('/api/v1/projects/stats').expect(200)).body, PROJECT_STATS);
  });
});

describe("the frontend's project services", () => {
  test('validateProjectName reads { valid, error }: a free name is valid, a taken or malformed one is not, with an error', async () => {
    const project = await frontendProject();
    const free = (await api().post('/api/v1/projects/validate-name').send({ name: `Free ${randomUUID().slice(0, 8)}` }).expect(200)).body;
    expectShape(free, NAME_VALIDATION);
    expect(free).toMatchObject({ valid: true, error: null });
    const taken = (await api().post('/api/v1/projects/validate-name').send({ name: project.name.toUpperCase() }).expect(200)).body;
    expectShape(taken, NAME_VALIDATION);
    expect(taken).toMatchObject({ valid: false, error: expect.stringMatching(/already exists/) });
    const short = (await api().post('/api/v1/projects/validate-name').send({ name: 'ab' }).expect(200)).body;
    expect(short).toMatchObject({ valid: false, error: expect.stringMatching(/at least 3/) });
  });

  test('validateRepository: POST /projects/validate-repository answers { valid, error, provider, repoName } with the validate-url rule', async () => {
    const ok = (await api().post('/api/v1/projects/validate-repository').send({ url: 'https://github.com/example/frontend.git' }).expect(200)).body;
    expectShape(ok, REPOSITORY_VALIDATION);
    expect(ok).toEqual({ valid: true, error: null, provider: 'github', repoName: 'example/frontend' });
    const gitlab = (await api().post('/api/v1/projects/validate-repository').send({ url: 'https://gitlab.com/group/sub/app' }).expect(200)).body;
    expect(gitlab).toEqual({ valid: true, error: null, provider: 'gitlab', repoName: 'group/sub/app' });
    for (const url of ['', 'git@github.com:example/frontend.git', 'https://example.com/a/b', 'https://github.com/only-owner']) {
      const verdict = (await api().post('/api/v1/projects/validate-repository').send({ url }).expect(200)).body;
      expectShape(verdict, REPOSITORY_VALIDATION);
      expect(verdict).toMatchObject({ valid: false, provider: null, repoName: null });
      // The same words as the other form of the check: one rule.
      const other = (await api().post('/api/v1/repositories/validate-url').send({ url }).expect(200)).body;
      expect(verdict.error).toBe(other.reason);
    }
    expectProblem(await api().post('/api/v1/projects/validate-repository').send({}), 400);
    expectProblem(await api().post('/api/v1/projects/validate-repository').send({ url: 'https://github.com/a/b', extra: 1 }), 400);
    expectProblem(await request(t.app).post('/api/v1/projects/validate-repository').send({ url: 'https://github.com/a/b' }), 401);
  });

  test('sendTeamInvitations: TeamMemberInvitation[] is accepted; BulkInvitationResponse and InvitationResult fields are there', async () => {
    const project = await frontendProject();
    const res = await api()
      .post(`/api/v1/projects/${project.id}/invitations`)
      .send({
        invitations: [
          { email: `fe-${randomUUID().slice(0, 8)}@example.test`, role: 'developer', notificationLevel: 'real-time' },
          { email: 'broken', role: 'viewer', notificationLevel: 'daily' },
        ],
      })
      .expect(200);
    expectShape(res.body, BULK_INVITATION_RESPONSE);
    expect(res.body).toMatchObject({ success: false, totalSent: 1, totalFailed: 1 });
    for (const result of res.body.results) expectShape(result, INVITATION_RESULT);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['sent', 'failed']);
    // resendInvitation(projectId, memberId) and cancelInvitation(projectId, memberId) take the memberId answered.
    const memberId = res.body.results[0].memberId;
    await api().post(`/api/v1/projects/${project.id}/invitations/${memberId}/resend`).expect(200);
    await api().delete(`/api/v1/projects/${project.id}/invitations/${memberId}`).expect(204);
  });
});

describe("the frontend's team types", () => {
  test('TeamMember: every field is there, for the list and for one member', async () => {
    const list = (await api().get(`/api/v1/organizations/${orgId}/members`).expect(200)).body.data;
    const mine = list.find((m: { userId: string }) => m.userId === colleague.userId);
    expectShape(mine, TEAM_MEMBER);
    expect(mine).toMatchObject({ id: colleague.userId, teamId: orgId, name: 'Casey Colleague', role: 'member', status: 'active' });
    const one = (await api().get(`/api/v1/organizations/${orgId}/members/${mine.id}`).expect(200)).body;
    expectShape(one, TEAM_MEMBER);
    // deactivateMember / reactivateMember: the member's id is what the path takes.
    expect((await api().patch(`/api/v1/organizations/${orgId}/members/${mine.id}`).send({ status: 'inactive' }).expect(200)).body.status).toBe('inactive');
    expect((await api().patch(`/api/v1/organizations/${orgId}/members/${mine.id}`).send({ status: 'active' }).expect(200)).body.status).toBe('active');
  });

  test('TeamStats: every field is there', async () => {
    const stats = (await api().get(`/api/v1/organizations/${orgId}/team-stats`).expect(200)).body;
    expectShape(stats, TEAM_STATS);
    expect(stats).toMatchObject({ totalMembers: 2, activeMembers: 2 });
  });
});
