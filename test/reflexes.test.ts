import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { webhookSettings } from '../src/reflexes/hooks/settings';
import { createReflex, createSkill, executionsOf, reflexRow } from './reflexes-fixtures';
import { reflexSecretContext } from '../src/reflexes/store';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, testSecretBox, type TestApp, type TestUser } from './support/harness';

// alice owns organization A; bob is a plain member of it; dana is an admin there; carol owns organization B.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let dana: TestUser;
let carol: TestUser;
let orgA: string;
let orgB: string;
let skillA: string;
let skillA2: string;
let skillB: string;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  dana = await newUser(t.app, 'dana');
  carol = await newUser(t.app, 'carol');
  orgA = await newOrganization(t.app, alice, 'Reflexes A');
  orgB = await newOrganization(t.app, carol, 'Reflexes B');
  await addMember(t, orgA, bob, 'member');
  await addMember(t, orgA, dana, 'admin');
  skillA = await createSkill(t, orgA, alice);
  skillA2 = await createSkill(t, orgA, alice);
  skillB = await createSkill(t, orgB, carol);
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgA) => as(t.app, user, org);
const reflexUrl = (id: string, suffix = '') => `/api/v1/reflexes/${id}${suffix}`;
const eventBody = (overrides: Record<string, unknown> = {}) => ({
  skillId: skillA,
  triggerType: 'event',
  triggerConfig: { eventName: 'deployment.finished', source: 'ci' },
  conditions: { matchAll: true, filters: [{ field: 'environment', operator: 'equals', value: 'production' }] },
  ...overrides,
});
// Of this suite's organizations only: other suites create reflexes on the shared database meanwhile.
const countReflexes = async () =>
  Number((await t.admin.query('select count(*) from public.reflexes where organization_id = any($1::uuid[])', [[orgA, orgB]])).rows[0].count);

