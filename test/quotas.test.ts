import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { withRequestTransaction } from '../src/db/transaction';
import { problemFromDatabaseError } from '../src/db/errors';
import { createSkillRunner } from '../src/skills/runner';
import { addMember, as, createQuotaTestApp, expectProblem, newOrganization, newUser, token, type TestApp, type TestUser } from './support/harness';
import { newApiKey, withKey } from './support/api-keys';

// Quotas come from the plan of each organization (005: free has 1000 API
// calls a month, 50 ingestions, 1 GB, 1 seat, 10 oracle queries a day). The
// plans are never changed here: each test uses an organization of its own and
// sets its counter close to the limit, so other test files are unaffected.
let t: TestApp;

beforeAll(async () => {
  t = await createQuotaTestApp();
});
afterAll(() => t.close());

type Metric = 'api_calls' | 'ingestions' | 'storage' | 'seats' | 'oracle_queries';

/** Sets the organization's counter for the current period, as if that much had been used. */
async function setUsed(organizationId: string, metric: Metric, used: number): Promise<void> {
  await t.admin.query(
    `insert into public.usage_counters (organization_id, metric, period_start, used)
     select $1, $2, p.period_start, $3 from app.usage_period($2) p
     on conflict (organization_id, metric, period_start) do update set used = excluded.used`,
    [organizationId, metric, used],
  );
}

async function used(organizationId: string, metric: Metric): Promise<number> {
  // API calls are leased in blocks; what was never handed out goes back first.
  await t.apiCalls.settle();
  const { rows } = await t.admin.query<{ used: number }>(
    `select c.used from public.usage_counters c join app.usage_period($2) p on p.period_start = c.period_start
     where c.organization_id = $1 and c.metric = $2`,
    [organizationId, metric],
  );
  return Number(rows[0]?.used ?? 0);
}

async function setPlan(organizationId: string, plan: 'free' | 'pro' | 'teams' | 'enterprise'): Promise<void> {
  await t.admin.query('update public.organizations set plan_tier = $2 where id = $1', [organizationId, plan]);
}

/** Seconds since the epoch at the start of next month (UTC). */
function nextMonthEpoch(): number {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) / 1000;
}

function nextDayEpoch(): number {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) / 1000;
}

// Retry-After is counted from when the server refused, which is after the
// test started however slow the machine: the test's start bounds it from above.
let testStartedSeconds = 0;
beforeEach(() => {
  testStartedSeconds = Math.floor(Date.now() / 1000);
});

function expectQuotaProblem(res: request.Response, limit: number, reset: number): void {
  expectProblem(res, 429);
  expect(res.body.type).toBe('/problems/quota-exceeded');
  expect(res.headers['x-ratelimit-limit']).toBe(String(limit));
  expect(res.headers['x-ratelimit-remaining']).toBe('0');
  expect(res.headers['x-ratelimit-reset']).toBe(String(reset));
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(reset - testStartedSeconds);
}

async function ownerWithOrganization(label: string): Promise<{ owner: TestUser; orgId: string }> {
  const owner = await newUser(t.app, label);
  const orgId = await newOrganization(t.app, owner, label);
  return { owner, orgId };
}

async function createProject(owner: TestUser, orgId: string): Promise<string> {
  const res = await as(t.app, owner, orgId)
    .post('/api/v1/projects')
    .send({ name: `Quota ${randomUUID().slice(0, 8)}`, type: 'files' })
    .expect(201);
  return res.body.id;
}

const CHECKSUM = createHash('sha256').update('quota').digest('hex');
const fileBody = (sizeBytes: number) => ({
  name: 'blob.bin',
  path: `data/${randomUUID()}.bin`,
  mimeType: 'application/octet-stream',
  sizeBytes,
  checksum: CHECKSUM,
  storageKey: `store/${randomUUID()}`,
});

