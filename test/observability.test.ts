import { randomUUID } from 'node:crypto';
import express from 'express';
import pg from 'pg';
import request from 'supertest';
import { startBackgroundWork } from '../src/background';
import { loadConfig } from '../src/config';
import { startMetricsServer } from '../src/http/metrics';
import { scrapeCollectors } from '../src/app';
import { as, createQuotaTestApp, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import { captureLogs } from './support/logs';
import { parseExposition, sampleValue, type Exposition } from './support/prometheus';

const METRICS_TOKEN = 'scraper-token-0123456789abcdef';

// ---------------------------------------------------------------- logs ----
describe('request logs and request ids', () => {
  const logs = captureLogs();
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = createTestApp({ logRequests: true, logger: logs.logger });
    user = await newUser(t.app, 'obs-logs');
  });
  afterAll(() => t.close());

  const linesOf = (requestId: string) => logs.entries().filter((entry) => entry.reqId === requestId);

  test('one line per request: method, route template, status, duration, user, organization, request id (also in the response)', async () => {
    const created = await as(t.app, user).post('/api/v1/projects').send({ name: `Logged ${randomUUID().slice(0, 8)}`, type: 'manual' }).expect(201);
    const res = await as(t.app, user).get(`/api/v1/projects/${created.body.id}`).expect(200);
    const requestId = res.headers['x-request-id']!;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const lines = linesOf(requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/api/v1/projects/{projectId}',
      status: 200,
      userId: user.userId,
      organizationId: user.personalOrganizationId,
      msg: 'GET /api/v1/projects/{projectId} 200',
    });
    expect(lines[0]!.durationMs).toEqual(expect.any(Number));
    expect(typeof lines[0]!.time).toBe('string');
    // The template, never the raw path with its ids.
    expect(JSON.stringify(lines[0])).not.toContain(created.body.id);
  });

  test('a problem document carries the request id of its response and log line', async () => {
    const res = await as(t.app, user).get(`/api/v1/projects/${randomUUID()}`);
    expectProblem(res, 404);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
    expect(linesOf(res.body.requestId)).toEqual([expect.objectContaining({ status: 404, route: '/api/v1/projects/{projectId}' })]);

    // Refused before any route (validation, authentication, an unknown path): the same.
    for (const refused of [
      await as(t.app, user).get('/api/v1/projects?pageSize=abc'),
      await request(t.app).get('/api/v1/projects'),
      await request(t.app).get('/nowhere'),
    ]) {
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.body.requestId).toBe(refused.headers['x-request-id']);
      expect(refused.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(linesOf((await request(t.app).get('/nowhere')).headers['x-request-id']!)[0]).toMatchObject({ route: '(unmatched)', status: 404, userId: null });
  });

  test("an incoming X-Request-Id that is a plain token is kept: the response, the problem and the log line carry it", async () => {
    const incoming = `edge-${randomUUID()}`;
    const res = await as(t.app, user).get(`/api/v1/projects/${randomUUID()}`).set('X-Request-Id', incoming);
    expect(res.headers['x-request-id']).toBe(incoming);
    expect(res.body.requestId).toBe(incoming);
    expect(linesOf(incoming)).toHaveLength(1);
  });

  test.each([
    ['spaces and quotes', 'id with "quotes" and <script>'],
    ['a forged JSON fragment', '","level":"fatal'],
    ['too long', 'x'.repeat(129)],
    ['empty', ''],
  ])('an incoming X-Request-Id with %s is replaced with one of our own', async (_case, incoming) => {
    const res = await as(t.app, user).get('/api/v1/me').set('X-Request-Id', incoming).expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(logs.text()).not.toContain(incoming || '"reqId":""');
  });

  test('tokens, passwords and API keys never reach the log', async () => {
    const secretQuery = `qs-${randomUUID()}`;
    const password = `pw-${randomUUID()}`;
    await as(t.app, user).get(`/api/v1/projects?access_token=${secretQuery}`).expect(400);
    await request(t.app).post('/api/v1/auth/login').send({ email: user.email, password }).expect((res) => expect(res.status).toBeGreaterThanOrEqual(400));
    await request(t.app).get('/api/v1/me').set('Authorization', 'Bearer not-a-token-at-all-0xdeadbeef').expect(401);
    await request(t.app).get('/api/v1/me').set('apikey', 'apikey-header-0xfeedface').set('Cookie', 'sb=cookie-0xc0ffee');
    // And whatever else is logged with a secret in a usual place is redacted.
    logs.logger.info({ password, token: 'token-0xbadc0de', headers: { authorization: `Bearer ${user.token}` }, body: { refresh_token: 'refresh-0xf00d' } }, 'something with secrets');

    const text = logs.text();
    for (const secret of [user.token, secretQuery, password, 'not-a-token-at-all', 'apikey-header', 'cookie-0xc0ffee', 'token-0xbadc0de', 'refresh-0xf00d']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
  });

  test('with LOG_REQUESTS off there is no line per request, but the id is still given', async () => {
    const quiet = captureLogs();
    const app = t.variant({ logRequests: false, logger: quiet.logger });
    const res = await as(app, user).get('/api/v1/me').expect(200);
    expect(res.headers['x-request-id']).toBeDefined();
    expect(quiet.entries()).toEqual([]);
  });

  test('a failure on our side is logged at level error, under the request id the problem names', async () => {
    const failing = captureLogs();
    // A database that cannot be reached is a real failure that no client input causes.
    const broken = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    try {
      const app = t.variant({ pool: broken, logRequests: true, logger: failing.logger });
      const res = await as(app, user).get('/api/v1/projects');
      expectProblem(res, 503);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
      const lines = failing.entries().filter((entry) => entry.reqId === res.body.requestId);
      expect(lines).toEqual([expect.objectContaining({ level: 'error', route: '/api/v1/projects', status: 503, userId: user.userId })]);
    } finally {
      await broken.end();
    }
  });
});

