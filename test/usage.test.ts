import { createHash, randomUUID } from 'node:crypto';
import { addMember, as, createQuotaTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import { newApiKey, withKey } from './support/api-keys';

let t: TestApp;
let owner: TestUser;
let orgId: string;

beforeAll(async () => {
  t = await createQuotaTestApp();
  owner = await newUser(t.app, 'u-owner');
  orgId = await newOrganization(t.app, owner, 'Usage');
});
afterAll(() => t.close());

const USAGE = '/api/v1/billing/usage';

interface Metric {
  type: string;
  unit: string;
  period: string;
  current: number;
  limit: number;
  percentage: number;
  resetsAt: string | null;
  trend: Array<{ date: string; value: number }>;
}

function metric(body: { metrics: Metric[] }, type: string): Metric {
  const found = body.metrics.find((m) => m.type === type);
  expect(found).toBeDefined();
  return found!;
}

function utcDay(offset = 0): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + offset)).toISOString().slice(0, 10);
}

const CHECKSUM = createHash('sha256').update('usage').digest('hex');

describe('GET /billing/usage', () => {
  test('every metric with current, limit, percentage and a 30-day trend', async () => {
    const { owner: solo, orgId: soloOrg } = await (async () => {
      const user = await newUser(t.app, 'u-solo');
      return { owner: user, orgId: await newOrganization(t.app, user, 'Solo') };
    })();
    // One call with an API key: only those count (the owner's own session reads do not).
    const { key } = await newApiKey(t.app, solo, soloOrg, ['read']);
    await withKey(t.app, key).get('/api/v1/projects').expect(200);
    const res = await as(t.app, solo, soloOrg).get(USAGE).expect(200);
    const now = new Date();
    expect(res.body).toMatchObject({
      organizationId: soloOrg,
      planTier: 'free',
      periodStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
      periodEnd: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
    });
    expect(res.body.metrics.map((m: Metric) => m.type)).toEqual(['api_calls', 'ingestions', 'storage', 'seats', 'oracle_queries']);
    const apiCalls = metric(res.body, 'api_calls');
    expect(apiCalls).toMatchObject({ unit: 'calls', period: 'month', limit: 1000, resetsAt: res.body.periodEnd });
    expect(apiCalls.current).toBe(1);
    expect(apiCalls.percentage).toBe(0.1);
    expect(apiCalls.trend).toHaveLength(30);
    expect(apiCalls.trend[0]!.date).toBe(utcDay(-29));
    expect(apiCalls.trend[29]).toEqual({ date: utcDay(), value: 1 });
    expect(apiCalls.trend.slice(0, 29).every((p) => p.value === 0)).toBe(true);
    expect(metric(res.body, 'seats')).toMatchObject({ unit: 'members', period: 'none', current: 1, limit: 1, percentage: 100, resetsAt: null });
    expect(metric(res.body, 'storage')).toMatchObject({ unit: 'GB', current: 0, limit: 1, percentage: 0, resetsAt: null });
    expect(metric(res.body, 'ingestions')).toMatchObject({ unit: 'imports', current: 0, limit: 50 });
    const oracle = metric(res.body, 'oracle_queries');
    expect(oracle).toMatchObject({ unit: 'queries/day', period: 'day', current: 0, limit: 10 });
    const now2 = new Date();
    expect(oracle.resetsAt).toBe(new Date(Date.UTC(now2.getUTCFullYear(), now2.getUTCMonth(), now2.getUTCDate() + 1)).toISOString());
  });

  test('storage in decimal GB, levels carried forward through days without changes, unlimited is -1', async () => {
    const projectRes = await as(t.app, owner, orgId).post('/api/v1/projects').send({ name: `Usage ${randomUUID().slice(0, 6)}`, type: 'files' }).expect(201);
    await as(t.app, owner, orgId)
      .post(`/api/v1/projects/${projectRes.body.id}/files`)
      .send({ name: 'a.bin', path: 'a.bin', mimeType: 'application/octet-stream', sizeBytes: 250_000_001, checksum: CHECKSUM, storageKey: 'k/a' })
      .expect(201);
    // A level recorded ten days ago and unchanged until today.
    await t.admin.query(
      "insert into public.usage_daily (organization_id, metric, day, value) values ($1, 'storage', $2, 100000000)",
      [orgId, utcDay(-10)],
    );
    await t.admin.query("update public.organizations set plan_tier = 'teams' where id = $1", [orgId]);
    const res = await as(t.app, owner, orgId).get(USAGE).expect(200);
    const storage = metric(res.body, 'storage');
    expect(storage).toMatchObject({ current: 0.250000001, limit: 100, percentage: 0.25 });
    expect(storage.trend[18]).toEqual({ date: utcDay(-11), value: 0 });
    expect(storage.trend[19]).toEqual({ date: utcDay(-10), value: 0.1 });
    expect(storage.trend[28]).toEqual({ date: utcDay(-1), value: 0.1 });
    expect(storage.trend[29]).toEqual({ date: utcDay(), value: 0.250000001 });
    expect(metric(res.body, 'oracle_queries')).toMatchObject({ limit: -1, percentage: 0 });
    await t.admin.query("update public.organizations set plan_tier = 'free' where id = $1", [orgId]);
  });

  test('every member may read it, plain members included', async () => {
    const plain = await newUser(t.app, 'u-plain');
    await addMember(t, orgId, plain, 'member');
    const res = await as(t.app, plain, orgId).get(USAGE).expect(200);
    expect(res.body.organizationId).toBe(orgId);
    expect(metric(res.body, 'seats').current).toBeGreaterThanOrEqual(2);
  });

  test('without the header it is the caller\'s default organization; another organization is 404', async () => {
    const res = await as(t.app, owner).get(USAGE).expect(200);
    expect(res.body.organizationId).toBe(owner.personalOrganizationId);
    const stranger = await newUser(t.app, 'u-stranger');
    expectProblem(await as(t.app, stranger, orgId).get(USAGE), 404);
    expectProblem(await as(t.app, owner, 'not-a-uuid').get(USAGE), 400);
    expectProblem(await as(t.app, owner).get(`${USAGE}?extra=1`), 400);
  });

  test('isolation: usage of one organization never shows in another\'s', async () => {
    const other = await newUser(t.app, 'u-other');
    const otherOrg = await newOrganization(t.app, other, 'Other');
    const mineKey = await newApiKey(t.app, owner, orgId, ['read']);
    const theirKey = await newApiKey(t.app, other, otherOrg, ['read']);
    for (let i = 0; i < 5; i += 1) await withKey(t.app, mineKey.key).get('/api/v1/projects').expect(200);
    const mine = metric((await as(t.app, owner, orgId).get(USAGE).expect(200)).body, 'api_calls').current;
    const theirs = (await as(t.app, other, otherOrg).get(USAGE).expect(200)).body;
    expect(theirs.organizationId).toBe(otherOrg);
    expect(metric(theirs, 'api_calls').current).toBe(0);
    expect(metric(theirs, 'seats').current).toBe(1);
    expect(mine).toBeGreaterThanOrEqual(5);
    // And theirs never moved ours.
    for (let i = 0; i < 3; i += 1) await withKey(t.app, theirKey.key).get('/api/v1/projects').expect(200);
    const after = metric((await as(t.app, owner, orgId).get(USAGE).expect(200)).body, 'api_calls').current;
    expect(after).toBe(mine);
    expect(metric((await as(t.app, other, otherOrg).get(USAGE).expect(200)).body, 'api_calls').current).toBe(3);
  });

  test('the counters are readable through row level security only for the selected organization', async () => {
    const other = await newUser(t.app, 'u-rls');
    await newOrganization(t.app, other, 'Rls');
    const client = await t.pool.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: other.userId, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      await client.query('select * from app.begin_request(null)');
      const { rows } = await client.query('select distinct organization_id from public.usage_counters');
      expect(rows.map((r) => r.organization_id)).toEqual([other.personalOrganizationId]);
      const daily = await client.query('select distinct organization_id from public.usage_daily');
      expect(daily.rows.map((r) => r.organization_id)).toEqual([other.personalOrganizationId]);
      await expect(client.query("update public.usage_counters set used = 0")).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
