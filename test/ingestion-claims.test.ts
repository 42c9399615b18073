import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { newApiKey, withKey, type TestKey } from './support/api-keys';
import { as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// Ingestion workers with an API key: list what is pending in their
// organization, claim one (exclusive under concurrency, with a lease that
// runs out when the worker goes silent), and report progress while they hold
// it. The database decides who holds what.

let t: TestApp;
let owner: TestUser;
let outsider: TestUser;
let org: string;
let orgB: string;
let workerOne: TestKey;
let workerTwo: TestKey;

const PENDING = '/api/v1/ingestions/pending';
const CLAIM = '/api/v1/ingestions/claim';

async function startIngestion(organizationId = org, user = owner): Promise<{ projectId: string; ingestionId: string }> {
  const projectId = (
    await as(t.app, user, organizationId).post('/api/v1/projects').send({ name: `Claimed ${randomUUID().slice(0, 8)}`, type: 'manual', privacy: 'shared' }).expect(201)
  ).body.id;
  const ingestionId = (await as(t.app, user, organizationId).post(`/api/v1/projects/${projectId}/ingestions`).send({}).expect(201)).body.id;
  return { projectId, ingestionId };
}

const report = (key: string, projectId: string, ingestionId: string, body: object) =>
  withKey(t.app, key).patch(`/api/v1/projects/${projectId}/ingestions/${ingestionId}`).send(body);

async function lease(ingestionId: string): Promise<{ claimed_by: string | null; lease_expires_at: string | null }> {
  return (await t.admin.query('select claimed_by, lease_expires_at from public.ingestion_progress where id = $1', [ingestionId])).rows[0];
}

beforeEach(async () => {
  // Each test has an organization of its own, so nothing pending leaks between them.
  owner = await newUser(t.app, 'claims-owner');
  org = await newOrganization(t.app, owner, 'Claims');
  workerOne = await newApiKey(t.app, owner, org, ['write']);
  workerTwo = await newApiKey(t.app, owner, org, ['write']);
});

beforeAll(async () => {
  t = createTestApp();
  outsider = await newUser(t.app, 'claims-outsider');
  orgB = await newOrganization(t.app, outsider, 'Claims B');
});
afterAll(() => t.close());

describe('listing and claiming', () => {
  test('a worker lists the pending ingestions of its organization, oldest first, and claims them', async () => {
    const first = await startIngestion();
    const second = await startIngestion();
    await startIngestion(orgB, outsider);
    const pending = await withKey(t.app, workerOne.key).get(PENDING).expect(200);
    expect(pending.body.data.map((i: { id: string }) => i.id)).toEqual([first.ingestionId, second.ingestionId]);
    expect(pending.body.data[0]).toMatchObject({ projectId: first.projectId, phase: 'repository_fetch', claimedBy: null, leaseExpiresAt: null });

    const claimed = await withKey(t.app, workerOne.key).post(CLAIM).send({}).expect(200);
    expect(claimed.body).toMatchObject({ ingestionId: first.ingestionId, projectId: first.projectId, claimedBy: workerOne.id });
    const seconds = (Date.parse(claimed.body.leaseExpiresAt) - Date.now()) / 1000;
    expect(seconds).toBeGreaterThan(100);
    expect(seconds).toBeLessThanOrEqual(121);
    // Held: no longer pending.
    const after = await withKey(t.app, workerTwo.key).get(PENDING).expect(200);
    expect(after.body.data.map((i: { id: string }) => i.id)).toEqual([second.ingestionId]);
    // The named one, and then nothing left.
    await withKey(t.app, workerTwo.key).post(CLAIM).send({ ingestionId: second.ingestionId, leaseSeconds: 30 }).expect(200);
    await withKey(t.app, workerTwo.key).post(CLAIM).expect(204);
  });

  test('claims are exclusive: 8 workers claiming 3 ingestions at once get 3 different ones, the rest nothing', async () => {
    const started = await Promise.all([startIngestion(), startIngestion(), startIngestion()]);
    const keys = [workerOne, workerTwo, ...(await Promise.all(Array.from({ length: 2 }, () => newApiKey(t.app, owner, org, ['write']))))];
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => withKey(t.app, keys[i % keys.length]!.key).post(CLAIM).send({})));
    const won = responses.filter((r) => r.status === 200).map((r) => r.body.ingestionId as string);
    expect(won.sort()).toEqual(started.map((s) => s.ingestionId).sort());
    expect(responses.filter((r) => r.status === 204)).toHaveLength(5);
  });

  test('a named ingestion another worker holds is 409; an unknown or foreign one 404', async () => {
    const { ingestionId } = await startIngestion();
    await withKey(t.app, workerOne.key).post(CLAIM).send({ ingestionId }).expect(200);
    expectProblem(await withKey(t.app, workerTwo.key).post(CLAIM).send({ ingestionId }), 409);
    expectProblem(await withKey(t.app, workerTwo.key).post(CLAIM).send({ ingestionId: randomUUID() }), 404);
    const foreign = await startIngestion(orgB, outsider);
    expectProblem(await withKey(t.app, workerTwo.key).post(CLAIM).send({ ingestionId: foreign.ingestionId }), 404);
    // B's worker sees none of A's.
    const theirs = await newApiKey(t.app, outsider, orgB, ['write']);
    const listed = (await withKey(t.app, theirs.key).get(PENDING).expect(200)).body.data.map((i: { id: string }) => i.id);
    expect(listed).not.toContain(ingestionId);
  });

  test('only keys with write or admin claim: read keys 403, people 403; bad input 400', async () => {
    await startIngestion();
    const reader = await newApiKey(t.app, owner, org, ['read']);
    await withKey(t.app, reader.key).get(PENDING).expect(200);
    expectProblem(await withKey(t.app, reader.key).post(CLAIM).send({}), 403);
    expectProblem(await as(t.app, owner, org).post(CLAIM).send({}), 403);
    expectProblem(await withKey(t.app, workerOne.key).post(CLAIM).send({ leaseSeconds: 5 }), 400);
    expectProblem(await withKey(t.app, workerOne.key).post(CLAIM).send({ ingestionId: 'nope' }), 400);
    expectProblem(await withKey(t.app, workerOne.key).post(CLAIM).send({ extra: true }), 400);
    // Nothing was claimed by any of those.
    expect((await withKey(t.app, workerOne.key).get(PENDING).expect(200)).body.data).toHaveLength(1);
  });
});

