import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { startLoop } from '../src/background/loop';
import { loadConfig, parseModelPrices } from '../src/config';
import { createSkillRunner } from '../src/skills/runner';
import { JSON_INSTRUCTION } from '../src/skills/runner/model';
import type { SkillRunner } from '../src/skills/runner/types';
import { executionWorkerTask } from '../src/skills/worker';
import { anthropicStream, expectAnswers, gate, hang, jsonAnswer, openAiStream, startStandIn, type StandIn } from './support/model-apis';
import { as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// SKILL_RUNNER=openai and =anthropic end to end: POST .../execute, the real
// execution worker, the vendor's SDK, and a stand-in on 127.0.0.1 that speaks
// the vendor's wire format and records the exact requests it got.

let t: TestApp;
let alice: TestUser;
let openAi: StandIn;
let anthropic: StandIn;

const PRICES = parseModelPrices(
  JSON.stringify({
    'gpt-4o-mini': { input: '150', output: '600.5' },
    'claude-*': { input: '3', output: '15.25' },
  }),
);

function runnerFor(kind: 'openai' | 'anthropic', env: Record<string, string> = {}): SkillRunner {
  const url = kind === 'openai' ? openAi.url : anthropic.url;
  const key = kind === 'openai' ? 'sk-openai-test' : 'sk-ant-test';
  return createSkillRunner(loadConfig({ SKILL_RUNNER: kind, SKILL_RUNNER_URL: url, SKILL_RUNNER_API_KEY: key, MODEL_PRICES: JSON.stringify(PRICES), ...env }));
}

interface Rig {
  app: Express;
  org: string;
  close(): Promise<void>;
}

const rigs: Rig[] = [];

/** An organization of its own, an execution worker that runs only its executions with `runner`, and the API that wakes it. */
async function rig(runner: SkillRunner): Promise<Rig> {
  const org = await newOrganization(t.app, alice, `Models ${randomUUID().slice(0, 6)}`);
  const loop = startLoop(
    executionWorkerTask({
      pool: t.pool,
      statementTimeoutMs: 5000,
      runner,
      concurrency: 4,
      staleAfterMs: 600_000,
      organizationIds: [org],
      // Only the wake-up of POST .../execute runs it.
      intervalMs: 3_600_000,
      outputWriteMs: 50,
      cancelCheckMs: 50,
      // These tests are about the runners' own codes, retries and deadline: the
      // worker records the first outcome (its retries: execution-worker.test.ts).
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    }),
    () => undefined,
  );
  const app = t.variant({
    skills: { runner, executeWaitMaxMs: 20_000 },
    background: { wake: (name) => (name === loop.name ? loop.wake() : undefined), stop: () => loop.stop() },
  });
  const made = { app, org, close: () => loop.stop() };
  rigs.push(made);
  return made;
}

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  openAi = await startStandIn('/v1');
  anthropic = await startStandIn('');
});
afterAll(async () => {
  for (const made of rigs) await made.close();
  await openAi.close();
  await anthropic.close();
  await t.close();
});

async function createSkill(r: Rig, overrides: Record<string, unknown> = {}) {
  const res = await as(r.app, alice, r.org)
    .post('/api/v1/skills')
    .send({
      name: `Model ${randomUUID().slice(0, 8)}`,
      promptTemplate: 'Summarize {{text}} in one line.',
      inputSchema: [{ name: 'text', type: 'string', required: true }],
      model: 'gpt-4o-mini',
      parameters: { temperature: 0.2, max_tokens: 256, top_p: 0.9, top_k: 40, stop_sequences: ['END'] },
      ...overrides,
    })
    .expect(201);
  return res.body as { id: string };
}

const execute = (r: Rig, skillId: string, wait = false) =>
  as(r.app, alice, r.org).post(`/api/v1/skills/${skillId}/execute${wait ? '?wait=true' : ''}`).send({ input: { text: 'the plan' } });

const read = async (r: Rig, id: string) => (await as(r.app, alice, r.org).get(`/api/v1/executions/${id}`).expect(200)).body;