describe('create and read', () => {
  test('POST creates an event reflex owned by the caller; GET shows it with its skill', async () => {
    const res = await api(alice).post('/api/v1/reflexes').send(eventBody());
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/reflexes/${res.body.id}`);
    expect(res.body).toEqual(
      expect.objectContaining({
        organizationId: orgA,
        skillId: skillA,
        userId: alice.userId,
        triggerType: 'event',
        triggerConfig: { eventName: 'deployment.finished', source: 'ci' },
        isActive: true,
        triggerCount: 0,
        lastTriggeredAt: null,
        consecutiveFailures: 0,
        lastErrorMessage: null,
      }),
    );
    expect(res.body.secret).toBeUndefined();
    const read = await api(bob).get(reflexUrl(res.body.id)).expect(200);
    expect(read.body.skill).toEqual({ id: skillA, name: expect.any(String), category: 'custom', outputFormat: 'markdown', isActive: true });
    expect(read.body.conditions).toEqual({ matchAll: true, filters: [{ field: 'environment', operator: 'equals', value: 'production' }] });
  });

  test('a webhook reflex shows its secret once, never again', async () => {
    const res = await api(alice).post('/api/v1/reflexes').send({ skillId: skillA, triggerType: 'webhook', triggerConfig: {} });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(res.body.triggerConfig).toEqual({ method: 'POST' });
    const read = await api(alice).get(reflexUrl(res.body.id)).expect(200);
    expect(JSON.stringify(read.body)).not.toContain(res.body.secret);
    const list = await api(alice).get('/api/v1/reflexes').query({ triggerType: 'webhook' }).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(res.body.secret);
    const details = await api(alice).get(reflexUrl(res.body.id, '/webhook-info')).expect(200);
    expect(details.body.secret).toBeNull();
    expect(JSON.stringify(details.body)).not.toContain(res.body.secret);
  });

  test('bad definitions are 400 with field errors and create nothing', async () => {
    const before = await countReflexes();
    const cases: Array<[Record<string, unknown>, string]> = [
      [eventBody({ triggerType: 'schedule', triggerConfig: { cron: '0 * * * *' } }), '/body/triggerType'],
      [eventBody({ triggerType: 'webhook', triggerConfig: { secret: 'chosen-by-me' } }), '/body/triggerConfig/secret'],
      [eventBody({ triggerConfig: {} }), '/body/triggerConfig/eventName'],
      [eventBody({ conditions: { filters: [{ field: 'a', operator: 'regex', value: '(unclosed' }] } }), '/body/conditions/filters/0/value'],
      [eventBody({ triggerType: 'file_change', triggerConfig: { paths: ['*.md'], events: ['rename'] } }), '/body/triggerConfig/events'],
    ];
    for (const [body, path] of cases) {
      const res = await api(alice).post('/api/v1/reflexes').send(body);
      expectProblem(res, 400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    // The contract itself refuses unknown operators and properties.
    expectProblem(await api(alice).post('/api/v1/reflexes').send(eventBody({ conditions: { filters: [{ field: 'a', operator: 'like', value: 'b' }] } })), 400);
    expectProblem(await api(alice).post('/api/v1/reflexes').send(eventBody({ extra: true })), 400);
    expect(await countReflexes()).toBe(before);
  });

  test('a skill of another organization, or none, is 422', async () => {
    for (const skillId of [skillB, randomUUID()]) {
      const res = await api(alice).post('/api/v1/reflexes').send(eventBody({ skillId }));
      expectProblem(res, 422);
      expect(res.body.errors[0].path).toBe('/body/skillId');
    }
  });

  test('GET /reflexes filters by skill, trigger type and state, newest first', async () => {
    const org = await newOrganization(t.app, alice, 'List');
    const skill1 = await createSkill(t, org, alice);
    const skill2 = await createSkill(t, org, alice);
    const r1 = await createReflex(t, alice, org, eventBody({ skillId: skill1 }));
    const r2 = await createReflex(t, alice, org, { skillId: skill2, triggerType: 'file_change', triggerConfig: { paths: ['**/*.md'] } });
    const r3 = await createReflex(t, alice, org, eventBody({ skillId: skill2, isActive: false }));
    const ids = async (query: Record<string, unknown>) => {
      const res = await api(alice, org).get('/api/v1/reflexes').query(query).expect(200);
      expect(res.body).toEqual(expect.objectContaining({ total: res.body.data.length, totalExact: true, page: 1, hasMore: false }));
      return res.body.data.map((r: { id: string }) => r.id);
    };
    expect(await ids({})).toEqual([r3.id, r2.id, r1.id]);
    expect(await ids({ sort: 'createdAt' })).toEqual([r1.id, r2.id, r3.id]);
    expect(await ids({ skillId: skill2 })).toEqual([r3.id, r2.id]);
    expect(await ids({ triggerType: 'file_change' })).toEqual([r2.id]);
    expect(await ids({ isActive: false })).toEqual([r3.id]);
    const paged = await api(alice, org).get('/api/v1/reflexes').query({ pageSize: 2 }).expect(200);
    expect(paged.body).toEqual(expect.objectContaining({ total: 3, pageSize: 2, hasMore: true }));
    expectProblem(await api(alice, org).get('/api/v1/reflexes').query({ triggerType: 'sometimes' }), 400);
  });
});

describe('change', () => {
  test('PATCH replaces conditions and config; a new trigger type needs its config', async () => {
    const reflex = await createReflex(t, alice, orgA, eventBody());
    const res = await api(alice).patch(reflexUrl(reflex.id)).send({ conditions: { matchAll: false, filters: [] }, skillId: skillA2 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expect.objectContaining({ conditions: { matchAll: false, filters: [] }, skillId: skillA2 }));
    expect(res.body.skill.id).toBe(skillA2);
    const missing = await api(alice).patch(reflexUrl(reflex.id)).send({ triggerType: 'file_change' });
    expectProblem(missing, 400);
    expect(missing.body.errors[0].path).toBe('/body/triggerConfig');
    expectProblem(await api(alice).patch(reflexUrl(reflex.id)).send({ triggerConfig: { eventName: '' } }), 400);
    expectProblem(await api(alice).patch(reflexUrl(reflex.id)).send({}), 400);
    expectProblem(await api(alice).patch(reflexUrl(reflex.id)).send({ skillId: skillB }), 422);
  });

  test('turning a reflex into a webhook makes a secret (shown once); turning it back drops it', async () => {
    const reflex = await createReflex(t, alice, orgA, eventBody());
    const toWebhook = await api(alice).patch(reflexUrl(reflex.id)).send({ triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(200);
    expect(toWebhook.body.secret).toMatch(/^whsec_/);
    const secrets = () => t.admin.query('select 1 from public.reflex_secrets where reflex_id = $1', [reflex.id]);
    expect((await secrets()).rowCount).toBe(1);
    const again = await api(alice).patch(reflexUrl(reflex.id)).send({ triggerConfig: { method: 'GET' } }).expect(200);
    expect(again.body.secret).toBeUndefined();
    await api(alice).patch(reflexUrl(reflex.id)).send({ triggerType: 'event', triggerConfig: { eventName: 'back' } }).expect(200);
    expect((await secrets()).rowCount).toBe(0);
  });

  test('activate, deactivate and reset-errors', async () => {
    const reflex = await createReflex(t, alice, orgA, eventBody());
    await t.admin.query("update public.reflexes set consecutive_failures = 3, last_error_message = 'boom', is_active = false where id = $1", [reflex.id]);
    const reset = await api(alice).post(reflexUrl(reflex.id, '/reset-errors')).expect(200);
    expect(reset.body).toEqual(expect.objectContaining({ consecutiveFailures: 0, lastErrorMessage: null, isActive: false }));
    await t.admin.query("update public.reflexes set consecutive_failures = 3, last_error_message = 'boom' where id = $1", [reflex.id]);
    const on = await api(dana).post(reflexUrl(reflex.id, '/activate')).expect(200);
    expect(on.body).toEqual(expect.objectContaining({ isActive: true, consecutiveFailures: 0, lastErrorMessage: 'boom' }));
    const off = await api(alice).post(reflexUrl(reflex.id, '/deactivate')).expect(200);
    expect(off.body.isActive).toBe(false);
  });

  test('plain members read and test but do not change; organization admins do', async () => {
    const reflex = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'webhook', triggerConfig: {} });
    await api(bob).get(reflexUrl(reflex.id)).expect(200);
    await api(bob).post(reflexUrl(reflex.id, '/test')).send({}).expect(200);
    await api(bob).get(reflexUrl(reflex.id, '/stats')).expect(200);
    for (const res of [
      await api(bob).get(reflexUrl(reflex.id, '/webhook-info')),
      await api(bob).patch(reflexUrl(reflex.id)).send({ isActive: false }),
      await api(bob).post(reflexUrl(reflex.id, '/deactivate')),
      await api(bob).post(reflexUrl(reflex.id, '/activate')),
      await api(bob).post(reflexUrl(reflex.id, '/reset-errors')),
      await api(bob).post(reflexUrl(reflex.id, '/regenerate-secret')),
      await api(bob).delete(reflexUrl(reflex.id)),
    ]) {
      expectProblem(res, 403);
    }
    expect((await reflexRow(t, reflex.id))!.is_active).toBe(true);
    await api(dana).patch(reflexUrl(reflex.id)).send({ isActive: false }).expect(200);
    await api(dana).delete(reflexUrl(reflex.id)).expect(204);
    // Its secret goes with it.
    expect((await t.admin.query('select 1 from public.reflex_secrets where reflex_id = $1', [reflex.id])).rowCount).toBe(0);
  });

  test('DELETE removes the reflex; its executions stay', async () => {
    const reflex = await createReflex(t, alice, orgA, eventBody({ conditions: { filters: [] } }));
    const fired = await api(alice).post('/api/v1/events').send({ eventName: 'deployment.finished', source: 'ci' }).expect(200);
    expect(fired.body.executions.map((e: { reflexId: string }) => e.reflexId)).toContain(reflex.id);
    await api(alice).delete(reflexUrl(reflex.id)).expect(204);
    expectProblem(await api(alice).get(reflexUrl(reflex.id)), 404);
    expectProblem(await api(alice).delete(reflexUrl(reflex.id)), 404);
    expect(await executionsOf(t, reflex.id)).toHaveLength(1);
  });
});

describe('test, webhook details, secrets and stats', () => {
  test('POST /test tells each check, runs nothing and records nothing', async () => {
    const reflex = await createReflex(t, alice, orgA, eventBody({
      conditions: {
        matchAll: true,
        filters: [
          { field: 'environment', operator: 'equals', value: 'production' },
          { field: 'version', operator: 'regex', value: '^1\\.' },
        ],
      },
    }));
    const res = await api(alice).post(reflexUrl(reflex.id, '/test')).send({
      eventName: 'deployment.finished',
      source: 'ci',
      payload: { environment: 'production', version: '2.0.0' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      reflexId: reflex.id,
      triggerType: 'event',
      triggerMatched: true,
      triggerChecks: [
        { check: 'eventName', expected: 'deployment.finished', actual: 'deployment.finished', matched: true },
        { check: 'source', expected: 'ci', actual: 'ci', matched: true },
      ],
      conditions: {
        matched: false,
        matchAll: true,
        filters: [
          { field: 'environment', operator: 'equals', value: 'production', matched: true, actual: 'production' },
          { field: 'version', operator: 'regex', value: '^1\\.', matched: false, actual: '2.0.0' },
        ],
      },
      isActive: true,
      skillActive: true,
      wouldFire: false,
      input: { environment: 'production', version: '2.0.0' },
    });
    const fires = await api(alice).post(reflexUrl(reflex.id, '/test')).send({ eventName: 'deployment.finished', source: 'ci', payload: { environment: 'production', version: '1.2' } });
    expect(fires.body.wouldFire).toBe(true);
    const wrongName = await api(alice).post(reflexUrl(reflex.id, '/test')).send({ eventName: 'other', payload: { environment: 'production', version: '1.2' } });
    expect(wrongName.body).toEqual(expect.objectContaining({ triggerMatched: false, wouldFire: false }));
    expect(await executionsOf(t, reflex.id)).toEqual([]);
    expect(await reflexRow(t, reflex.id)).toEqual(expect.objectContaining({ trigger_count: 0, last_triggered_at: null }));
  });

  test('POST /test on a file_change reflex reads the file event from the payload', async () => {
    const reflex = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'file_change', triggerConfig: { paths: ['docs/**/*.md'], events: ['create'] } });
    const res = await api(alice).post(reflexUrl(reflex.id, '/test')).send({ payload: { event: 'create', path: 'docs/guide/intro.md' } }).expect(200);
    expect(res.body.wouldFire).toBe(true);
    const deleted = await api(alice).post(reflexUrl(reflex.id, '/test')).send({ payload: { event: 'delete', path: 'docs/guide/intro.md' } }).expect(200);
    expect(deleted.body.triggerChecks[0]).toEqual({ check: 'fileEvent', expected: 'create', actual: 'delete', matched: false });
  });

  test('GET /webhook-info gives the path (no URL without a public address), the scheme, a sample and when the secret was made, never the secret; 409 for other triggers', async () => {
    const reflex = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'webhook', triggerConfig: { method: 'POST' } });
    const res = await api(alice).get(reflexUrl(reflex.id, '/webhook-info')).expect(200);
    expect(res.body).toEqual({
      reflexId: reflex.id,
      url: null,
      path: `/api/v1/hooks/reflexes/${reflex.id}`,
      method: 'POST',
      signatureScheme: 'hmac-sha256',
      signatureHeader: 'X-Reflex-Signature',
      timestampHeader: 'X-Reflex-Timestamp',
      signedContent: '<timestamp>.<raw body>',
      toleranceSeconds: 300,
      maxBodyBytes: 65536,
      secretCreatedAt: expect.any(String),
      samplePayload: { event: 'example_event', data: { id: '123', action: 'created' } },
      secret: null,
    });
    const other = await createReflex(t, alice, orgA, eventBody());
    expectProblem(await api(alice).get(reflexUrl(other.id, '/webhook-info')), 409);
    expectProblem(await api(alice).post(reflexUrl(other.id, '/regenerate-secret')), 409);
  });

  test('PUBLIC_BASE_URL makes the webhook URL when set', async () => {
    const configured = createTestApp({ reflexWebhooks: { publicBaseUrl: 'https://api.example.com', maxBodyBytes: 1000, toleranceSeconds: 60 } });
    try {
      const reflex = await createReflex(configured, alice, orgA, { skillId: skillA, triggerType: 'webhook', triggerConfig: {} });
      const res = await as(configured.app, alice, orgA).get(reflexUrl(reflex.id, '/webhook-info')).expect(200);
      expect(res.body).toEqual(expect.objectContaining({ url: `https://api.example.com/api/v1/hooks/reflexes/${reflex.id}`, toleranceSeconds: 60, maxBodyBytes: 1000 }));
    } finally {
      await configured.close();
    }
  });

  test('regenerate-secret shows a new secret once and moves secretCreatedAt', async () => {
    const reflex = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'webhook', triggerConfig: {} });
    const before = await api(alice).get(reflexUrl(reflex.id, '/webhook-info')).expect(200);
    const res = await api(dana).post(reflexUrl(reflex.id, '/regenerate-secret')).expect(200);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect(res.body.secret).not.toBe(reflex.secret);
    expect(res.body.path).toBe(`/api/v1/hooks/reflexes/${reflex.id}`);
    expect(Date.parse(res.body.secretCreatedAt)).toBeGreaterThanOrEqual(Date.parse(before.body.secretCreatedAt));
    // Kept sealed (SECRETS_ENCRYPTION_KEYS), never as shown: it opens to the new secret.
    const stored = await t.admin.query('select secret from public.reflex_secrets where reflex_id = $1', [reflex.id]);
    expect(stored.rows[0].secret).not.toContain(res.body.secret);
    expect(testSecretBox().open(stored.rows[0].secret, reflexSecretContext(reflex.id))).toBe(res.body.secret);
  });

  test('stats count executions by status; failures in a row deactivate at three and a completion clears them', async () => {
    const reflex = await createReflex(t, alice, orgA, eventBody({ conditions: { filters: [] }, triggerConfig: { eventName: `stats-${randomUUID()}` } }));
    const eventName = (reflex.triggerConfig as { eventName: string }).eventName;
    const fire = async () => (await api(bob).post('/api/v1/events').send({ eventName }).expect(200)).body.executions[0].executionId as string;
    const finish = (id: string, status: 'completed' | 'failed', message?: string) =>
      t.admin.query('update public.skill_executions set status = $2, error_message = $3 where id = $1', [id, status, message ?? null]);

    await finish(await fire(), 'failed', 'model timed out');
    await finish(await fire(), 'failed', 'model timed out again');
    expect(await reflexRow(t, reflex.id)).toEqual(expect.objectContaining({ consecutive_failures: 2, last_error_message: 'model timed out again', is_active: true }));
    await finish(await fire(), 'completed');
    expect(await reflexRow(t, reflex.id)).toEqual(expect.objectContaining({ consecutive_failures: 0, last_error_message: null, is_active: true }));
    const pending = await fire();
    for (let i = 0; i < 3; i += 1) await finish(await fire(), 'failed', `failure ${i}`);
    expect(await reflexRow(t, reflex.id)).toEqual(expect.objectContaining({ consecutive_failures: 3, last_error_message: 'failure 2', is_active: false }));

    const stats = await api(bob).get(reflexUrl(reflex.id, '/stats')).expect(200);
    expect(stats.body).toEqual({
      reflexId: reflex.id,
      isActive: false,
      triggerCount: 7,
      lastTriggeredAt: expect.any(String),
      executions: { total: 7, pending: 1, running: 0, completed: 1, failed: 5, cancelled: 0 },
      consecutiveFailures: 3,
      lastErrorMessage: 'failure 2',
    });
    // Inactive now: the event starts nothing more.
    expect((await api(bob).post('/api/v1/events').send({ eventName }).expect(200)).body.executions).toEqual([]);
    expect(pending).toEqual(expect.any(String));
  });
});

