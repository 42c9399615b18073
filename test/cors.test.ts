import request from 'supertest';
import { as, createTestApp, expectProblem, newUser, type TestApp, type TestUser } from './support/harness';

// A web app served from another origin calls the API from a browser: the
// preflight is answered before contract validation, the answer names what the
// page's script may read, and an origin that is not listed gets nothing.
const APP_ORIGIN = 'https://app.example.test';
let t: TestApp;
let open: ReturnType<TestApp['variant']>;
let alice: TestUser;

beforeAll(async () => {
  t = createTestApp({ corsOrigins: [APP_ORIGIN] });
  open = t.variant({ corsOrigins: '*' });
  alice = await newUser(t.app, 'cors');
});
afterAll(() => t.close());

const preflight = (app: TestApp['app'], path: string, origin: string, method = 'POST', headers = 'authorization, content-type, x-organization-id') =>
  request(app).options(path).set('Origin', origin).set('Access-Control-Request-Method', method).set('Access-Control-Request-Headers', headers);

test('a preflight from a listed origin is answered 204 with the methods and the asked headers it may use', async () => {
  const res = await preflight(t.app, '/api/v1/projects', APP_ORIGIN);
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
  expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE');
  expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type, x-organization-id');
  expect(res.headers['access-control-max-age']).toBe('600');
  expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  expect(res.headers.vary).toMatch(/Origin/);
});

test('a preflight for a path with parameters and PATCH works too; headers it may not send are left out', async () => {
  const res = await preflight(t.app, '/api/v1/projects/5d0c7f0e-6a8f-4a4e-9f57-0d1c2b3a4e5f', APP_ORIGIN, 'PATCH', 'content-type, x-evil, authorization');
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-headers']).toBe('content-type, authorization');
});

test('a browser may send Idempotency-Key and read Idempotent-Replayed', async () => {
  const res = await preflight(t.app, '/api/v1/projects', APP_ORIGIN, 'POST', 'authorization, content-type, idempotency-key');
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type, idempotency-key');
  expect(res.headers['access-control-expose-headers']).toMatch(/(^|, )Idempotent-Replayed(,|$)/);
});

test('a preflight from an origin that is not listed is a 403 problem without CORS headers', async () => {
  const res = await preflight(t.app, '/api/v1/projects', 'https://evil.example.test');
  expectProblem(res, 403);
  expect(res.body.detail).toMatch(/CORS_ORIGINS/);
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
});

test('an OPTIONS that is no preflight still meets the contract (405)', async () => {
  const res = await request(t.app).options('/api/v1/projects');
  expectProblem(res, 405);
});

test('a cross-origin call gets its answer readable, with Location and the quota headers exposed', async () => {
  const res = await as(t.app, alice).post('/api/v1/projects').set('Origin', APP_ORIGIN).send({ name: 'From a browser', type: 'manual' });
  expect(res.status).toBe(201);
  expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
  const exposed = res.headers['access-control-expose-headers'];
  for (const name of ['Location', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After']) expect(exposed).toContain(name);
  expect(res.headers.location).toBe(`/api/v1/projects/${res.body.id}`);
});

test('a problem is readable cross-origin too', async () => {
  const res = await request(t.app).get('/api/v1/projects').set('Origin', APP_ORIGIN);
  expectProblem(res, 401);
  expect(res.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
});

test('a call from an origin that is not listed is served, but without CORS headers (the browser withholds it)', async () => {
  const res = await as(t.app, alice).get('/api/v1/projects').set('Origin', 'https://evil.example.test');
  expect(res.status).toBe(200);
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
});

test("CORS_ORIGINS='*' allows any origin, never with credentials", async () => {
  const res = await preflight(open, '/api/v1/projects', 'https://anyone.example.test');
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-origin']).toBe('*');
  expect(res.headers['access-control-allow-credentials']).toBeUndefined();
});