describe('API calls (per calendar month, every request made with an API key)', () => {
  /** An organization of its own with a write key, made through the API by its owner (session calls are not counted). */
  async function keyedOrganization(label: string): Promise<{ owner: TestUser; orgId: string; key: string }> {
    const { owner, orgId } = await ownerWithOrganization(label);
    const { key } = await newApiKey(t.app, owner, orgId, ['write']);
    return { owner, orgId, key };
  }

  test('successful key responses carry the quota headers, counting down, and the IETF RateLimit fields', async () => {
    const { orgId, key } = await keyedOrganization('q-headers');
    const first = await withKey(t.app, key).get('/api/v1/projects').expect(200);
    expect(first.headers['x-ratelimit-limit']).toBe('1000');
    expect(first.headers['x-ratelimit-reset']).toBe(String(nextMonthEpoch()));
    expect(first.headers['retry-after']).toBeUndefined();
    const remaining = Number(first.headers['x-ratelimit-remaining']);
    expect(remaining).toBe(1000 - (await used(orgId, 'api_calls')));
    expect(first.headers['ratelimit-policy']).toMatch(/^"monthly";q=1000;w=\d+$/);
    expect(first.headers.ratelimit).toMatch(new RegExp(`^"monthly";r=${remaining};t=\\d+$`));
    const second = await withKey(t.app, key).get(`/api/v1/organizations/${orgId}`).expect(200);
    expect(Number(second.headers['x-ratelimit-remaining'])).toBe(remaining - 1);
  });

  test("a signed-in user's own session calls are not counted (and carry the burst headers, not the quota's)", async () => {
    const { owner, orgId } = await ownerWithOrganization('q-session');
    const before = await used(orgId, 'api_calls');
    for (let i = 0; i < 5; i += 1) {
      const res = await as(t.app, owner, orgId).get('/api/v1/projects').expect(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      expect(res.headers['ratelimit-policy']).toMatch(/^"burst";/);
    }
    expect(await used(orgId, 'api_calls')).toBe(before);
  });

  test('a request is one call however many transactions it runs (waiting for an execution polls)', async () => {
    const waiting = t.variant({ skills: { runner: createSkillRunner(loadConfig({})), executeWaitMaxMs: 700 } });
    const { owner, orgId, key } = await keyedOrganization('q-wait');
    const skill = (await as(t.app, owner, orgId).post('/api/v1/skills').send({ name: 'Waited for', promptTemplate: 'Nobody runs this one here.' }).expect(201)).body;
    const before = await used(orgId, 'api_calls');
    // No worker runs in tests: the request polls the pending execution until its limit.
    const res = await withKey(waiting, key).post(`/api/v1/skills/${skill.id}/execute?wait=true`).send({ input: {} }).expect(202);
    expect(res.body.status).toBe('pending');
    expect(await used(orgId, 'api_calls')).toBe(before + 1);
    expect(Number(res.headers['x-ratelimit-remaining'])).toBe(1000 - before - 1);
  });

  test("each organization has its own counter: a key's calls count in its organization only", async () => {
    const { owner, orgId, key } = await keyedOrganization('q-own');
    const before = await used(owner.personalOrganizationId, 'api_calls');
    const orgBefore = await used(orgId, 'api_calls');
    await withKey(t.app, key, orgId).get('/api/v1/projects').expect(200);
    // Without the header a key acts in (and counts for) its own organization, never the creator's default one.
    await withKey(t.app, key).get('/api/v1/projects').expect(200);
    expect(await used(orgId, 'api_calls')).toBe(orgBefore + 2);
    expect(await used(owner.personalOrganizationId, 'api_calls')).toBe(before);
    const personal = await newApiKey(t.app, owner, owner.personalOrganizationId, ['read']);
    await withKey(t.app, personal.key).get('/api/v1/projects').expect(200);
    expect(await used(owner.personalOrganizationId, 'api_calls')).toBe(before + 1);
    expect(await used(orgId, 'api_calls')).toBe(orgBefore + 2);
  });

  test('with the last 10 calls left, 30 concurrent key requests: exactly 10 succeed, the rest are 429 with headers', async () => {
    const { orgId, key } = await keyedOrganization('q-race');
    await setUsed(orgId, 'api_calls', 990);
    const responses = await Promise.all(Array.from({ length: 30 }, () => withKey(t.app, key).get('/api/v1/projects')));
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(20);
    for (const res of refused) {
      expectQuotaProblem(res, 1000, nextMonthEpoch());
      expect(res.headers.ratelimit).toMatch(/^"monthly";r=0;t=\d+$/);
    }
    expect(refused[0]!.body.detail).toMatch(/free plan allows 1000 API calls per month/);
    expect(ok.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await used(orgId, 'api_calls')).toBe(1000);
  });

  test("a refused key request changes nothing; the owner's own session still works", async () => {
    const { owner, orgId, key } = await keyedOrganization('q-nochange');
    await setUsed(orgId, 'api_calls', 1000);
    const res = await withKey(t.app, key).post('/api/v1/projects').send({ name: 'Never made', type: 'manual' });
    expectQuotaProblem(res, 1000, nextMonthEpoch());
    const { rows } = await t.admin.query('select 1 from public.projects where organization_id = $1', [orgId]);
    expect(rows).toHaveLength(0);
    expect(await used(orgId, 'api_calls')).toBe(1000);
    await as(t.app, owner, orgId).get('/api/v1/projects').expect(200);
  });

  test('a larger plan lifts the limit at once; unlimited plans send no quota headers', async () => {
    const { orgId, key } = await keyedOrganization('q-upgrade');
    await setUsed(orgId, 'api_calls', 1000);
    expectProblem(await withKey(t.app, key).get('/api/v1/projects'), 429);
    await setPlan(orgId, 'pro');
    // Calls already leased keep the plan they were leased under (at most ten
    // seconds); after a settle the next call leases under the new plan.
    await t.apiCalls.settle();
    const pro = await withKey(t.app, key).get('/api/v1/projects').expect(200);
    expect(pro.headers['x-ratelimit-limit']).toBe('10000');
    expect(pro.headers['x-ratelimit-remaining']).toBe('8999');
    await setPlan(orgId, 'enterprise');
    await t.apiCalls.settle();
    const unlimited = await withKey(t.app, key).get('/api/v1/projects').expect(200);
    expect(unlimited.headers['x-ratelimit-limit']).toBeUndefined();
    expect(unlimited.headers.ratelimit).toBeUndefined();
    expect(await used(orgId, 'api_calls')).toBe(1002);
  });

  test('with QUOTAS_ENABLED=false nothing is refused, but usage is still counted', async () => {
    // The switch lives in the database, where only the owner may turn it.
    const open = t.variant({ quotasEnabled: false });
    await t.admin.query('update app.deployment_settings set quotas_enforced = false');
    try {
      const { orgId, key } = await keyedOrganization('q-disabled');
      await setUsed(orgId, 'api_calls', 1000);
      const res = await withKey(open, key).get('/api/v1/projects').expect(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      expect(await used(orgId, 'api_calls')).toBe(1001);
    } finally {
      await t.admin.query('update app.deployment_settings set quotas_enforced = true');
    }
  });
});

describe('seats (members of the organization)', () => {
  test('the free plan has one seat: adding a member is 429 and nothing changes', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-seat');
    const newcomer = await newUser(t.app, 'q-seat-new');
    const res = await as(t.app, owner).post(`/api/v1/organizations/${orgId}/members`).send({ email: newcomer.email });
    expectQuotaProblem(res, 1, nextMonthEpoch());
    expect(res.body.detail).toMatch(/free plan has 1 seat\(s\) and all are taken/);
    const { rows } = await t.admin.query('select 1 from public.organization_members where organization_id = $1', [orgId]);
    expect(rows).toHaveLength(1);
    expect(await used(orgId, 'seats')).toBe(1);
  });

  test('Pro has 3 seats: 6 concurrent additions to an organization of 1, exactly 2 succeed', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-seats');
    await setPlan(orgId, 'pro');
    const people = await Promise.all(Array.from({ length: 6 }, (_, i) => newUser(t.app, `q-seat-${i}`)));
    const responses = await Promise.all(
      people.map((person) => as(t.app, owner).post(`/api/v1/organizations/${orgId}/members`).send({ email: person.email })),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(2);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused).toHaveLength(4);
    for (const res of refused) expectQuotaProblem(res, 3, nextMonthEpoch());
    const { rows } = await t.admin.query('select count(*)::int as n from public.organization_members where organization_id = $1', [orgId]);
    expect(rows[0].n).toBe(3);
    expect(await used(orgId, 'seats')).toBe(3);
  });

  test('a freed seat can be taken again', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-free-seat');
    await setPlan(orgId, 'pro');
    const [a, b, c] = await Promise.all([newUser(t.app, 'q-a'), newUser(t.app, 'q-b'), newUser(t.app, 'q-c')]);
    const add = (user: TestUser) => as(t.app, owner).post(`/api/v1/organizations/${orgId}/members`).send({ email: user.email });
    await add(a!).expect(201);
    await add(b!).expect(201);
    expectProblem(await add(c!), 429);
    await as(t.app, owner).delete(`/api/v1/organizations/${orgId}/members/${a!.userId}`).expect(204);
    await add(c!).expect(201);
  });

  test('accepting a project invitation takes a seat: past the limit it is 429 and the invitation stays pending', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-invite');
    const projectId = await createProject(owner, orgId);
    const email = `q-guest-${randomUUID().slice(0, 8)}@example.test`;
    const invited = await as(t.app, owner, orgId).post(`/api/v1/projects/${projectId}/invitations`).send({ emails: [email] }).expect(200);
    const secret = invited.body.results[0].token as string;
    const bearer = token(email);
    const res = await request(t.app).post('/api/v1/invitations/accept').set('Authorization', `Bearer ${bearer}`).send({ token: secret });
    expectQuotaProblem(res, 1, nextMonthEpoch());
    const invitation = await t.admin.query('select status from public.project_invitations where project_id = $1', [projectId]);
    expect(invitation.rows[0].status).toBe('pending');
    const members = await t.admin.query('select 1 from public.project_members where project_id = $1 and email = $2', [projectId, email]);
    expect(members.rows).toHaveLength(0);
    // With a seat to spare the same invitation works.
    await setPlan(orgId, 'pro');
    await request(t.app).post('/api/v1/invitations/accept').set('Authorization', `Bearer ${bearer}`).send({ token: secret }).expect(200);
    expect(await used(orgId, 'seats')).toBe(2);
  });
});