/** Reads the execution until `done` holds (or fails the test after 10 s). */
async function readUntil(r: Rig, id: string, done: (execution: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const execution = await read(r, id);
    if (done(execution)) return execution;
    if (Date.now() > deadline) throw new Error(`execution never got there: ${JSON.stringify(execution)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForRequests(standIn: StandIn, count: number) {
  while (standIn.received.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('SKILL_RUNNER=openai against a chat completions stand-in', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig(runnerFor('openai'));
  });

  test('sends the exact request; the streamed output lands in the execution as it arrives; usage and exact cost', async () => {
    const half = gate();
    expectAnswers(openAi, openAiStream({ pieces: ['Hello', ', wor', 'ld!'], holdAfter: 2, hold: half.opened, usage: { prompt_tokens: 12, completion_tokens: 5 } }));
    const skill = await createSkill(r);
    const queued = await execute(r, skill.id).expect(202);

    // Half the answer has streamed: the running execution already shows it.
    const running = await readUntil(r, queued.body.id, (e) => e.output === 'Hello, wor');
    expect(running).toMatchObject({ status: 'running', output: 'Hello, wor', outputJson: null, costCentsExact: '0.0000' });
    half.open();
    const done = await readUntil(r, queued.body.id, (e) => e.status !== 'running');

    expect(done).toMatchObject({
      status: 'completed',
      output: 'Hello, world!',
      outputJson: null,
      promptTokens: 12,
      completionTokens: 5,
      tokensUsed: 17,
      // 12 x 150 + 5 x 600.5 = 4,802.5 euros per million tokens = 0.48025 cents, half up to four places
      costCentsExact: '0.4803',
      costCents: 0.4803,
      errorCode: null,
    });
    expect(openAi.received).toHaveLength(1);
    const [sent] = openAi.received;
    expect(sent!.method).toBe('POST');
    expect(sent!.path).toBe('/v1/chat/completions');
    expect(sent!.headers.authorization).toBe('Bearer sk-openai-test');
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(sent!.headers['x-stainless-retry-count']).toBe('0');
    expect(sent!.headers).not.toHaveProperty('openai-organization');
    expect(sent!.headers).not.toHaveProperty('openai-project');
    expect(sent!.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Summarize the plan in one line.' }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      top_p: 0.9,
      // A base URL of another server than OpenAI's: the field every compatible server reads.
      max_tokens: 256,
      stop: ['END'],
    });
  });

  test('a json skill asks for JSON in a system message; a fenced answer is parsed into outputJson', async () => {
    expectAnswers(openAi, openAiStream({ pieces: ['```json\n{"verdict": ', '"ok", "score": 0.5}\n```'], usage: { prompt_tokens: 30, completion_tokens: 9 } }));
    const skill = await createSkill(r, { outputFormat: 'json', parameters: { max_tokens: 100 } });
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', outputJson: { verdict: 'ok', score: 0.5 } });
    expect(JSON.parse(res.body.output)).toEqual({ verdict: 'ok', score: 0.5 });
    expect(openAi.received[0]!.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: JSON_INSTRUCTION },
        { role: 'user', content: 'Summarize the plan in one line.' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 100,
    });
  });

  test('an answer that is not JSON fails a json skill as runner_bad_response', async () => {
    expectAnswers(openAi, openAiStream({ pieces: ['Sure! Here it is: {'], usage: { prompt_tokens: 3, completion_tokens: 3 } }));
    const skill = await createSkill(r, { outputFormat: 'json' });
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_bad_response', output: null, costCentsExact: '0.0000' });
  });

  test('429 and then 503 are retried with the SDK backoff, then the run completes', async () => {
    expectAnswers(
      openAi,
      jsonAnswer(429, { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }),
      jsonAnswer(503, { error: { message: 'The server is overloaded', type: 'server_error' } }),
      openAiStream({ pieces: ['Third time lucky.'], usage: { prompt_tokens: 4, completion_tokens: 4 } }),
    );
    const skill = await createSkill(r);
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', output: 'Third time lucky.', promptTokens: 4, completionTokens: 4 });
    expect(openAi.received.map((request) => request.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2']);
    // Every attempt is the same request.
    expect(new Set(openAi.received.map((request) => JSON.stringify(request.body))).size).toBe(1);
    // Exponential backoff: about 0.5 s and then 1 s (less up to a quarter of jitter).
    const [first, second, third] = openAi.received.map((request) => request.at);
    expect(second! - first!).toBeGreaterThanOrEqual(370);
    expect(third! - second!).toBeGreaterThanOrEqual(745);
  });

  test('a 400 is not retried: the run fails with the status and the API\'s message', async () => {
    expectAnswers(openAi, jsonAnswer(400, { error: { message: "The model 'gpt-nope' does not exist", type: 'invalid_request_error' } }));
    const skill = await createSkill(r, { model: 'gpt-nope' });
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_http_400', output: null });
    expect(res.body.errorMessage).toContain("The model 'gpt-nope' does not exist");
    expect(openAi.received).toHaveLength(1);
  });

  test('cancelling a run while it streams aborts the call; the execution stays cancelled', async () => {
    const never = gate();
    expectAnswers(openAi, openAiStream({ pieces: ['Thinking', ' very', ' hard'], holdAfter: 1, hold: never.opened }));
    const skill = await createSkill(r);
    const queued = await execute(r, skill.id).expect(202);
    await readUntil(r, queued.body.id, (e) => e.output === 'Thinking');
    await as(r.app, alice, r.org).post(`/api/v1/executions/${queued.body.id}/cancel`).expect(200);
    await openAi.received[0]!.closed;
    const after = await read(r, queued.body.id);
    expect(after).toMatchObject({ status: 'cancelled', output: 'Thinking' });
  });

  test('POST /skills/test runs through the same runner and reports it', async () => {
    expectAnswers(openAi, openAiStream({ pieces: ['A ', 'dry ', 'run.'], usage: { prompt_tokens: 7, completion_tokens: 3 } }));
    const res = await as(r.app, alice, r.org)
      .post('/api/v1/skills/test')
      .send({ promptTemplate: 'Say {{what}} please.', model: 'gpt-4o-mini', input: { what: 'something' } })
      .expect(200);
    // 7 x 150 + 3 x 600.5 = 2,851.5 euros per million = 0.28515 cents
    expect(res.body).toMatchObject({ status: 'completed', runner: 'openai', output: 'A dry run.', promptTokens: 7, completionTokens: 3, costCents: '0.2852' });
    // The configuration test's defaults (temperature 1, max_tokens 4096) go along.
    expect(openAi.received[0]!.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 1, max_tokens: 4096 });
  });
});

describe('limits of a model run', () => {
  test('a run past SKILL_RUNNER_TIMEOUT_MS fails cleanly as runner_timeout and closes the connection', async () => {
    const r = await rig(runnerFor('openai', { SKILL_RUNNER_TIMEOUT_MS: '400' }));
    const never = gate();
    expectAnswers(openAi, openAiStream({ pieces: ['Almost', ' there'], holdAfter: 1, hold: never.opened }));
    const skill = await createSkill(r);
    const started = Date.now();
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_timeout', output: null, promptTokens: 0, costCentsExact: '0.0000' });
    expect(res.body.errorMessage).toMatch(/400 ms/);
    await openAi.received[0]!.closed;
    // Near the deadline, not after a retry's backoff (the bound is loose for a busy machine).
    expect(Date.now() - started).toBeLessThan(10_000);
    // A stream that stalled is not started again.
    expect(openAi.received).toHaveLength(1);
  });

  test('the deadline covers retries too: a server that only answers 500 ends the run at the deadline', async () => {
    const r = await rig(runnerFor('openai', { SKILL_RUNNER_TIMEOUT_MS: '800', SKILL_RUNNER_MAX_RETRIES: '10' }));
    expectAnswers(openAi, jsonAnswer(500, { error: { message: 'boom' } }));
    const skill = await createSkill(r);
    const started = Date.now();
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_timeout' });
    // Ten retries with their backoff would take close to a minute.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('retries run out: the last status is the failure', async () => {
    const r = await rig(runnerFor('openai', { SKILL_RUNNER_MAX_RETRIES: '1' }));
    expectAnswers(openAi, jsonAnswer(502, { error: { message: 'bad gateway' } }));
    const skill = await createSkill(r);
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_http_502' });
    expect(openAi.received).toHaveLength(2);
  });

  test('a connection that breaks in the middle of the stream fails the run as runner_unreachable', async () => {
    const r = await rig(runnerFor('openai', { SKILL_RUNNER_MAX_RETRIES: '0' }));
    expectAnswers(openAi, (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'Half' }, finish_reason: null }] })}\n\n`);
      setTimeout(() => res.destroy(), 50);
    });
    const skill = await createSkill(r);
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_unreachable', output: null });
  });

  test('a server that cannot be reached is runner_unreachable', async () => {
    const gone = await startStandIn('/v1');
    await gone.close();
    const runner = createSkillRunner(
      loadConfig({ SKILL_RUNNER: 'openai', SKILL_RUNNER_URL: gone.url, SKILL_RUNNER_API_KEY: 'k', SKILL_RUNNER_MAX_RETRIES: '0' }),
    );
    const r = await rig(runner);
    const skill = await createSkill(r);
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_unreachable' });
  });
});

