import request from 'supertest';
import { compiledRouteCount } from '../src/http/validator-routes';
import { createTestApp, type TestApp } from './support/harness';

let t: TestApp;
beforeAll(() => {
  t = createTestApp();
});
afterAll(() => t.close());

describe('system endpoints (no token)', () => {
  test('GET /health answers ok', async () => {
    const res = await request(t.app).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('GET /ready reports the database up and every migration applied', async () => {
    const res = await request(t.app).get('/ready').expect(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.database).toBe('up');
    expect(res.body.migrations.applied).toBe(res.body.migrations.expected);
    expect(res.body.migrations.expected).toBeGreaterThanOrEqual(2);
  });

  test('GET /ready is 503 when a migration the code expects is missing', async () => {
    const behind = createTestApp({ expectedMigrations: ['000', '001', '999'] });
    try {
      const res = await request(behind.app).get('/ready').expect(503);
      expect(res.body).toEqual({ status: 'unavailable', database: 'up', migrations: { applied: 2, expected: 3 } });
    } finally {
      await behind.close();
    }
  });

  test('GET /openapi.json serves the contract', async () => {
    const res = await request(t.app).get('/openapi.json').expect(200);
    expect(res.body.openapi).toMatch(/^3\.1\./);
    expect(res.body.paths['/api/v1/projects']).toBeDefined();
  });

  test('GET /docs serves the interactive reference from local assets', async () => {
    const page = await request(t.app).get('/docs/').expect(200);
    expect(page.text).toContain('swagger-ui');
    const init = await request(t.app).get('/docs/swagger-initializer.js').expect(200);
    expect(init.text).toContain("url: '/openapi.json'");
    await request(t.app).get('/docs/swagger-ui-bundle.js').expect(200);
  });

  test('an unknown path is a problem+json 404, an unknown method a 405', async () => {
    const missing = await request(t.app).get('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
    const method = await request(t.app).put('/api/v1/projects');
    expect(method.status).toBe(405);
    expect(method.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});

test('contract routes are compiled once, not on every request', async () => {
  await request(t.app).get('/health').expect(200);
  const afterFirst = compiledRouteCount();
  expect(afterFirst).toBeGreaterThan(0);
  for (let i = 0; i < 5; i += 1) await request(t.app).get('/ready').expect(200);
  const routes = Object.keys((await request(t.app).get('/openapi.json')).body.paths).length;
  expect(compiledRouteCount()).toBeLessThanOrEqual(routes);
});
