import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { as, createTestApp, expectProblem, jwtSecret, newUser, type TestApp } from './support/harness';

let t: TestApp;
beforeAll(() => {
  t = createTestApp();
});
afterAll(() => t.close());

describe('GET /plans', () => {
  test('the four tiers with exact prices, limits (-1 unlimited) and features', async () => {
    const user = await newUser(t.app, 'plans');
    const res = await as(t.app, user).get('/api/v1/plans').expect(200);
    expect(res.body).toMatchObject({ total: 4, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(res.body.data.map((plan: { id: string }) => plan.id)).toEqual(['free', 'pro', 'teams', 'enterprise']);
    const [free, pro, teams, enterprise] = res.body.data;
    expect(free).toMatchObject({ price: 0, annualPrice: null, monthlyPrice: '0.00', annualMonthlyPrice: null, annualTotalPrice: null, selfService: true, currency: 'EUR' });
    expect(free.limits).toEqual({ apiCalls: 1000, ingestions: 50, storageGb: 1, seats: 1, oracleQueries: 10 });
    expect(pro).toMatchObject({ price: 29, annualPrice: 24, monthlyPrice: '29.00', annualMonthlyPrice: '24.00', annualTotalPrice: '288.00', isPopular: true });
    expect(teams).toMatchObject({ price: 79, annualPrice: 66, monthlyPrice: '79.00', annualMonthlyPrice: '66.00', annualTotalPrice: '792.00' });
    expect(teams.limits.oracleQueries).toBe(-1);
    expect(enterprise).toMatchObject({ price: -1, annualPrice: null, monthlyPrice: '-1.00', annualTotalPrice: null, selfService: false });
    expect(enterprise.limits).toEqual({ apiCalls: -1, ingestions: -1, storageGb: -1, seats: -1, oracleQueries: -1 });
    expect(pro.features.length).toBeGreaterThan(0);
  });

  test('no organization is involved: an organization header is ignored', async () => {
    const user = await newUser(t.app, 'plans');
    await as(t.app, user).get('/api/v1/plans').set('X-Organization-Id', '00000000-0000-4000-8000-000000000000').expect(200);
  });

  test('paging works like every list', async () => {
    const user = await newUser(t.app, 'plans');
    const res = await as(t.app, user).get('/api/v1/plans?pageSize=3&page=2').expect(200);
    expect(res.body.data.map((plan: { id: string }) => plan.id)).toEqual(['enterprise']);
    expect(res.body.hasMore).toBe(false);
  });

  test('a token is needed', async () => {
    expectProblem(await request(t.app).get('/api/v1/plans'), 401);
  });

  test('service tokens may read the catalogue', async () => {
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    const res = await request(t.app).get('/api/v1/plans').set('Authorization', `Bearer ${service}`);
    expect(res.status).toBe(200);
  });
});
