import request from 'supertest';
import { loadConfig } from '../src/config';
import { webhookSettings } from '../src/reflexes/hooks/settings';
import { createReflex, createSkill } from './reflexes-fixtures';
import { as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import { captureLogs } from './support/logs';

// The URLs the API prints of itself never come from the request's Host (or
// forwarded) headers: only from configuration.
let t: TestApp;
let owner: TestUser;
let org: string;
let reflexId: string;

beforeAll(async () => {
  // No PUBLIC_BASE_URL: what a deployment on DATABASE_URL has until its operator sets one.
  t = createTestApp();
  owner = await newUser(t.app, 'urls');
  org = await newOrganization(t.app, owner, 'Public URLs');
  const skillId = await createSkill(t, org, owner);
  reflexId = (await createReflex(t, owner, org, { skillId, triggerType: 'webhook', triggerConfig: { method: 'POST' } })).id;
});
afterAll(() => t.close());

const HOSTILE_HEADERS = {
  Host: 'evil.test',
  'X-Forwarded-Host': 'evil.test',
  'X-Forwarded-Proto': 'https',
  Forwarded: 'host=evil.test;proto=https',
};

function withHeaders(test: request.Test): request.Test {
  for (const [name, value] of Object.entries(HOSTILE_HEADERS)) test.set(name, value);
  return test;
}

describe('without PUBLIC_BASE_URL', () => {
  test('the webhook details give the path and no URL, whatever Host says', async () => {
    const res = await withHeaders(as(t.app, owner, org).get(`/api/v1/reflexes/${reflexId}/webhook-info`)).expect(200);
    expect(res.body.url).toBeNull();
    expect(res.body.path).toBe(`/api/v1/hooks/reflexes/${reflexId}`);
    expect(JSON.stringify(res.body)).not.toMatch(/evil\.test/);
  });

  test('so does a regenerated secret', async () => {
    const res = await withHeaders(as(t.app, owner, org).post(`/api/v1/reflexes/${reflexId}/regenerate-secret`)).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ url: null, path: `/api/v1/hooks/reflexes/${reflexId}`, secret: expect.stringMatching(/^whsec_/) }));
    expect(JSON.stringify(res.body)).not.toMatch(/evil\.test/);
  });

  test('nor does trusting a proxy make forwarded hosts count', async () => {
    const proxied = createTestApp({ trustProxy: ['loopback'] });
    try {
      const res = await withHeaders(as(proxied.app, owner, org).get(`/api/v1/reflexes/${reflexId}/webhook-info`)).expect(200);
      expect(res.body.url).toBeNull();
      expect(JSON.stringify(res.body)).not.toMatch(/evil\.test/);
    } finally {
      await proxied.close();
    }
  });
});

test('with PUBLIC_BASE_URL the URL is made from it, never from Host', async () => {
  const configured = createTestApp({ reflexWebhooks: webhookSettings(loadConfig({ PUBLIC_BASE_URL: 'https://api.example.com/', DATABASE_URL: 'postgres://db.example.com/app' })) });
  try {
    const res = await withHeaders(as(configured.app, owner, org).get(`/api/v1/reflexes/${reflexId}/webhook-info`)).expect(200);
    expect(res.body.url).toBe(`https://api.example.com/api/v1/hooks/reflexes/${reflexId}`);
  } finally {
    await configured.close();
  }
});

test('the public address: PUBLIC_BASE_URL, else localhost:PORT for the embedded database, else none', () => {
  const base = (env: NodeJS.ProcessEnv) => webhookSettings(loadConfig(env)).publicBaseUrl;
  expect(base({})).toBe('http://localhost:8000');
  expect(base({ PORT: '8080' })).toBe('http://localhost:8080');
  expect(base({ PORT: '0' })).toBeUndefined();
  expect(base({ DATABASE_URL: 'postgres://db.example.com/app' })).toBeUndefined();
  expect(base({ DATABASE_URL: 'postgres://db.example.com/app', PUBLIC_BASE_URL: 'https://api.example.com' })).toBe('https://api.example.com');
});

describe('TRUST_PROXY', () => {
  test('is read as Express reads trust proxy, and refused when it names no proxy', () => {
    const trust = (value: string | undefined) => loadConfig({ TRUST_PROXY: value }).trustProxy;
    expect(trust(undefined)).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('loopback, 10.0.0.0/8,fd00::/8 ,192.0.2.1')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    for (const bad of ['proxy.example.com', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', ',', '1.2.3']) {
      expect(() => trust(bad)).toThrow(/TRUST_PROXY/);
    }
  });

  test('decides whose X-Forwarded-For is the client address in the request log', async () => {
    const logs = captureLogs();
    const trusting = createTestApp({ logRequests: true, logger: logs.logger, trustProxy: ['loopback'] });
    const plain = createTestApp({ logRequests: true, logger: logs.logger });
    try {
      await request(trusting.app).get('/health').set('X-Forwarded-For', '203.0.113.9').expect(200);
      await request(plain.app).get('/health').set('X-Forwarded-For', '203.0.113.9').expect(200);
    } finally {
      await trusting.close();
      await plain.close();
    }
    const health = logs.entries().filter((entry) => entry.route === '/health');
    expect(health).toHaveLength(2);
    expect(health[0]).toMatchObject({ method: 'GET', status: 200, client: '203.0.113.9' });
    expect(health[1]!.client).not.toBe('203.0.113.9');
  });
});
