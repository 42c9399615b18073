import pg from 'pg';
import { API_CALL_LEASE_BLOCK, ApiCallLeases } from '../src/db/api-call-leases';
import { withRequestTransaction } from '../src/db/transaction';
import { newApiKey, withKey } from './support/api-keys';
import { addMember, as, countRoundTrips, createQuotaTestApp, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// A request whose caller this instance already knows travels in one round
// trip, and the database confirms what the instance assumed in that same
// transaction: a change of membership, role, default organization or key is
// in force on the very next request, however recently the caller was seen.

let t: TestApp;
let owner: TestUser;
let colleague: TestUser;
let org: string;
let otherOrg: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'fast-owner');
  colleague = await newUser(t.app, 'fast-colleague');
  org = await newOrganization(t.app, owner, 'Fast A');
  otherOrg = await newOrganization(t.app, owner, 'Fast B');
  await addMember(t, org, colleague, 'admin');
});

afterAll(async () => {
  await t.close();
});

test('a known caller reads a project in one round trip, and creates one in one', async () => {
  const created = await as(t.app, colleague, org).post('/api/v1/projects').send({ name: 'One Trip', type: 'manual' }).expect(201);
  await as(t.app, colleague, org).get(`/api/v1/projects/${created.body.id}`).expect(200);
  expect(await countRoundTrips(() => as(t.app, colleague, org).get(`/api/v1/projects/${created.body.id}`).expect(200))).toBe(1);
  expect(await countRoundTrips(() => as(t.app, colleague, org).post('/api/v1/projects').send({ name: 'One More', type: 'manual' }).expect(201))).toBe(1);
});

test('a role taken away is in force on the next request', async () => {
  await as(t.app, colleague, org).get('/api/v1/audit-log').expect(200);
  await t.admin.query(`update public.organization_members set role = 'member' where organization_id = $1 and user_id = $2`, [org, colleague.userId]);
  try {
    expectProblem(await as(t.app, colleague, org).get('/api/v1/audit-log'), 403);
  } finally {
    await t.admin.query(`update public.organization_members set role = 'admin' where organization_id = $1 and user_id = $2`, [org, colleague.userId]);
  }
  await as(t.app, colleague, org).get('/api/v1/audit-log').expect(200);
});

test('a member removed or deactivated is refused on the next request', async () => {
  const member = await newUser(t.app, 'fast-member');
  await addMember(t, org, member, 'member');
  await as(t.app, member, org).get('/api/v1/projects').expect(200);
  await t.admin.query(`update public.organization_members set status = 'inactive' where organization_id = $1 and user_id = $2`, [org, member.userId]);
  expectProblem(await as(t.app, member, org).get('/api/v1/projects'), 404);
  await t.admin.query(`update public.organization_members set status = 'active' where organization_id = $1 and user_id = $2`, [org, member.userId]);
  await as(t.app, member, org).get('/api/v1/projects').expect(200);
  await t.admin.query('delete from public.organization_members where organization_id = $1 and user_id = $2', [org, member.userId]);
  expectProblem(await as(t.app, member, org).get('/api/v1/projects'), 404);
});

test('without a header, a changed default organization is the one acted in next', async () => {
  const inOrg = await as(t.app, owner).post('/api/v1/projects').send({ name: 'Default Here', type: 'manual' }).expect(201);
  const defaultOrg = inOrg.body.organizationId as string;
  const next = defaultOrg === otherOrg ? org : otherOrg;
  await t.admin.query('update public.profiles set default_organization_id = $2 where id = $1', [owner.userId, next]);
  const moved = await as(t.app, owner).post('/api/v1/projects').send({ name: 'Default There', type: 'manual' }).expect(201);
  expect(moved.body.organizationId).toBe(next);
});

test('a revoked API key is refused on the next call, and a second organization never sees the first one’s rows', async () => {
  const key = await newApiKey(t.app, owner, org, ['write']);
  const project = await withKey(t.app, key.key).post('/api/v1/projects').send({ name: 'By Key', type: 'manual' }).expect(201);
  await withKey(t.app, key.key).get(`/api/v1/projects/${project.body.id}`).expect(200);
  expectProblem(await as(t.app, owner, otherOrg).get(`/api/v1/projects/${project.body.id}`), 404);
  expectProblem(await withKey(t.app, key.key, otherOrg).get(`/api/v1/projects/${project.body.id}`), 404);
  // Known, its organization and capped role confirmed, its call taken from a leased block: one round trip.
  expect(await countRoundTrips(() => withKey(t.app, key.key).get(`/api/v1/projects/${project.body.id}`).expect(200))).toBe(1);
  await t.admin.query('update public.api_keys set revoked_at = now() where id = $1', [key.id]);
  expectProblem(await withKey(t.app, key.key).get(`/api/v1/projects/${project.body.id}`), 401);
});