describe('isolation between organizations', () => {
  let reflexA: { id: string };
  beforeAll(async () => {
    reflexA = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'webhook', triggerConfig: {} });
    await createReflex(t, carol, orgB, { skillId: skillB, triggerType: 'event', triggerConfig: { eventName: 'b-only' } });
  });

  test("organization B cannot read, list, change, test, regenerate or delete A's reflex", async () => {
    const b = api(carol, orgB);
    for (const res of [
      await b.get(reflexUrl(reflexA.id)),
      await b.patch(reflexUrl(reflexA.id)).send({ isActive: false }),
      await b.delete(reflexUrl(reflexA.id)),
      await b.post(reflexUrl(reflexA.id, '/activate')),
      await b.post(reflexUrl(reflexA.id, '/deactivate')),
      await b.post(reflexUrl(reflexA.id, '/reset-errors')),
      await b.post(reflexUrl(reflexA.id, '/test')).send({}),
      await b.post(reflexUrl(reflexA.id, '/regenerate-secret')),
      await b.get(reflexUrl(reflexA.id, '/webhook-info')),
      await b.get(reflexUrl(reflexA.id, '/stats')),
    ]) {
      expectProblem(res, 404);
    }
    const list = await b.get('/api/v1/reflexes').expect(200);
    expect(list.body.data.map((r: { organizationId: string }) => r.organizationId)).toEqual([orgB]);
    expect(list.body.data.map((r: { id: string }) => r.id)).not.toContain(reflexA.id);
    // Naming organization A in the header does not help someone who is not a member.
    expectProblem(await as(t.app, carol, orgA).get(reflexUrl(reflexA.id)), 404);
    expect(await reflexRow(t, reflexA.id)).toEqual(expect.objectContaining({ is_active: true }));
  });

  test("a reflex cannot be made in B for A's skill", async () => {
    expectProblem(await api(carol, orgB).post('/api/v1/reflexes').send(eventBody({ skillId: skillA })), 422);
  });

  test('without a token every operation is 401', async () => {
    expectProblem(await request(t.app).get('/api/v1/reflexes'), 401);
    expectProblem(await request(t.app).post('/api/v1/reflexes').send(eventBody()), 401);
    expectProblem(await request(t.app).get(reflexUrl(reflexA.id)), 401);
    expectProblem(await request(t.app).post('/api/v1/events').send({ eventName: 'x' }), 401);
  });
});