describe('background work logs through the same logger, naming the loop', () => {
  test('a failing pass is logged with its loop name', async () => {
    const logs = captureLogs();
    const broken = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    const background = startBackgroundWork({ pool: broken, config: loadConfig({ BACKGROUND_WORK: 'true', SCHEDULER_INTERVAL_MS: '60000' }), logger: logs.logger });
    try {
      await waitFor(() => logs.entries().some((entry) => entry.loop === 'scheduler'));
      expect(logs.entries().find((entry) => entry.loop === 'scheduler')).toMatchObject({ level: 'error', msg: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await background.stop();
      await broken.end();
    }
  });
});

// ------------------------------------------------------------- metrics ----
describe('GET /metrics', () => {
  let t: TestApp;
  let metered: express.Express;

  beforeAll(async () => {
    // A database of its own: the execution queue it reports is exactly what this test arranged, and quotas refuse.
    t = await createQuotaTestApp();
    metered = t.variant({ metricsToken: METRICS_TOKEN });
  });
  afterAll(() => t.close());

  const scrape = async (app = metered): Promise<Exposition> => {
    const res = await request(app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(res.text);
  };

  test('is not served on the API port without METRICS_TOKEN', async () => {
    expectProblem(await request(t.app).get('/metrics'), 404);
  });

  test('refuses a scrape without the token, or with another one', async () => {
    const none = await request(metered).get('/metrics');
    expectProblem(none, 401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expectProblem(await request(metered).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}x`), 401);
    expectProblem(await request(metered).get('/metrics').set('Authorization', METRICS_TOKEN), 401);
  });

  test('parses as Prometheus exposition and has every metric the on-call queries use', async () => {
    const exposition = await scrape();
    for (const [name, type] of Object.entries({
      http_request_duration_seconds: 'histogram',
      db_pool_connections: 'gauge',
      db_pool_idle_connections: 'gauge',
      db_pool_waiting_requests: 'gauge',
      executions_pending: 'gauge',
      executions_oldest_pending_age_seconds: 'gauge',
      skill_runner_duration_seconds: 'histogram',
      skill_runs_total: 'counter',
      webhook_deliveries_total: 'counter',
      quota_refusals_total: 'counter',
      event_streams_open: 'gauge',
      process_cpu_seconds_total: 'counter',
    })) {
      expect(exposition.types.get(name)).toBe(type);
      expect(exposition.help.get(name)).toEqual(expect.any(String));
    }
  });

  test('the request histogram moves when requests are served, by route template, method and status', async () => {
    const user = await newUser(t.app, 'obs-metrics');
    const labels = { method: 'GET', route: '/api/v1/projects/{projectId}', status: '404' };
    const before = sampleValue(await scrape(), 'http_request_duration_seconds_count', labels) ?? 0;
    for (let i = 0; i < 3; i++) expectProblem(await as(t.app, user).get(`/api/v1/projects/${randomUUID()}`), 404);
    const after = await scrape();
    expect(sampleValue(after, 'http_request_duration_seconds_count', labels)).toBe(before + 3);
    expect(sampleValue(after, 'http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(before + 3);
    // No label carries a raw path.
    const routes = after.samples.filter((s) => s.name === 'http_request_duration_seconds_count').map((s) => s.labels.route!);
    expect(routes.filter((route) => /[0-9a-f]{8}-[0-9a-f]{4}/.test(route))).toEqual([]);
  });

  test('the pool and the execution queue are read when scraped', async () => {
    const exposition = await scrape();
    expect(sampleValue(exposition, 'db_pool_connections', {})).toBeGreaterThanOrEqual(1);
    expect(sampleValue(exposition, 'db_pool_waiting_requests', {})).toBe(0);
    expect(sampleValue(exposition, 'executions_pending', {})).toBe(0);
    expect(sampleValue(exposition, 'executions_oldest_pending_age_seconds', {})).toBe(0);

    const owner = await newUser(t.app, 'obs-queue');
    for (const age of [90, 5]) {
      await t.admin.query(`insert into public.skill_executions (organization_id, user_id, created_at) values ($1, $2, now() - make_interval(secs => $3))`, [
        owner.personalOrganizationId,
        owner.userId,
        age,
      ]);
    }
    const queued = await scrape();
    expect(sampleValue(queued, 'executions_pending', {})).toBe(2);
    const lag = sampleValue(queued, 'executions_oldest_pending_age_seconds', {})!;
    expect(lag).toBeGreaterThanOrEqual(90);
    expect(lag).toBeLessThan(90 + 60);
  });

  test('a plan quota refusal is counted by quota', async () => {
    const before = sampleValue(await scrape(), 'quota_refusals_total', { quota: 'seats' }) ?? 0;
    const owner = await newUser(t.app, 'obs-seat');
    const orgId = await newOrganization(t.app, owner, 'obs-seat');
    const newcomer = await newUser(t.app, 'obs-seat-new');
    expectProblem(await as(t.app, owner).post(`/api/v1/organizations/${orgId}/members`).send({ email: newcomer.email }), 429);
    expect(sampleValue(await scrape(), 'quota_refusals_total', { quota: 'seats' })).toBe(before + 1);
  });

  test('METRICS_PORT: a port of its own that serves /metrics and nothing else, with the token when one is set', async () => {
    const collectors = scrapeCollectors({ pool: t.pool, statementTimeoutMs: 5000 });
    const open = await startMetricsServer({ port: 0, host: '127.0.0.1', token: undefined, collectors });
    const guarded = await startMetricsServer({ port: 0, host: '127.0.0.1', token: METRICS_TOKEN, collectors });
    try {
      const plain = await request(`http://127.0.0.1:${open.port}`).get('/metrics').expect(200);
      expect(parseExposition(plain.text).types.get('executions_pending')).toBe('gauge');
      await request(`http://127.0.0.1:${open.port}`).get('/api/v1/me').expect(404);
      await request(`http://127.0.0.1:${guarded.port}`).get('/metrics').expect(401);
      const authorized = await request(`http://127.0.0.1:${guarded.port}`).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
      expect(parseExposition(authorized.text).types.get('http_request_duration_seconds')).toBe('histogram');
    } finally {
      await open.close();
      await guarded.close();
    }
  });

  test('a collector that fails leaves the scrape whole and is counted', async () => {
    const broken = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    try {
      const app = t.variant({ pool: broken, metricsToken: METRICS_TOKEN });
      const before = sampleValue(await scrape(), 'metrics_collection_errors_total', { source: 'executions' }) ?? 0;
      const exposition = await scrape(app);
      expect(sampleValue(exposition, 'metrics_collection_errors_total', { source: 'executions' })).toBe(before + 1);
    } finally {
      await broken.end();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