describe('SKILL_RUNNER=anthropic against a messages stand-in', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig(runnerFor('anthropic'));
  });

  test('sends the exact request; the streamed output lands in the execution as it arrives; usage and exact cost', async () => {
    const half = gate();
    expectAnswers(anthropic, anthropicStream({ pieces: ['Bonjour', ' le', ' monde'], holdAfter: 1, hold: half.opened, usage: { input_tokens: 25, output_tokens: 15 } }));
    const skill = await createSkill(r, { model: 'claude-sonnet-4-5' });
    const queued = await execute(r, skill.id).expect(202);

    const running = await readUntil(r, queued.body.id, (e) => e.output === 'Bonjour');
    expect(running).toMatchObject({ status: 'running', output: 'Bonjour' });
    half.open();
    const done = await readUntil(r, queued.body.id, (e) => e.status !== 'running');

    expect(done).toMatchObject({
      status: 'completed',
      output: 'Bonjour le monde',
      promptTokens: 25,
      completionTokens: 15,
      tokensUsed: 40,
      // "claude-*": 25 x 3 + 15 x 15.25 = 303.75 euros per million tokens = 0.030375 cents -> 0.0304
      costCentsExact: '0.0304',
      errorCode: null,
    });
    expect(anthropic.received).toHaveLength(1);
    const [sent] = anthropic.received;
    expect(sent!.method).toBe('POST');
    expect(sent!.path).toBe('/v1/messages');
    // The SDK's API version sends the key as a bearer token.
    expect(sent!.headers.authorization).toBe('Bearer sk-ant-test');
    expect(sent!.headers['anthropic-version']).toBe('2026-10-21');
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(sent!.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Summarize the plan in one line.' }],
      stream: true,
      stop_sequences: ['END'],
    });
  });

  test('a json skill gets the JSON instruction as its system prompt', async () => {
    expectAnswers(anthropic, anthropicStream({ pieces: ['[1, ', '2, 3]'], usage: { input_tokens: 10, output_tokens: 5 } }));
    const skill = await createSkill(r, { model: 'claude-haiku-4-5', outputFormat: 'json', parameters: {} });
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', outputJson: [1, 2, 3] });
    expect(anthropic.received[0]!.body).toEqual({
      model: 'claude-haiku-4-5',
      // A skill without max_tokens: the skills' default, which the Messages API requires.
      max_tokens: 4096,
      system: JSON_INSTRUCTION,
      messages: [{ role: 'user', content: 'Summarize the plan in one line.' }],
      stream: true,
    });
  });

  test('529 (overloaded) is retried, then the run completes', async () => {
    expectAnswers(
      anthropic,
      jsonAnswer(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
      anthropicStream({ pieces: ['Done.'], usage: { input_tokens: 3, output_tokens: 2 } }),
    );
    const skill = await createSkill(r, { model: 'claude-sonnet-4-5' });
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', output: 'Done.' });
    expect(anthropic.received).toHaveLength(2);
    expect(anthropic.received[1]!.at - anthropic.received[0]!.at).toBeGreaterThanOrEqual(370);
  });

  test('an error event inside the stream fails the run', async () => {
    expectAnswers(anthropic, (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`);
    });
    const skill = await createSkill(r, { model: 'claude-sonnet-4-5' });
    const res = await execute(r, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', output: null });
    expect(res.body.errorCode).toMatch(/^runner_/);
  });

  test('a model with no price is recorded at cost 0', async () => {
    const unpriced = await rig(runnerFor('anthropic', { MODEL_PRICES: '{}' }));
    expectAnswers(anthropic, anthropicStream({ pieces: ['Free.'], usage: { input_tokens: 1000, output_tokens: 1000 } }));
    const skill = await createSkill(unpriced, { model: 'claude-sonnet-4-5' });
    const res = await execute(unpriced, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'completed', promptTokens: 1000, completionTokens: 1000, costCentsExact: '0.0000' });
  });

  test('the hang of a model that sends nothing after its headers ends at the deadline', async () => {
    const impatient = await rig(runnerFor('anthropic', { SKILL_RUNNER_TIMEOUT_MS: '300' }));
    expectAnswers(anthropic, hang);
    const skill = await createSkill(impatient, { model: 'claude-sonnet-4-5' });
    const res = await execute(impatient, skill.id, true).expect(200);
    expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_timeout' });
    await anthropic.received[0]!.closed;
  });
});