describe('ingestions (started per month)', () => {
  test('the 51st ingestion of a free organization is 429; nothing is started', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-ingest');
    const projectId = await createProject(owner, orgId);
    await setUsed(orgId, 'ingestions', 49);
    const started = await as(t.app, owner, orgId).post(`/api/v1/projects/${projectId}/ingestions`).send({}).expect(201);
    expect(await used(orgId, 'ingestions')).toBe(50);
    await t.admin.query("update public.ingestion_progress set completed_at = now() where id = $1", [started.body.id]);
    // Forced: the project is unchanged since that completion, which alone would be a 409.
    const res = await as(t.app, owner, orgId).post(`/api/v1/projects/${projectId}/ingestions`).send({ forceReprocess: true });
    expectQuotaProblem(res, 50, nextMonthEpoch());
    expect(res.body.detail).toMatch(/50 ingestions per month/);
    const { rows } = await t.admin.query('select count(*)::int as n from public.ingestion_progress where project_id = $1', [projectId]);
    expect(rows[0].n).toBe(1);
    expect(await used(orgId, 'ingestions')).toBe(50);
  });
});

describe('storage (bytes of registered project files)', () => {
  test('registering past 1 GB on free is 429; deleting a file frees its bytes', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-storage');
    const projectId = await createProject(owner, orgId);
    const files = `/api/v1/projects/${projectId}/files`;
    const big = await as(t.app, owner, orgId).post(files).send(fileBody(600_000_000)).expect(201);
    await as(t.app, owner, orgId).post(files).send(fileBody(400_000_000)).expect(201);
    expect(await used(orgId, 'storage')).toBe(1_000_000_000);
    const res = await as(t.app, owner, orgId).post(files).send(fileBody(1));
    expectQuotaProblem(res, 1_000_000_000, nextMonthEpoch());
    expect(res.body.detail).toMatch(/1 GB of project files/);
    const { rows } = await t.admin.query('select count(*)::int as n from public.project_files where project_id = $1', [projectId]);
    expect(rows[0].n).toBe(2);
    await as(t.app, owner, orgId).delete(`${files}/${big.body.id}`).expect(204);
    expect(await used(orgId, 'storage')).toBe(400_000_000);
    await as(t.app, owner, orgId).post(files).send(fileBody(600_000_000)).expect(201);
  });

  test('a single file larger than the whole quota is refused', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-huge');
    const projectId = await createProject(owner, orgId);
    expectProblem(await as(t.app, owner, orgId).post(`/api/v1/projects/${projectId}/files`).send(fileBody(1_000_000_001)), 429);
    expect(await used(orgId, 'storage')).toBe(0);
  });

  test('deleting a project gives its files\' bytes back', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-cascade');
    const projectId = await createProject(owner, orgId);
    await as(t.app, owner, orgId).post(`/api/v1/projects/${projectId}/files`).send(fileBody(5000)).expect(201);
    expect(await used(orgId, 'storage')).toBe(5000);
    await as(t.app, owner, orgId).delete(`/api/v1/projects/${projectId}`).expect(204);
    expect(await used(orgId, 'storage')).toBe(0);
  });
});

