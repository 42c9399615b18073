import http from 'node:http';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { encode } from 'gpt-tokenizer';
import { NO_BACKGROUND_WORK } from '../src/background';
import { loadConfig } from '../src/config';
import { createSkillRunner } from '../src/skills/runner';
import { httpRunner } from '../src/skills/runner/http';
import { templateRunner } from '../src/skills/runner/template';
import { json, startGateway, type Gateway } from './support/llm-gateway';
import { as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

const tokens = (text: string) => encode(text, { disallowedSpecial: new Set() }).length;

let gateway: Gateway;
let t: TestApp;
let viaGateway: TestApp;
let alice: TestUser;
let orgId: string;

beforeAll(async () => {
  gateway = await startGateway();
  t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
  viaGateway = createTestApp({
    skills: { runner: httpRunner({ url: gateway.url, apiKey: 'sk-test-key', timeoutMs: 300 }), executeWaitMaxMs: 0 },
    background: NO_BACKGROUND_WORK,
  });
  alice = await newUser(t.app, 'alice');
  orgId = await newOrganization(t.app, alice, 'Runner');
});
afterAll(async () => {
  await t.close();
  await viaGateway.close();
  await gateway.close();
});

const api = (app = t) => as(app.app, alice, orgId);

describe('POST /api/v1/skills/test with the template runner', () => {
  test('renders placeholders, applies defaults, counts tokens with the tokenizer, costs nothing, stores nothing', async () => {
    // In this suite's organization: other suites queue executions on the shared database meanwhile.
    const stored = 'select count(*)::int as n from public.skill_executions where organization_id = $1';
    const before = (await t.admin.query(stored, [orgId])).rows[0].n;
    const res = await api()
      .post('/api/v1/skills/test')
      .send({
        promptTemplate: 'Review {{ code }} in {{lang}} (strict: {{strict}}, tags {{tags}}, meta {{meta}}), {{unknown}}.',
        inputSchema: [
          { name: 'code', type: 'string', required: true },
          { name: 'lang', type: 'string', default: 'TypeScript' },
          { name: 'strict', type: 'boolean' },
          { name: 'tags', type: 'array' },
          { name: 'meta', type: 'object' },
        ],
        input: { code: 'x = 1', strict: false, tags: ['a', 'b'], meta: { level: 2 } },
      })
      .expect(200);
    const prompt = 'Review x = 1 in TypeScript (strict: false, tags ["a","b"], meta {"level":2}), {{unknown}}.';
    expect(res.body).toEqual({
      status: 'completed',
      runner: 'template',
      prompt,
      output: prompt,
      promptTokens: tokens(prompt),
      completionTokens: tokens(prompt),
      tokensUsed: 2 * tokens(prompt),
      costCents: '0.0000',
      durationMs: expect.any(Number),
      errorCode: null,
      errorMessage: null,
    });
    expect(res.body.promptTokens).toBeGreaterThan(10);
    const after = (await t.admin.query(stored, [orgId])).rows[0].n;
    expect(after).toBe(before);
  });

  test('json skills return { prompt, input } with the defaults applied', async () => {
    const res = await api()
      .post('/api/v1/skills/test')
      .send({
        promptTemplate: 'Classify {{ticket}} please.',
        outputFormat: 'json',
        inputSchema: [{ name: 'ticket', type: 'string' }, { name: 'limit', type: 'number', default: 3 }],
        input: { ticket: 'T-1' },
      })
      .expect(200);
    expect(res.body.output).toEqual({ prompt: 'Classify T-1 please.', input: { ticket: 'T-1', limit: 3 } });
  });

  test('a value is inserted as it is, never re-scanned for placeholders', async () => {
    const res = await api()
      .post('/api/v1/skills/test')
      .send({ promptTemplate: 'Echo {{a}} and {{b}}.', input: { a: '{{b}}', b: 'B' } })
      .expect(200);
    expect(res.body.output).toBe('Echo {{b}} and B.');
  });

  test('special-token text in the input is counted as text, not refused', async () => {
    const res = await api().post('/api/v1/skills/test').send({ promptTemplate: 'Say {{x}} now.', input: { x: '<|endoftext|>' } }).expect(200);
    expect(res.body.promptTokens).toBe(tokens('Say <|endoftext|> now.'));
  });

  test('400 with one error per field for missing required fields and wrong types', async () => {
    const res = await api()
      .post('/api/v1/skills/test')
      .send({
        promptTemplate: 'Compute {{n}} with {{flag}} and {{text}}.',
        inputSchema: [
          { name: 'n', type: 'number', required: true },
          { name: 'flag', type: 'boolean' },
          { name: 'text', type: 'string', required: true },
          { name: 'list', type: 'array' },
        ],
        input: { n: '5', flag: 'yes', list: { not: 'an array' } },
      });
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([
      { path: '/body/input/n', message: 'must be of type number, got string', code: 'type' },
      { path: '/body/input/flag', message: 'must be of type boolean, got string', code: 'type' },
      { path: '/body/input/text', message: 'is required', code: 'required' },
      { path: '/body/input/list', message: 'must be of type array, got object', code: 'type' },
    ]);
  });

  test('400 for a bad configuration (short prompt, duplicate fields, an unknown field)', async () => {
    expectProblem(await api().post('/api/v1/skills/test').send({ promptTemplate: 'short' }), 400);
    expectProblem(
      await api()
        .post('/api/v1/skills/test')
        .send({ promptTemplate: 'Long enough prompt', inputSchema: [{ name: 'a', type: 'string' }, { name: 'a', type: 'string' }] }),
      400,
    );
    expectProblem(await api().post('/api/v1/skills/test').send({ promptTemplate: 'Long enough prompt', name: 'x' }), 400);
  });
});

describe('POST /api/v1/skills/{skillId}/test', () => {
  test('runs the saved skill (even inactive) with the given input and records nothing', async () => {
    const skill = (
      await api()
        .post('/api/v1/skills')
        .send({
          name: `Saved ${randomUUID().slice(0, 6)}`,
          promptTemplate: 'Translate {{text}} to {{to}}.',
          inputSchema: [{ name: 'text', type: 'string', required: true }, { name: 'to', type: 'string', default: 'Dutch' }],
          isActive: false,
        })
        .expect(201)
    ).body;
    const res = await api().post(`/api/v1/skills/${skill.id}/test`).send({ input: { text: 'hello' } }).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', output: 'Translate hello to Dutch.', costCents: '0.0000' });
    expectProblem(await api().post(`/api/v1/skills/${skill.id}/test`).send({ input: {} }), 400);
    expectProblem(await api().post(`/api/v1/skills/${randomUUID()}/test`).send({ input: {} }), 404);
    const stored = await t.admin.query('select execution_count from public.skills where id = $1', [skill.id]);
    expect(stored.rows[0].execution_count).toBe(0);
    expect((await t.admin.query('select 1 from public.skill_executions where skill_id = $1', [skill.id])).rowCount).toBe(0);
  });
});

describe('the HTTP runner against a gateway', () => {
  const config = { promptTemplate: 'Answer {{q}} briefly.', model: 'gpt-test', parameters: { temperature: 0.1 }, input: { q: 'why' } };

  test('posts prompt, model, parameters and outputFormat with the bearer key; reads output, usage and exact cost', async () => {
    gateway.received = [];
    gateway.answer = (res) => json(res, 200, { output: 'Because.', usage: { promptTokens: 12, completionTokens: 3 }, costCents: '0.01505' });
    const res = await api(viaGateway).post('/api/v1/skills/test').send(config).expect(200);
    expect(res.body).toEqual({
      status: 'completed',
      runner: 'http',
      prompt: 'Answer why briefly.',
      output: 'Because.',
      promptTokens: 12,
      completionTokens: 3,
      tokensUsed: 15,
      costCents: '0.0151',
      durationMs: expect.any(Number),
      errorCode: null,
      errorMessage: null,
    });
    expect(gateway.received).toHaveLength(1);
    expect(gateway.received[0]!.body).toEqual({
      prompt: 'Answer why briefly.',
      model: 'gpt-test',
      parameters: { temperature: 0.1 },
      outputFormat: 'markdown',
    });
    expect(gateway.received[0]!.headers.authorization).toBe('Bearer sk-test-key');
  });

  test('usage left out is counted with the tokenizer; json output may be any JSON value', async () => {
    gateway.answer = (res) => json(res, 200, { output: { verdict: 'ok', score: 0.9 } });
    const res = await api(viaGateway).post('/api/v1/skills/test').send({ ...config, outputFormat: 'json' }).expect(200);
    expect(res.body).toMatchObject({
      status: 'completed',
      output: { verdict: 'ok', score: 0.9 },
      promptTokens: tokens('Answer why briefly.'),
      completionTokens: tokens('{"verdict":"ok","score":0.9}'),
      costCents: '0.0000',
    });
  });

  test.each([
    ['a 502', (res: http.ServerResponse) => json(res, 502, { error: 'upstream' }), 'runner_http_502'],
    ['a 429', (res: http.ServerResponse) => json(res, 429, { error: 'slow down' }), 'runner_http_429'],
    ['text that is not JSON', (res: http.ServerResponse) => res.end('<html>oops</html>'), 'runner_bad_response'],
    ['JSON without output', (res: http.ServerResponse) => json(res, 200, { result: 'x' }), 'runner_bad_response'],
    ['an object for a markdown skill', (res: http.ServerResponse) => json(res, 200, { output: { a: 1 } }), 'runner_bad_response'],
    ['a negative token count', (res: http.ServerResponse) => json(res, 200, { output: 'x', usage: { promptTokens: -1, completionTokens: 1 } }), 'runner_bad_response'],
    ['a cost that is no decimal', (res: http.ServerResponse) => json(res, 200, { output: 'x', costCents: '1e3' }), 'runner_bad_response'],
    ['no answer in time', (_res: http.ServerResponse) => undefined, 'runner_timeout'],
  ])('%s is a failed result with a code, not an error', async (_label, answer, code) => {
    gateway.answer = answer;
    const res = await api(viaGateway).post('/api/v1/skills/test').send(config).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', runner: 'http', output: null, errorCode: code, errorMessage: expect.any(String), costCents: '0.0000' });
  });

  test('an unreachable gateway is runner_unreachable; invalid input never reaches the gateway', async () => {
    const closed = await startGateway();
    await closed.close();
    const runner = httpRunner({ url: closed.url, timeoutMs: 1000 });
    const skill = { promptTemplate: 'Hello {{who}}!', model: 'm', parameters: {}, inputSchema: [{ name: 'who', type: 'string' as const, required: true }], outputFormat: 'text' as const };
    expect(await runner.run(skill, { who: 'you' })).toMatchObject({ ok: false, code: 'runner_unreachable' });
    gateway.received = [];
    const invalid = await httpRunner({ url: gateway.url, timeoutMs: 1000 }).run(skill, {});
    expect(invalid).toMatchObject({ ok: false, code: 'invalid_input', inputErrors: [{ path: '/body/input/who', code: 'required' }] });
    expect(gateway.received).toHaveLength(0);
  });
});

describe('cancelling a run', () => {
  test('an aborted signal ends the gateway call with code cancelled, not runner_timeout', async () => {
    gateway.answer = () => undefined;
    const controller = new AbortController();
    const skill = { promptTemplate: 'Wait for {{x}} please', model: 'm', parameters: {}, inputSchema: [], outputFormat: 'text' as const };
    const running = httpRunner({ url: gateway.url, timeoutMs: 600_000 }).run(skill, { x: 'ever' }, { signal: controller.signal });
    while (gateway.received.length === 0 || gateway.received.at(-1)!.body.prompt !== 'Wait for ever please') {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    controller.abort();
    expect(await running).toMatchObject({ ok: false, code: 'cancelled' });
  });
});

describe('a client that hangs up', () => {
  test('aborts the gateway call of POST /skills/test', async () => {
    let received: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    let hungUp: () => void = () => undefined;
    const gatewaySawClose = new Promise<void>((resolve) => (hungUp = resolve));
    gateway.answer = (res) => {
      res.on('close', () => hungUp());
      received();
    };
    // A runner whose own time limit is far away: only the hang-up can end the call.
    const patient = createTestApp({ skills: { runner: httpRunner({ url: gateway.url, timeoutMs: 600_000 }), executeWaitMaxMs: 0 } });
    // Our own listening server: supertest leaves the one it makes open when a request is aborted.
    const server = http.createServer(patient.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const call = request(server)
        .post('/api/v1/skills/test')
        .set('Authorization', `Bearer ${alice.token}`)
        .set('X-Organization-Id', orgId)
        .send({ promptTemplate: 'Think about {{x}} forever', input: { x: 'it' } });
      const settled = call.then(
        () => 'answered',
        () => 'aborted',
      );
      await arrived;
      call.abort();
      await gatewaySawClose;
      expect(await settled).toBe('aborted');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await patient.close();
    }
  });
});

describe('configuration', () => {
  test('template by default; http needs an http(s) URL; other names are refused', () => {
    expect(createSkillRunner(loadConfig({})).kind).toBe('template');
    expect(createSkillRunner(loadConfig({ SKILL_RUNNER: 'http', SKILL_RUNNER_URL: 'https://llm.example/v1' })).kind).toBe('http');
    expect(() => loadConfig({ SKILL_RUNNER: 'http' })).toThrow(/SKILL_RUNNER_URL/);
    expect(() => loadConfig({ SKILL_RUNNER: 'http', SKILL_RUNNER_URL: 'ftp://x' })).toThrow(/http or https/);
    expect(() => loadConfig({ SKILL_RUNNER: 'gemini' })).toThrow(/template, http, openai, anthropic/);
    expect(loadConfig({})).toMatchObject({
      skillRunnerTimeoutMs: 60000,
      skillRunnerMaxRetries: 2,
      modelPrices: {},
      executionWorkerIntervalMs: 1000,
      executionWorkerConcurrency: 4,
      executeWaitMaxMs: 10000,
    });
  });

  test('openai and anthropic need a key; the base URL is optional; where max_tokens goes', () => {
    expect(() => loadConfig({ SKILL_RUNNER: 'openai' })).toThrow(/SKILL_RUNNER_API_KEY/);
    expect(() => loadConfig({ SKILL_RUNNER: 'anthropic' })).toThrow(/SKILL_RUNNER_API_KEY/);
    expect(() => loadConfig({ SKILL_RUNNER: 'openai', SKILL_RUNNER_API_KEY: 'k', SKILL_RUNNER_URL: 'localhost:11434/v1' })).toThrow(/http or https/);
    expect(createSkillRunner(loadConfig({ SKILL_RUNNER: 'openai', SKILL_RUNNER_API_KEY: 'k' })).kind).toBe('openai');
    expect(createSkillRunner(loadConfig({ SKILL_RUNNER: 'anthropic', SKILL_RUNNER_API_KEY: 'k' })).kind).toBe('anthropic');
    // OpenAI's own API (no URL) wants max_completion_tokens; a compatible server max_tokens; either can be chosen.
    expect(loadConfig({ SKILL_RUNNER: 'openai', SKILL_RUNNER_API_KEY: 'k' }).skillRunnerMaxTokensField).toBe('max_completion_tokens');
    expect(loadConfig({ SKILL_RUNNER: 'openai', SKILL_RUNNER_API_KEY: 'k', SKILL_RUNNER_URL: 'http://localhost:11434/v1' }).skillRunnerMaxTokensField).toBe('max_tokens');
    expect(loadConfig({ SKILL_RUNNER_MAX_TOKENS_FIELD: 'max_completion_tokens', SKILL_RUNNER_URL: 'http://x' }).skillRunnerMaxTokensField).toBe('max_completion_tokens');
    expect(() => loadConfig({ SKILL_RUNNER_MAX_TOKENS_FIELD: 'tokens' })).toThrow(/max_tokens or max_completion_tokens/);
    expect(() => loadConfig({ SKILL_RUNNER_MAX_RETRIES: '11' })).toThrow(/SKILL_RUNNER_MAX_RETRIES/);
    expect(() => loadConfig({ MODEL_PRICES: '{"m": 1}' })).toThrow(/MODEL_PRICES/);
  });
});