describe('configuration', () => {
  test('PUBLIC_BASE_URL, WEBHOOK_MAX_BODY_BYTES and WEBHOOK_TOLERANCE_SECONDS are read and checked', () => {
    const defaults = loadConfig({});
    expect(webhookSettings(defaults)).toEqual({ publicBaseUrl: 'http://localhost:8000', maxBodyBytes: 65536, toleranceSeconds: 300 });
    const set = loadConfig({ PUBLIC_BASE_URL: 'https://api.example.com/', WEBHOOK_MAX_BODY_BYTES: '2048', WEBHOOK_TOLERANCE_SECONDS: '60' });
    expect(webhookSettings(set)).toEqual({ publicBaseUrl: 'https://api.example.com', maxBodyBytes: 2048, toleranceSeconds: 60 });
    expect(() => loadConfig({ PUBLIC_BASE_URL: 'api.example.com' })).toThrow(/PUBLIC_BASE_URL/);
    expect(() => loadConfig({ PUBLIC_BASE_URL: 'ftp://api.example.com' })).toThrow(/PUBLIC_BASE_URL/);
    expect(() => loadConfig({ WEBHOOK_TOLERANCE_SECONDS: '0' })).toThrow(/WEBHOOK_TOLERANCE_SECONDS/);
    expect(() => loadConfig({ WEBHOOK_MAX_BODY_BYTES: 'lots' })).toThrow(/WEBHOOK_MAX_BODY_BYTES/);
  });
});