test('a statement after the last one of a transaction is refused, not run outside it', async () => {
  const identity = { role: 'authenticated' as const, userId: owner.userId, email: owner.email, claims: { sub: owner.userId, role: 'authenticated', email: owner.email } };
  await expect(
    withRequestTransaction(t.pool, identity, { statementTimeoutMs: 5000, requestedOrganizationId: org }, async (tx) => {
      await tx.queryLast('select 1');
      await tx.query('select 2');
    }),
  ).rejects.toThrow(/after the last/);
});

describe('API calls leased in blocks', () => {
  let q: TestApp;
  let keyOwner: TestUser;

  beforeAll(async () => {
    q = await createQuotaTestApp();
    keyOwner = await newUser(q.app, 'lease-owner');
  });

  afterAll(async () => {
    await q.close();
  });

  async function counted(organizationId: string): Promise<number> {
    const { rows } = await q.admin.query<{ used: string }>(
      `select coalesce(sum(used), 0) as used from public.usage_counters where organization_id = $1 and metric = 'api_calls'`,
      [organizationId],
    );
    return Number(rows[0]!.used);
  }

  test('a block is counted when leased; handed back, the counter holds the calls made', async () => {
    const organizationId = await newOrganization(q.app, keyOwner, 'Lease');
    await q.admin.query(`update public.organizations set plan_tier = 'pro' where id = $1`, [organizationId]);
    const key = await newApiKey(q.app, keyOwner, organizationId, ['read']);
    for (let i = 0; i < 3; i++) await withKey(q.app, key.key).get('/api/v1/projects').expect(200);
    expect(await counted(organizationId)).toBeGreaterThan(3);
    await q.apiCalls.settle();
    expect(await counted(organizationId)).toBe(3);
    const { rows } = await q.admin.query<{ value: string }>(
      `select coalesce(sum(value), 0) as value from public.usage_daily where organization_id = $1 and metric = 'api_calls'`,
      [organizationId],
    );
    expect(Number(rows[0]!.value)).toBe(3);
  });

  test('far from the limit the next block is leased ahead, and the calls and their headers count on across it', async () => {
    const organizationId = await newOrganization(q.app, keyOwner, 'Lease Ahead');
    await q.admin.query(`update public.organizations set plan_tier = 'pro' where id = $1`, [organizationId]);
    const key = await newApiKey(q.app, keyOwner, organizationId, ['read']);
    const call = () => withKey(q.app, key.key).get('/api/v1/projects').expect(200);
    const half = API_CALL_LEASE_BLOCK / 2;
    for (let i = 0; i < half; i++) await call();
    // No call has found the lease empty, yet the next block is already counted.
    const deadline = Date.now() + 5000;
    while ((await counted(organizationId)) === API_CALL_LEASE_BLOCK && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await counted(organizationId)).toBeGreaterThan(API_CALL_LEASE_BLOCK);
    let last = await call();
    for (let i = half + 1; i < API_CALL_LEASE_BLOCK + 20; i++) last = await call();
    expect(last.headers['x-ratelimit-remaining']).toBe(String(10_000 - (API_CALL_LEASE_BLOCK + 20)));
    await q.apiCalls.settle();
    expect(await counted(organizationId)).toBe(API_CALL_LEASE_BLOCK + 20);
  });

  test('two instances with 10 calls left between them: exactly 10 of 30 concurrent calls succeed', async () => {
    const organizationId = await newOrganization(q.app, keyOwner, 'Lease Two');
    const key = await newApiKey(q.app, keyOwner, organizationId, ['read']);
    // Free: 1,000 calls a month.
    await q.admin.query(
      `insert into public.usage_counters (organization_id, metric, period_start, used)
       values ($1, 'api_calls', date_trunc('month', now() at time zone 'utc')::date, 990)
       on conflict (organization_id, metric, period_start) do update set used = 990`,
      [organizationId],
    );
    const second = q.variant({ apiCallLeases: new ApiCallLeases(q.pool, 5000) });
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => withKey(i % 2 === 0 ? q.app : second, key.key).get('/api/v1/projects')),
    );
    expect(responses.filter((res) => res.status === 200)).toHaveLength(10);
    expect(responses.filter((res) => res.status === 429)).toHaveLength(20);
    expect(await counted(organizationId)).toBe(1000);
  });

  test('a signed-in user calling the leasing functions directly gets and gives back nothing', async () => {
    const organizationId = await newOrganization(q.app, keyOwner, 'Lease Direct');
    const client = new pg.Client({ connectionString: q.appUrl });
    await client.connect();
    try {
      const claims = JSON.stringify({ sub: keyOwner.userId, role: 'authenticated' });
      await client.query('begin');
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [claims]);
      await client.query('set local role authenticated');
      expect((await client.query('select * from app.lease_api_calls($1, 100)', [organizationId])).rows).toEqual([]);
      await client.query(`select app.return_api_calls($1, date_trunc('month', now())::date, 100)`, [organizationId]);
      await expect(client.query(`select app.confirm_request($1, 'owner', false)`, [organizationId])).resolves.toBeDefined();
      await client.query('rollback');
    } finally {
      await client.end();
    }
    expect(await counted(organizationId)).toBe(0);
  });
});
