import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// GET /projects/stats: the frontend's ProjectStats over the organization's
// projects, as far as the caller may see them.
let t: TestApp;
let owner: TestUser;
let member: TestUser; // plain member: sees shared projects only
let mallory: TestUser; // owner of another organization
let orgId: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'ps-owner');
  member = await newUser(t.app, 'ps-member');
  mallory = await newUser(t.app, 'ps-mallory');
  orgId = await newOrganization(t.app, owner, 'Project stats');
  await newOrganization(t.app, mallory, 'Elsewhere');
  await addMember(t, orgId, member, 'member');
  const create = async (name: string, privacy: 'shared' | 'private', status: string, tokens: number, files: number) => {
    const id = (await as(t.app, owner, orgId).post('/api/v1/projects').send({ name, type: 'manual', privacy }).expect(201)).body.id as string;
    await t.admin.query('update public.projects set status = $2, optimized_tokens = $3, total_files = $4 where id = $1', [id, status, tokens, files]);
  };
  await create('Active shared', 'shared', 'active', 1000, 10);
  await create('Processing shared', 'shared', 'processing', 0, 3);
  await create('Error private', 'private', 'error', 50, 2);
  await create('Draft private', 'private', 'draft', 0, 0);
});
afterAll(() => t.close());

const stats = (user: TestUser, organizationId?: string) => as(t.app, user, organizationId).get('/api/v1/projects/stats');

test("the owner's counts, in the frontend's ProjectStats shape", async () => {
  const res = await stats(owner, orgId).expect(200);
  expect(res.body).toEqual({ totalProjects: 4, activeProjects: 1, processingProjects: 1, errorProjects: 1, totalTokens: 1050, totalFiles: 15 });
});

test("a plain member counts only what they can see (others' private projects are left out)", async () => {
  const res = await stats(member, orgId).expect(200);
  expect(res.body).toEqual({ totalProjects: 2, activeProjects: 1, processingProjects: 1, errorProjects: 0, totalTokens: 1000, totalFiles: 13 });
});

test("another organization's owner gets their own (empty) counts, and 404 when naming ours", async () => {
  expect((await stats(mallory).expect(200)).body).toEqual({
    totalProjects: 0,
    activeProjects: 0,
    processingProjects: 0,
    errorProjects: 0,
    totalTokens: 0,
    totalFiles: 0,
  });
  expectProblem(await stats(mallory, orgId), 404);
  expectProblem(await stats(owner, randomUUID()), 404);
});

test('401 without a token, 400 for a malformed organization header, and one project by id still works', async () => {
  expectProblem(await request(t.app).get('/api/v1/projects/stats'), 401);
  expectProblem(await as(t.app, owner).get('/api/v1/projects/stats').set('X-Organization-Id', 'not-a-uuid'), 400);
  const listed = (await as(t.app, owner, orgId).get('/api/v1/projects').expect(200)).body.data[0];
  await as(t.app, owner, orgId).get(`/api/v1/projects/${listed.id}`).expect(200);
});
