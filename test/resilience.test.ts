import type pg from 'pg';
import request from 'supertest';
import { createPool } from '../src/db/pool';
import { as, createTestApp, appDatabaseUrl, expectProblem, newUser, type TestApp, type TestUser } from './support/harness';
import { TcpProxy } from './support/tcp-proxy';

// The app reaches the database only through a proxy the tests can cut; the
// same app instance (and pool) lives through the outage and the recovery.
let proxy: TcpProxy;
let pool: pg.Pool;
let t: TestApp;
let user: TestUser;
const errorLogs: string[] = [];
let consoleError: jest.SpyInstance;

/** Every response seen while the database was unreachable. */
const outage: request.Response[] = [];

async function eventually<T>(attempt: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  // Lost connections are reported on console.error; keep them, and keep them quiet.
  consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    errorLogs.push(args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' '));
  });
  const proxied = await TcpProxy.forDatabaseUrl(appDatabaseUrl());
  proxy = proxied.proxy;
  pool = createPool(proxied.url, 5);
  t = createTestApp({ pool });
});

afterAll(async () => {
  await t?.close();
  await pool?.end();
  await proxy?.close();
  consoleError?.mockRestore();
});

describe('the database goes away and comes back', () => {
  test('with the database reachable, requests go through the proxy', async () => {
    user = await newUser(t.app, 'resilient');
    await as(t.app, user).get('/api/v1/me').expect(200);
    const ready = await request(t.app).get('/ready').expect(200);
    expect(ready.body).toEqual(expect.objectContaining({ status: 'ready', database: 'up' }));
    expect(proxy.accepted).toBeGreaterThan(0);
    // Idle connections are left in the pool, to be dropped by the cut.
    expect(pool.idleCount).toBeGreaterThan(0);
  });

  test('during the outage every request is a fast 503 problem with Retry-After', async () => {
    await proxy.cut();
    const started = Date.now();

    const projects = await as(t.app, user).get('/api/v1/projects');
    outage.push(projects);
    expectProblem(projects, 503);
    expect(projects.headers['retry-after']).toMatch(/^\d+$/);
    expect(projects.body.type).toBe('/problems/unavailable');

    const ready = await request(t.app).get('/ready');
    outage.push(ready);
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual(expect.objectContaining({ status: 'unavailable', database: 'down' }));

    // More callers than the pool has connections, on several endpoints at once.
    const burst = await Promise.all([
      ...Array.from({ length: 8 }, () => as(t.app, user).get('/api/v1/me')),
      as(t.app, user).get('/api/v1/organizations'),
      as(t.app, user).get('/api/v1/projects'),
      as(t.app, user, user.personalOrganizationId).post('/api/v1/projects').send({ name: 'During the outage', type: 'manual' }),
    ]);
    outage.push(...burst);
    for (const res of burst) {
      expectProblem(res, 503);
      expect(res.headers['retry-after']).toBeDefined();
    }

    // Refused connections fail at once: nobody waits for the connect timeout (5 s).
    expect(Date.now() - started).toBeLessThan(4000);
    // The health check does not touch the database and stays up.
    await request(t.app).get('/health').expect(200);
  });

  test('after the database is back, the same app recovers without a restart', async () => {
    await proxy.restore();
    const ready = await eventually(
      () => request(t.app).get('/ready'),
      (res) => res.status === 200,
    );
    expect(ready.status).toBe(200);
    expect(ready.body.database).toBe('up');

    const me = await as(t.app, user).get('/api/v1/me').expect(200);
    expect(me.body.id).toBe(user.userId);
    await as(t.app, user).get('/api/v1/projects').expect(200);
    // Writes work again too, and a new user can be provisioned.
    const created = await as(t.app, user)
      .post('/api/v1/projects')
      .send({ name: `After the outage ${Date.now()}`, type: 'manual' });
    expect(created.status).toBe(201);
    await newUser(t.app, 'after-outage');
  });

  test('a request in flight when the connection drops gets a 503, and the process survives', async () => {
    // Warm the pool, then let the server stop answering mid-request.
    await as(t.app, user).get('/api/v1/me').expect(200);
    proxy.stall();
    const inFlight = as(t.app, user)
      .get('/api/v1/projects')
      .then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.cut();
    const res = await inFlight;
    outage.push(res);
    expectProblem(res, 503);
    expect(res.headers['retry-after']).toBeDefined();

    await proxy.restore();
    const ready = await eventually(
      () => request(t.app).get('/ready'),
      (r) => r.status === 200,
    );
    expect(ready.status).toBe(200);
    await as(t.app, user).get('/api/v1/me').expect(200);
  });

  test('no request during the outages was answered with a 500', () => {
    expect(outage.length).toBeGreaterThan(10);
    expect(outage.filter((res) => res.status >= 500 && res.status !== 503)).toEqual([]);
    // The error handler logs every unexpected failure; there must be none.
    expect(errorLogs.filter((line) => line.startsWith('unhandled error'))).toEqual([]);
  });
});