describe('oracle queries (skill executions created per day)', () => {
  /** Runs an insert of a skill execution as the user, the way the skills API does. */
  async function execute(user: TestUser, orgId: string) {
    const identity = { role: 'authenticated' as const, userId: user.userId, email: user.email, claims: { sub: user.userId, email: user.email, role: 'authenticated' } };
    return withRequestTransaction(t.pool, identity, { requestedOrganizationId: orgId, statementTimeoutMs: 5000 }, (tx) =>
      tx.query('insert into public.skill_executions (organization_id, user_id) values ($1, $2)', [orgId, user.userId]),
    );
  }

  test('the 11th of the day on free is refused with the day\'s reset; the rollback leaves nothing', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-oracle');
    await setUsed(orgId, 'oracle_queries', 9);
    await execute(owner, orgId);
    const error = await execute(owner, orgId).then(
      () => undefined,
      (e: unknown) => e,
    );
    const problem = problemFromDatabaseError(error as Error);
    expect(problem?.status).toBe(429);
    expect(problem?.kind).toBe('quota-exceeded');
    expect(problem?.message).toMatch(/10 oracle queries \(skill executions\) per day/);
    expect(problem?.headers).toMatchObject({
      'X-RateLimit-Limit': '10',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(nextDayEpoch()),
    });
    const { rows } = await t.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [orgId]);
    expect(rows[0].n).toBe(1);
    expect(await used(orgId, 'oracle_queries')).toBe(10);
  });

  test('through the API: running a skill and sending an event are refused with 429; a file change still registers, its reflex skipped', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-oracle-api');
    const api = as(t.app, owner, orgId);
    const skill = (await api.post('/api/v1/skills').send({ name: 'Quota skill', promptTemplate: 'Summarize {{text}} briefly.' }).expect(201)).body;
    await api.post('/api/v1/reflexes').send({ skillId: skill.id, triggerType: 'file_change', triggerConfig: { paths: ['**'] } }).expect(201);
    await api.post('/api/v1/reflexes').send({ skillId: skill.id, triggerType: 'event', triggerConfig: { eventName: 'deploy' } }).expect(201);
    await setUsed(orgId, 'oracle_queries', 10);

    const run = await api.post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'x' } });
    expectProblem(run, 429);
    expect(run.headers['x-ratelimit-limit']).toBe('10');
    expectProblem(await api.post('/api/v1/events').send({ eventName: 'deploy', source: 'ci', payload: {} }), 429);

    const projectId = await createProject(owner, orgId);
    await api.post(`/api/v1/projects/${projectId}/files`).send(fileBody(10)).expect(201);
    const { rows } = await t.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [orgId]);
    expect(rows[0].n).toBe(0);
    expect(await used(orgId, 'oracle_queries')).toBe(10);
  });

  test('teams has no limit on oracle queries', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-oracle-teams');
    await setPlan(orgId, 'teams');
    await setUsed(orgId, 'oracle_queries', 5000);
    await execute(owner, orgId);
    expect(await used(orgId, 'oracle_queries')).toBe(5001);
  });
});

describe('writes outside a request identity', () => {
  test('the database owner (migrations, seeds, operators) is counted but never refused', async () => {
    const { orgId } = await ownerWithOrganization('q-owner-writes');
    const extra = await newUser(t.app, 'q-extra');
    await addMember(t, orgId, extra, 'member');
    expect(await used(orgId, 'seats')).toBe(2);
  });

  test('a direct call of the counting function by a signed-in user is refused', async () => {
    const { owner, orgId } = await ownerWithOrganization('q-direct');
    const identity = { role: 'authenticated' as const, userId: owner.userId, email: owner.email, claims: { sub: owner.userId, email: owner.email, role: 'authenticated' } };
    await expect(
      withRequestTransaction(t.pool, identity, { requestedOrganizationId: orgId, statementTimeoutMs: 5000 }, (tx) =>
        tx.query("select * from app.add_usage($1, 'api_calls', -100, false)", [orgId]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });
});