describe('reporting under a claim', () => {
  test('the holder reports (each report renews the lease) and completes; others are refused by the database', async () => {
    const { projectId, ingestionId } = await startIngestion();
    // Without a claim, even a write key is refused.
    expectProblem(await report(workerOne.key, projectId, ingestionId, { progressPercent: 10 }), 409);
    await withKey(t.app, workerOne.key).post(CLAIM).send({ ingestionId, leaseSeconds: 60 }).expect(200);
    const before = await lease(ingestionId);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const progressed = await report(workerOne.key, projectId, ingestionId, { phase: 'parsing', progressPercent: 30, message: 'Parsing' }).expect(200);
    expect(progressed.body).toMatchObject({ phase: 'parsing', progressPercent: 30 });
    const renewed = await lease(ingestionId);
    expect(Date.parse(renewed.lease_expires_at!)).toBeGreaterThan(Date.parse(before.lease_expires_at!));
    // Another worker of the same organization cannot report on it.
    expectProblem(await report(workerTwo.key, projectId, ingestionId, { progressPercent: 40 }), 409);
    // A read key cannot even try (403 before any work).
    const reader = await newApiKey(t.app, owner, org, ['read']);
    expectProblem(await report(reader.key, projectId, ingestionId, { progressPercent: 40 }), 403);
    // Another organization's key: the ingestion does not exist for it.
    const theirs = await newApiKey(t.app, outsider, orgB, ['write']);
    expectProblem(await report(theirs.key, projectId, ingestionId, { progressPercent: 40 }), 404);
    const done = await report(workerOne.key, projectId, ingestionId, { completed: true, originalTokens: 100, optimizedTokens: 60 }).expect(200);
    expect(done.body.status).toBe('completed');
    const project = await as(t.app, owner, org).get(`/api/v1/projects/${projectId}`).expect(200);
    expect(project.body.status).toBe('active');
  });

  test('a silent worker loses its claim when the lease runs out; the ingestion can be claimed again', async () => {
    const { projectId, ingestionId } = await startIngestion();
    await withKey(t.app, workerOne.key).post(CLAIM).send({ ingestionId }).expect(200);
    expectProblem(await withKey(t.app, workerTwo.key).post(CLAIM).send({ ingestionId }), 409);
    await t.admin.query("update public.ingestion_progress set lease_expires_at = now() - interval '1 second' where id = $1", [ingestionId]);
    // Pending again, showing whose claim ran out.
    const pending = (await withKey(t.app, workerTwo.key).get(PENDING).expect(200)).body.data;
    expect(pending).toEqual([expect.objectContaining({ id: ingestionId, claimedBy: workerOne.id })]);
    // The silent worker's late report is refused; the new holder's goes through.
    expectProblem(await report(workerOne.key, projectId, ingestionId, { progressPercent: 50 }), 409);
    const reclaimed = await withKey(t.app, workerTwo.key).post(CLAIM).send({}).expect(200);
    expect(reclaimed.body).toMatchObject({ ingestionId, claimedBy: workerTwo.id });
    await report(workerTwo.key, projectId, ingestionId, { progressPercent: 50 }).expect(200);
    expectProblem(await report(workerOne.key, projectId, ingestionId, { progressPercent: 60 }), 409);
  });

  test('people can still cancel a claimed ingestion; back-office tokens report without a claim', async () => {
    const { projectId, ingestionId } = await startIngestion();
    await withKey(t.app, workerOne.key).post(CLAIM).send({ ingestionId }).expect(200);
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    await request(t.app).patch(`/api/v1/projects/${projectId}/ingestions/${ingestionId}`).set('Authorization', `Bearer ${service}`).send({ progressPercent: 20 }).expect(200);
    await as(t.app, owner, org).post(`/api/v1/projects/${projectId}/ingestions/${ingestionId}/cancel`).expect(200);
    // Cancelled is final for everyone, the holder included.
    expectProblem(await report(workerOne.key, projectId, ingestionId, { progressPercent: 70 }), 409);
    await withKey(t.app, workerOne.key).post(CLAIM).expect(204);
  });
});
