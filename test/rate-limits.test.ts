import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { newApiKey, withKey } from './support/api-keys';
import { as, createTestApp, expectProblem, jwtSecret, newUser, type TestApp, type TestUser } from './support/harness';

// A signed-in user's own traffic is not counted against the plan; it has a
// burst limit per user instead (a token bucket per instance), answered like
// a quota: 429 with Retry-After and the IETF RateLimit fields.

let t: TestApp;
let user: TestUser;
let limited: ReturnType<TestApp['variant']>;

beforeAll(async () => {
  t = createTestApp();
  user = await newUser(t.app, 'burst');
  // One request in 20 seconds, bursts of three: slow enough that a test never refills by accident.
  limited = t.variant({ sessionBurst: { ratePerSecond: 0.05, burst: 3 } });
  // The first requests of an app are slow (its routes are compiled): not in a timed test.
  await as(limited, await newUser(t.app, 'burst-warm')).get('/api/v1/projects').expect(200);
});
afterAll(() => t.close());

describe('the session burst limit', () => {
  test('every response says where the user stands; past the burst it is 429 rate_limited with Retry-After', async () => {
    const me = await newUser(t.app, 'burst-one');
    const seen: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await as(limited, me).get('/api/v1/projects').expect(200);
      expect(res.headers['ratelimit-policy']).toBe('"burst";q=3;w=60');
      seen.push(res.headers.ratelimit as string);
    }
    expect(seen.map((h) => /r=(\d+)/.exec(h)![1])).toEqual(['2', '1', '0']);
    const refused = await as(limited, me).get('/api/v1/projects');
    expectProblem(refused, 429);
    expect(refused.body.code).toBe('rate_limited');
    expect(refused.body.type).toBe('/problems/rate-limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-policy']).toBe('"burst";q=3;w=60');
    expect(refused.headers.ratelimit).toMatch(/^"burst";r=0;t=[1-9]\d*$/);
    // A write past the limit changes nothing.
    const write = await as(limited, me).post('/api/v1/projects').send({ name: 'Too fast', type: 'manual' });
    expectProblem(write, 429);
    const { rows } = await t.admin.query('select 1 from public.projects where user_id = $1', [me.userId]);
    expect(rows).toHaveLength(0);
  });

  test('exact under concurrency: 10 requests at once with a burst of 3, exactly 3 succeed', async () => {
    const me = await newUser(t.app, 'burst-race');
    const responses = await Promise.all(Array.from({ length: 10 }, () => as(limited, me).get('/api/v1/projects')));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(3);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(7);
  });

  test('each user has their own bucket', async () => {
    const first = await newUser(t.app, 'burst-a');
    const second = await newUser(t.app, 'burst-b');
    for (let i = 0; i < 3; i += 1) await as(limited, first).get('/api/v1/projects').expect(200);
    expectProblem(await as(limited, first).get('/api/v1/projects'), 429);
    await as(limited, second).get('/api/v1/projects').expect(200);
  });

  test('the bucket refills at the rate', async () => {
    const me = await newUser(t.app, 'burst-refill');
    const refilling = t.variant({ sessionBurst: { ratePerSecond: 0.5, burst: 1 } });
    await as(refilling, await newUser(t.app, 'burst-warm2')).get('/api/v1/projects').expect(200);
    await as(refilling, me).get('/api/v1/projects').expect(200);
    const refused = await as(refilling, me).get('/api/v1/projects');
    expectProblem(refused, 429);
    expect(refused.headers['retry-after']).toMatch(/^[12]$/);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await as(refilling, me).get('/api/v1/projects').expect(200);
  });

  test('API keys are not burst-limited (they count against the monthly quota), nor are back-office tokens', async () => {
    const { key } = await newApiKey(t.app, user, user.personalOrganizationId, ['read']);
    for (let i = 0; i < 5; i += 1) {
      const res = await withKey(limited, key).get('/api/v1/projects').expect(200);
      expect(res.headers['ratelimit-policy'] ?? '').not.toMatch(/burst/);
    }
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    for (let i = 0; i < 5; i += 1) await request(limited).get('/api/v1/plans').set('Authorization', `Bearer ${service}`).expect(200);
  });

  test('browsers may read the RateLimit fields (CORS exposes them)', async () => {
    const res = await as(t.app, user).get('/api/v1/projects').set('Origin', 'http://localhost:5173').expect(200);
    const exposed = String(res.headers['access-control-expose-headers'] ?? '');
    expect(exposed).toContain('RateLimit');
    expect(exposed).toContain('RateLimit-Policy');
  });
});
