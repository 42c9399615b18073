import request from 'supertest';
import { runPendingExecutions } from '../src/skills/worker';
import { templateRunner } from '../src/skills/runner/template';
import { signatureHeaderValue } from '../src/reflexes/hooks/signature';
import { as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The depth and size guard in front of every JSON body (src/http/json-body.ts).
let t: TestApp;
let owner: TestUser;
let org: string;
let skillId: string;

beforeAll(async () => {
  t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
  owner = await newUser(t.app, 'json-owner');
  org = await newOrganization(t.app, owner, 'Json Limits');
  // Teams: no daily limit on the executions these tests queue.
  await t.admin.query("update public.subscriptions set plan_id = 'teams' where organization_id = $1", [org]);
  skillId = (await api().post('/api/v1/skills').send({ name: 'Echo', promptTemplate: 'Echo this input: {{value}}' }).expect(201)).body.id;
});
afterAll(() => t.close());

const api = () => as(t.app, owner, org);

/** `{"a":{"a":...1...}}`: `levels` objects, one inside the other. */
const nestedObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const nestedArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
/** The same document parsed, built without recursion. */
function parsedObject(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i += 1) value = { a: value };
  return value;
}

/** Sends the text as it is (supertest would serialize a Buffer as JSON). */
const raw = (test: request.Test, body: string | Buffer, contentType = 'application/json') =>
  test.set('Content-Type', contentType).serialize((value: unknown) => value as string).send(body as string);

describe('10,000 levels of nesting are a 400 problem, never a 500', () => {
  test.each([
    ['a project\'s customSettings', () => api().post('/api/v1/projects'), (deep: string) => `{"name":"Deep Settings","type":"manual","customSettings":${deep}}`],
    ['an execution\'s input', () => api().post(`/api/v1/skills/${skillId}/execute`), (deep: string) => `{"input":${deep}}`],
    ['a habit\'s config', () => api().post('/api/v1/habits'), (deep: string) => `{"skillId":"${skillId}","scheduleCron":"0 0 1 1 *","config":${deep}}`],
    ['a skill test\'s input', () => api().post(`/api/v1/skills/${skillId}/test`), (deep: string) => `{"input":${deep}}`],
  ])('%s', async (_label, send, body) => {
    for (const deep of [nestedObject(10_000), `{"a":${nestedArray(10_000)}}`]) {
      const res = await raw(send(), body(deep));
      expectProblem(res, 400);
      expect(res.body.detail).toBe('The JSON body is nested more than 64 levels deep.');
      expect(res.body.errors).toEqual([{ path: '/body', message: 'is nested more than 64 levels deep' }]);
    }
  });

  test('a signed reflex webhook and the Stripe webhook are guarded before their signatures are checked', async () => {
    const deep = nestedArray(10_000);
    expectProblem(await raw(request(t.app).post('/api/v1/hooks/reflexes/7d0c4a34-8f3e-4c1e-9d7b-2f6a1b3c4d5e'), deep), 400);
    expectProblem(await raw(request(t.app).post('/api/v1/webhooks/stripe'), deep), 400);
  });
});

describe('64 levels, the limit, are accepted and stored as sent', () => {
  // The body is level 1, so the free-form field inside it has 63.
  const levels = 63;

  test("a project's customSettings", async () => {
    const created = await raw(api().post('/api/v1/projects'), `{"name":"Deep But Allowed","type":"manual","customSettings":${nestedObject(levels)}}`).expect(201);
    expect(created.body.customSettings).toEqual(parsedObject(levels));
    const read = await api().get(`/api/v1/projects/${created.body.id}`).expect(200);
    expect(read.body.customSettings).toEqual(parsedObject(levels));
    await raw(api().patch(`/api/v1/projects/${created.body.id}`), `{"customSettings":${nestedObject(levels)}}`).expect(200);
  });

  test("an execution's input, run by the worker", async () => {
    const queued = await raw(api().post(`/api/v1/skills/${skillId}/execute`), `{"input":${nestedObject(levels)}}`).expect(202);
    while ((await runPendingExecutions({ pool: t.pool, statementTimeoutMs: 5000, runner: templateRunner(), concurrency: 4, staleAfterMs: 600_000, organizationIds: [org] })).claimed > 0);
    const execution = await api().get(`/api/v1/executions/${queued.body.id}`).expect(200);
    expect(execution.body.input).toEqual(parsedObject(levels));
    expect(execution.body.status).toBe('completed');
  });

  test("a habit's config", async () => {
    const created = await raw(api().post('/api/v1/habits'), `{"skillId":"${skillId}","scheduleCron":"0 0 1 1 *","config":${nestedObject(levels)}}`).expect(201);
    const read = await api().get(`/api/v1/habits/${created.body.id}`).expect(200);
    expect(read.body.config).toEqual(parsedObject(levels));
  });

  test('a signed webhook delivery with a deep payload', async () => {
    const reflex = (await api().post('/api/v1/reflexes').send({ skillId, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201)).body;
    const body = Buffer.from(`{"deep":${nestedObject(levels - 1)}}`);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await raw(
      request(t.app).post(`/api/v1/hooks/reflexes/${reflex.id}`).set('X-Reflex-Timestamp', timestamp).set('X-Reflex-Signature', signatureHeaderValue(reflex.secret, timestamp, body)),
      body,
    );
    expect(res.status).toBe(202);
  });
});

describe('size', () => {
  test('more than 10,000 values is a 413 problem', async () => {
    const res = await raw(api().post('/api/v1/projects'), JSON.stringify({ name: 'Many Values', type: 'manual', customSettings: { list: new Array(10_000).fill(0) } }));
    expectProblem(res, 413);
    expect(res.body.detail).toMatch(/more than 10,000 values/);
  });

  test('a skill bundle may hold more: up to 100,000 values', async () => {
    const inputSchema = Array.from({ length: 20 }, (_, i) => ({ name: `field_${i}`, type: 'string', description: 'A field.', required: false, default: 'x' }));
    const skills = Array.from({ length: 120 }, (_, i) => ({ name: `Bundled ${i} ${Date.now()}`, promptTemplate: 'A bundled prompt template.', inputSchema }));
    const bundle = JSON.stringify({ version: 1, skills });
    expect(bundle.split(',').length).toBeGreaterThan(10_000);
    const res = await raw(api().post('/api/v1/skills/import'), bundle);
    expect(res.status).toBe(201);
    expect(res.body.imported).toBe(120);
  });

  test('a body over 1 MB is a 413 problem', async () => {
    expectProblem(await raw(api().post('/api/v1/projects'), JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) })), 413);
  });
});

describe('encoding', () => {
  test('bytes that are not UTF-8 are a 400 problem', async () => {
    const res = await raw(api().post('/api/v1/projects'), Buffer.from([...Buffer.from('{"name":"Bad '), 0xff, 0xfe, ...Buffer.from(' Bytes","type":"manual"}')]));
    expectProblem(res, 400);
    expect(res.body.detail).toBe('The request body is not valid UTF-8.');
  });

  test('JSON in another charset is a 415 problem', async () => {
    const res = await raw(api().post('/api/v1/projects'), Buffer.from('{"name":"Wide Chars","type":"manual"}', 'utf16le'), 'application/json; charset=utf-16le');
    expectProblem(res, 415);
  });

  test('an explicit charset=utf-8 is still fine', async () => {
    await raw(api().post('/api/v1/projects'), '{"name":"Explicit Charset","type":"manual"}', 'application/json; charset=utf-8').expect(201);
  });
});
