import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { identityFromClaims } from '../src/auth/identity';
import { verifyHs256 } from '../src/auth/jwt';
import { startLoop } from '../src/background/loop';
import { createPool } from '../src/db/pool';
import { withRequestTransaction } from '../src/db/transaction';
import { executionWorkerTask, runPendingExecutions } from '../src/skills/worker';
import { httpRunner } from '../src/skills/runner/http';
import { templateRunner } from '../src/skills/runner/template';
import { json, startGateway } from './support/llm-gateway';
import { addMember, appDatabaseUrl, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// alice owns the organization, dana is an admin, bob a plain member; carol is in another organization.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let dana: TestUser;
let carol: TestUser;
let orgId: string;
let otherOrgId: string;

// The worker of this file runs only this file's organizations: the test database is shared.
const worker = (organizationIds: string[]) => ({
  pool: t.pool,
  statementTimeoutMs: 5000,
  runner: templateRunner(),
  concurrency: 4,
  staleAfterMs: 600_000,
  organizationIds,
});

/** Runs passes until the queue of these organizations is empty. */
async function drain(organizationIds: string[]): Promise<void> {
  while ((await runPendingExecutions(worker(organizationIds))).claimed > 0);
}

beforeAll(async () => {
  t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  dana = await newUser(t.app, 'dana');
  carol = await newUser(t.app, 'carol');
  orgId = await newOrganization(t.app, alice, 'Executions');
  otherOrgId = await newOrganization(t.app, carol, 'Elsewhere');
  await addMember(t, orgId, bob, 'member');
  await addMember(t, orgId, dana, 'admin');
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgId) => as(t.app, user, org);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function createSkill(user: TestUser = alice, overrides: Record<string, unknown> = {}, org = orgId) {
  const res = await api(user, org)
    .post('/api/v1/skills')
    .send({
      name: `Skill ${randomUUID().slice(0, 8)}`,
      promptTemplate: 'Summarize {{text}} in {{words}} words.',
      inputSchema: [
        { name: 'text', type: 'string', required: true },
        { name: 'words', type: 'number', default: 50 },
      ],
      ...overrides,
    });
  expect(res.status).toBe(201);
  return res.body;
}

async function stored(id: string) {
  return (await t.admin.query('select * from public.skill_executions where id = $1', [id])).rows[0];
}

async function skillCounters(id: string) {
  return (await t.admin.query('select execution_count, last_executed_at from public.skills where id = $1', [id])).rows[0];
}

/** An execution row arranged directly (as habits and reflexes insert them). */
async function insertExecution(skillId: string | null, values: Record<string, unknown> = {}, org = orgId, userId = alice.userId): Promise<string> {
  const columns = ['organization_id', 'skill_id', 'user_id', ...Object.keys(values)];
  const params = [org, skillId, userId, ...Object.values(values)];
  const row = await t.admin.query<{ id: string }>(
    `insert into public.skill_executions (${columns.join(', ')}) values (${params.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
    params,
  );
  return row.rows[0]!.id;
}

describe('POST /api/v1/skills/{skillId}/execute', () => {
  test('202 with a pending manual execution and its Location; the worker completes it and the skill counts it', async () => {
    const skill = await createSkill(alice);
    const res = await api(bob).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'the release' } }).expect(202);
    expect(res.body).toEqual({
      id: expect.any(String),
      organizationId: orgId,
      skillId: skill.id,
      userId: bob.userId,
      executionType: 'manual',
      referenceId: null,
      input: { text: 'the release' },
      output: null,
      outputFormat: 'markdown',
      outputJson: null,
      tokensUsed: 0,
      promptTokens: 0,
      completionTokens: 0,
      durationMs: null,
      costCents: 0,
      costCentsExact: '0.0000',
      status: 'pending',
      errorMessage: null,
      errorCode: null,
      executedAt: expect.stringMatching(ISO),
      startedAt: null,
      completedAt: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      attempts: 0,
      nextAttemptAt: null,
    });
    // executedAt is when it was queued: the frontend's required timestamp.
    expect(res.body.executedAt).toBe(res.body.createdAt);
    expect(res.headers.location).toBe(`/api/v1/executions/${res.body.id}`);

    await drain([orgId]);
    const done = await api(bob).get(res.headers.location!).expect(200);
    expect(done.body).toMatchObject({
      status: 'completed',
      output: 'Summarize the release in 50 words.',
      executedAt: res.body.createdAt,
      startedAt: expect.stringMatching(ISO),
      completedAt: expect.stringMatching(ISO),
      durationMs: expect.any(Number),
      costCents: 0,
      costCentsExact: '0.0000',
      skill: { id: skill.id, name: skill.name, category: 'custom', outputFormat: 'markdown', isActive: true },
    });
    expect(done.body.promptTokens).toBeGreaterThan(0);
    expect(done.body.tokensUsed).toBe(done.body.promptTokens + done.body.completionTokens);
    const counters = await skillCounters(skill.id);
    expect(counters.execution_count).toBe(1);
    expect(counters.last_executed_at).toBe(done.body.completedAt);
  });

  test('without a body the input is empty; a missing required field is a 400 and nothing is queued', async () => {
    const skill = await createSkill(alice, { inputSchema: [] });
    const res = await api(alice).post(`/api/v1/skills/${skill.id}/execute`).expect(202);
    expect(res.body.input).toEqual({});
    const strict = await createSkill(alice);
    const bad = await api(alice).post(`/api/v1/skills/${strict.id}/execute`).send({ input: { words: 'ten' } });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['/body/input/text', '/body/input/words']);
    expect((await t.admin.query('select 1 from public.skill_executions where skill_id = $1', [strict.id])).rowCount).toBe(0);
  });

  test('409 for an inactive skill; 404 for an unknown one; 400 for an input that is not an object', async () => {
    const skill = await createSkill(alice, { isActive: false });
    expectProblem(await api(alice).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'x' } }), 409);
    expect((await t.admin.query('select 1 from public.skill_executions where skill_id = $1', [skill.id])).rowCount).toBe(0);
    expectProblem(await api(alice).post(`/api/v1/skills/${randomUUID()}/execute`).send({}), 404);
    const active = await createSkill(alice);
    expectProblem(await api(alice).post(`/api/v1/skills/${active.id}/execute`).send({ input: ['x'] }), 400);
    expectProblem(await request(t.app).post(`/api/v1/skills/${active.id}/execute`).send({}), 401);
  });

  test('?wait=true wakes the worker and answers 200 with the ended execution', async () => {
    const org = await newOrganization(t.app, alice, 'Waiting');
    // A loop that never runs on its own: only the wake-up makes it run.
    const loop = startLoop(executionWorkerTask({ ...worker([org]), intervalMs: 3_600_000 }), () => undefined);
    const waiting = createTestApp({
      pool: t.pool,
      skills: { runner: templateRunner(), executeWaitMaxMs: 20_000 },
      background: { wake: (name) => (name === loop.name ? loop.wake() : undefined), stop: () => loop.stop() },
    });
    try {
      const skill = await createSkill(alice, { outputFormat: 'json' }, org);
      const res = await as(waiting.app, alice, org).post(`/api/v1/skills/${skill.id}/execute?wait=true`).send({ input: { text: 'now' } }).expect(200);
      const value = { prompt: 'Summarize now in 50 words.', input: { text: 'now', words: 50 } };
      expect(res.body).toMatchObject({ status: 'completed', outputFormat: 'json', outputJson: value });
      expect(JSON.parse(res.body.output)).toEqual(value);
      expect(res.body).not.toHaveProperty('skill');
    } finally {
      await loop.stop();
      await waiting.close();
    }
  });

  test('?wait=true with nobody to run it answers 202 with the still pending execution', async () => {
    const org = await newOrganization(t.app, alice, 'Nobody');
    const short = createTestApp({ pool: t.pool, skills: { runner: templateRunner(), executeWaitMaxMs: 200 } });
    try {
      const skill = await createSkill(alice, {}, org);
      const res = await as(short.app, alice, org).post(`/api/v1/skills/${skill.id}/execute?wait=true`).send({ input: { text: 'later' } }).expect(202);
      expect(res.body.status).toBe('pending');
      expect(res.headers.location).toBe(`/api/v1/executions/${res.body.id}`);
    } finally {
      await short.close();
    }
  });
});

describe('the worker', () => {
  test('two workers racing over one queue run every execution exactly once', async () => {
    const org = await newOrganization(t.app, alice, 'Race');
    const skill = await createSkill(alice, { inputSchema: [{ name: 'n', type: 'number', required: true }], promptTemplate: 'Item number {{n}}.' }, org);
    const total = 40;
    for (let n = 0; n < total; n++) await insertExecution(skill.id, { input: JSON.stringify({ n }) }, org);

    const runs: number[] = [];
    const counting = {
      kind: 'template' as const,
      run: async (s: Parameters<ReturnType<typeof templateRunner>['run']>[0], input: Record<string, unknown>) => {
        runs.push(input.n as number);
        // Yield so the two workers interleave their claims.
        await new Promise((resolve) => setImmediate(resolve));
        return templateRunner().run(s, input);
      },
    };
    // Two instances: each its own pool, as two servers would have.
    const pools = [createPool(appDatabaseUrl(), 3), createPool(appDatabaseUrl(), 3)];
    const race = async (pool: (typeof pools)[number]) => {
      while ((await runPendingExecutions({ ...worker([org]), pool, runner: counting, concurrency: 3 })).claimed > 0);
    };
    try {
      await Promise.all(pools.map(race));
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }

    expect([...runs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n));
    const statuses = await t.admin.query(`select status, count(*)::int as n from public.skill_executions where organization_id = $1 group by status`, [org]);
    expect(statuses.rows).toEqual([{ status: 'completed', n: total }]);
    expect((await skillCounters(skill.id)).execution_count).toBe(total);
  });

  test('runs executions inserted by others (habit, reflex) whatever their type; fails those of deleted or inactive skills', async () => {
    const org = await newOrganization(t.app, alice, 'Types');
    const skill = await createSkill(alice, {}, org);
    const habitRun = await insertExecution(skill.id, { execution_type: 'habit', reference_id: randomUUID(), input: '{"text": "cron"}' }, org);
    const reflexRun = await insertExecution(skill.id, { execution_type: 'reflex', reference_id: randomUUID(), input: '{"text": "hook"}' }, org);
    const badInput = await insertExecution(skill.id, { execution_type: 'habit', input: '{"words": 3}' }, org);
    const inactive = await createSkill(alice, {}, org);
    const inactiveRun = await insertExecution(inactive.id, { input: '{"text": "x"}' }, org);
    await t.admin.query('update public.skills set is_active = false where id = $1', [inactive.id]);
    const gone = await createSkill(alice, {}, org);
    const goneRun = await insertExecution(gone.id, { input: '{"text": "x"}' }, org);
    await t.admin.query('delete from public.skills where id = $1', [gone.id]);

    await drain([org]);
    expect(await stored(habitRun)).toMatchObject({ status: 'completed', output: 'Summarize cron in 50 words.' });
    expect(await stored(reflexRun)).toMatchObject({ status: 'completed', output: 'Summarize hook in 50 words.' });
    expect(await stored(badInput)).toMatchObject({ status: 'failed', error_code: 'invalid_input', output: null });
    expect((await stored(badInput)).error_message).toMatch(/text is required/);
    expect(await stored(inactiveRun)).toMatchObject({ status: 'failed', error_code: 'skill_inactive' });
    expect(await stored(goneRun)).toMatchObject({ status: 'failed', error_code: 'skill_deleted', skill_id: null });
    expect((await skillCounters(skill.id)).execution_count).toBe(2);
  });

  test('a cancel while the runner works wins: the late result is dropped, the execution stays cancelled', async () => {
    const org = await newOrganization(t.app, alice, 'Cancel');
    const skill = await createSkill(alice, {}, org);
    const gateway = await startGateway();
    // The gateway holds its answer until the test lets it go.
    let release: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (release = resolve));
    let received: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    gateway.answer = (res) => {
      received();
      void answered.then(() => json(res, 200, { output: 'late result', usage: { promptTokens: 5, completionTokens: 2 }, costCents: '0.5000' }));
    };
    try {
      const queued = (await api(alice, org).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'slow' } }).expect(202)).body;
      // Cancel checks off: this is about the late answer arriving and being dropped.
      const pass = runPendingExecutions({ ...worker([org]), runner: httpRunner({ url: gateway.url, timeoutMs: 30_000 }), cancelCheckMs: 3_600_000 });
      await arrived;
      expect((await stored(queued.id)).status).toBe('running');
      const cancelled = await api(alice, org).post(`/api/v1/executions/${queued.id}/cancel`).expect(200);
      expect(cancelled.body.status).toBe('cancelled');
      release();
      expect(await pass).toEqual({ claimed: 1, dropped: 1 });
      expect(await stored(queued.id)).toMatchObject({ status: 'cancelled', output: null, prompt_tokens: 0, cost_cents: '0.0000' });
      expect((await skillCounters(skill.id)).execution_count).toBe(0);
      expect(gateway.received[0]!.body.prompt).toBe('Summarize slow in 50 words.');
    } finally {
      release();
      await gateway.close();
    }
  });

  test('a cancel while the gateway works aborts the call: the pass ends without an answer ever coming', async () => {
    const org = await newOrganization(t.app, alice, 'Abort');
    const skill = await createSkill(alice, {}, org);
    const gateway = await startGateway();
    let received: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    let closedByWorker: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (closedByWorker = resolve));
    // Never answers; notices when the worker hangs up.
    gateway.answer = (res) => {
      res.on('close', () => closedByWorker());
      received();
    };
    try {
      const queued = (await api(alice, org).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'forever' } }).expect(202)).body;
      const pass = runPendingExecutions({ ...worker([org]), runner: httpRunner({ url: gateway.url, timeoutMs: 600_000 }), cancelCheckMs: 20 });
      await arrived;
      await api(alice, org).post(`/api/v1/executions/${queued.id}/cancel`).expect(200);
      expect(await pass).toEqual({ claimed: 1, dropped: 1 });
      await closed;
      expect(await stored(queued.id)).toMatchObject({ status: 'cancelled', output: null, error_code: null });
    } finally {
      await gateway.close();
    }
  });

  test('runner failures become failed executions with their code (HTTP 502 from the gateway, once its retries are spent)', async () => {
    const org = await newOrganization(t.app, alice, 'Fails');
    const skill = await createSkill(alice, {}, org);
    const gateway = await startGateway();
    gateway.answer = (res) => json(res, 502, { error: 'bad gateway' });
    try {
      const id = await insertExecution(skill.id, { input: '{"text": "x"}' }, org);
      // 502 is transient: retried without a wait here, failed after the third attempt.
      const retry = { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 };
      while ((await runPendingExecutions({ ...worker([org]), runner: httpRunner({ url: gateway.url, timeoutMs: 5000 }), retry })).claimed > 0);
      expect(gateway.received).toHaveLength(3);
      expect(await stored(id)).toMatchObject({ status: 'failed', error_code: 'runner_http_502', output: null, attempts: 3 });
      const res = await api(alice, org).get(`/api/v1/executions/${id}`).expect(200);
      expect(res.body).toMatchObject({ status: 'failed', errorCode: 'runner_http_502', errorMessage: expect.stringContaining('502') });
      expect((await skillCounters(skill.id)).execution_count).toBe(0);
    } finally {
      await gateway.close();
    }
  });

  test('an execution left running by a worker that died runs again while attempts remain, else fails as worker_lost', async () => {
    const org = await newOrganization(t.app, alice, 'Stale');
    const skill = await createSkill(alice, {}, org);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const retried = await insertExecution(skill.id, { status: 'running', executed_at: hourAgo, attempts: 1, input: '{"text": "again"}' }, org);
    const spent = await insertExecution(skill.id, { status: 'running', executed_at: hourAgo, attempts: 3 }, org);
    const fresh = await insertExecution(skill.id, { status: 'running' }, org);
    await runPendingExecutions(worker([org]));
    expect(await stored(retried)).toMatchObject({ status: 'completed', output: 'Summarize again in 50 words.', attempts: 2, error_code: null });
    expect(await stored(spent)).toMatchObject({ status: 'failed', error_code: 'worker_lost', attempts: 3 });
    expect((await stored(fresh)).status).toBe('running');
  });
});

describe('the state machine and the counters (database rules)', () => {
  const asAlice = <T>(work: (q: (sql: string, params?: unknown[]) => Promise<unknown>) => Promise<T>) =>
    withRequestTransaction(t.pool, identityFromClaims(verifyHs256(alice.token, jwtSecret())), { requestedOrganizationId: orgId, statementTimeoutMs: 5000 }, (tx) =>
      work((sql, params) => tx.query(sql, params)),
    );

  test('an ended execution never changes; running returns to pending (a retry) for the worker only, its start cleared', async () => {
    const skill = await createSkill(alice);
    const done = await insertExecution(skill.id, { status: 'completed' });
    await expect(t.admin.query(`update public.skill_executions set status = 'running' where id = $1`, [done])).rejects.toMatchObject({ code: '55000' });
    await expect(t.admin.query(`update public.skill_executions set status = 'pending' where id = $1`, [done])).rejects.toMatchObject({ code: '55000' });
    const running = await insertExecution(skill.id, { status: 'running' }, orgId, bob.userId);
    const asBob = (sql: string) =>
      withRequestTransaction(t.pool, identityFromClaims(verifyHs256(bob.token, jwtSecret())), { requestedOrganizationId: orgId, statementTimeoutMs: 5000 }, (tx) => tx.query(sql, [running]));
    await expect(asBob(`update public.skill_executions set status = 'pending' where id = $1`)).rejects.toMatchObject({ code: '42501' });
    expect((await stored(running)).status).toBe('running');
    await t.admin.query(`begin; set local role service_role; update public.skill_executions set status = 'pending' where id = '${running}'; commit`);
    expect(await stored(running)).toMatchObject({ status: 'pending', executed_at: null });
    expect((await stored(done)).status).toBe('completed');
  });

  test('a signed-in user may only cancel: completing or editing results is refused', async () => {
    const skill = await createSkill(alice);
    const pending = await insertExecution(skill.id);
    await expect(asAlice((q) => q(`update public.skill_executions set status = 'completed' where id = $1`, [pending]))).rejects.toMatchObject({ code: '42501' });
    await expect(asAlice((q) => q(`update public.skill_executions set output = '"forged"' where id = $1`, [pending]))).rejects.toMatchObject({ code: '42501' });
    await expect(asAlice((q) => q('delete from public.skill_executions where id = $1', [pending]))).rejects.toMatchObject({ code: '42501' });
    expect(await stored(pending)).toMatchObject({ status: 'pending', output: null });
  });

  test('completed counts once, including pending -> completed and rows inserted completed; failed and cancelled do not', async () => {
    const skill = await createSkill(alice);
    const direct = await insertExecution(skill.id);
    await t.admin.query(`update public.skill_executions set status = 'completed' where id = $1`, [direct]);
    expect((await skillCounters(skill.id)).execution_count).toBe(1);
    expect((await stored(direct)).completed_at).not.toBeNull();
    await insertExecution(skill.id, { status: 'completed' });
    expect((await skillCounters(skill.id)).execution_count).toBe(2);
    await insertExecution(skill.id, { status: 'failed' });
    await t.admin.query(`update public.skill_executions set status = 'cancelled' where id = $1`, [await insertExecution(skill.id)]);
    // Touching a completed row without changing its status counts nothing more.
    await t.admin.query(`update public.skill_executions set duration_ms = 5 where id = $1`, [direct]);
    const counters = await skillCounters(skill.id);
    expect(counters.execution_count).toBe(2);
    expect(counters.last_executed_at).not.toBeNull();
  });
});

describe('POST /api/v1/executions/{executionId}/cancel', () => {
  test('the starter cancels a pending one; an ended one is a 409', async () => {
    const skill = await createSkill(alice);
    const queued = (await api(bob).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'x' } }).expect(202)).body;
    const res = await api(bob).post(`/api/v1/executions/${queued.id}/cancel`).expect(200);
    expect(res.body).toMatchObject({ id: queued.id, status: 'cancelled', completedAt: expect.stringMatching(ISO), skill: { id: skill.id } });
    expectProblem(await api(bob).post(`/api/v1/executions/${queued.id}/cancel`), 409);
    await drain([orgId]);
    expect((await stored(queued.id)).status).toBe('cancelled');
    expect((await skillCounters(skill.id)).execution_count).toBe(0);
  });

  test('another member may not cancel (403); an admin may cancel a running one; 404 unknown', async () => {
    const skill = await createSkill(alice);
    const id = await insertExecution(skill.id, { status: 'running' }, orgId, alice.userId);
    expectProblem(await api(bob).post(`/api/v1/executions/${id}/cancel`), 403);
    expect((await stored(id)).status).toBe('running');
    await api(dana).post(`/api/v1/executions/${id}/cancel`).expect(200);
    expect((await stored(id)).status).toBe('cancelled');
    expectProblem(await api(alice).post(`/api/v1/executions/${randomUUID()}/cancel`), 404);
    const failed = await insertExecution(skill.id, { status: 'failed' });
    expectProblem(await api(alice).post(`/api/v1/executions/${failed}/cancel`), 409);
  });
});

describe('reading executions', () => {
  let org: string;
  let skillA: { id: string; name: string };
  let skillB: { id: string; name: string };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    org = await newOrganization(t.app, alice, 'Reading');
    await addMember(t, org, bob, 'member');
    skillA = await createSkill(alice, {}, org);
    skillB = await createSkill(bob, { category: 'analysis' }, org);
    const rows: Array<[string, string | null, Record<string, unknown>]> = [
      ['a1', skillA.id, { status: 'completed', created_at: '2026-03-01T10:00:00Z', duration_ms: 100, prompt_tokens: 10, completion_tokens: 5, tokens_used: 15, cost_cents: '1.2500' }],
      ['a2', skillA.id, { status: 'completed', created_at: '2026-03-01T23:30:00Z', duration_ms: 300, prompt_tokens: 20, completion_tokens: 5, tokens_used: 25, cost_cents: '0.0001' }],
      ['a3', skillA.id, { status: 'failed', created_at: '2026-03-03T08:00:00Z', duration_ms: 50, error_code: 'runner_timeout' }],
      ['b1', skillB.id, { status: 'pending', created_at: '2026-03-02T12:00:00Z', execution_type: 'habit' }],
      ['b2', skillB.id, { status: 'cancelled', created_at: '2026-04-15T12:00:00Z', execution_type: 'reflex' }],
    ];
    for (const [key, skillId, values] of rows) ids[key] = await insertExecution(skillId, values, org);
  });

  const get = (path: string, user = alice) => api(user, org).get(path);
  const listed = (res: request.Response) => res.body.data.map((e: { id: string }) => Object.keys(ids).find((k) => ids[k] === e.id));

  test('GET /executions: newest first, with skill summaries, in the envelope; filters combine', async () => {
    const all = await get('/api/v1/executions').expect(200);
    expect(all.body).toMatchObject({ total: 5, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(listed(all)).toEqual(['b2', 'a3', 'b1', 'a2', 'a1']);
    expect(all.body.data[0].skill).toEqual({ id: skillB.id, name: skillB.name, category: 'analysis', outputFormat: 'markdown', isActive: true });
    expect(listed(await get(`/api/v1/executions?skillId=${skillA.id}`).expect(200))).toEqual(['a3', 'a2', 'a1']);
    expect(listed(await get('/api/v1/executions?status=completed').expect(200))).toEqual(['a2', 'a1']);
    expect(listed(await get('/api/v1/executions?executionType=habit').expect(200))).toEqual(['b1']);
    expect(listed(await get('/api/v1/executions?from=2026-03-01T23:30:00Z&to=2026-03-03T08:00:00Z').expect(200))).toEqual(['b1', 'a2']);
    const paged = await get('/api/v1/executions?pageSize=2&page=2').expect(200);
    expect(listed(paged)).toEqual(['b1', 'a2']);
    expect(paged.body.hasMore).toBe(true);
    // Members see everyone's executions.
    expect((await get('/api/v1/executions', bob).expect(200)).body.total).toBe(5);
  });

  test('GET /executions: 400 for from not before to, a bad status, an unknown filter', async () => {
    expectProblem(await get('/api/v1/executions?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z'), 400);
    expectProblem(await get('/api/v1/executions?status=done'), 400);
    expectProblem(await get('/api/v1/executions?from=yesterday'), 400);
    expectProblem(await get('/api/v1/executions?userId=me'), 400);
  });

  test('GET /executions/{id}: with its skill; null once the skill is deleted', async () => {
    const one = await get(`/api/v1/executions/${ids.a3}`).expect(200);
    expect(one.body).toMatchObject({ id: ids.a3, status: 'failed', errorCode: 'runner_timeout', skill: { id: skillA.id } });
    const doomed = await createSkill(alice, {}, org);
    const orphan = await insertExecution(doomed.id, {}, org);
    await api(alice, org).delete(`/api/v1/skills/${doomed.id}`).expect(204);
    const res = await get(`/api/v1/executions/${orphan}`).expect(200);
    expect(res.body).toMatchObject({ skillId: null, skill: null });
    expectProblem(await get(`/api/v1/executions/${randomUUID()}`), 404);
    expectProblem(await get('/api/v1/executions/123'), 400);
  });

  test('GET /skills/{id}/executions and /stats', async () => {
    const page = await get(`/api/v1/skills/${skillA.id}/executions`).expect(200);
    expect(listed(page)).toEqual(['a3', 'a2', 'a1']);
    expect(listed(await get(`/api/v1/skills/${skillA.id}/executions?status=failed`).expect(200))).toEqual(['a3']);
    const stats = await get(`/api/v1/skills/${skillA.id}/stats`).expect(200);
    expect(stats.body).toEqual({
      skillId: skillA.id,
      total: 3,
      byStatus: { pending: 0, running: 0, completed: 2, failed: 1, cancelled: 0 },
      successRate: 0.6667,
      avgDurationMs: 200,
      promptTokens: 30,
      completionTokens: 10,
      tokensUsed: 40,
      costCents: '1.2501',
      lastExecution: expect.objectContaining({ id: ids.a3 }),
    });
    const empty = await createSkill(alice, {}, org);
    expect((await get(`/api/v1/skills/${empty.id}/stats`).expect(200)).body).toMatchObject({
      total: 0,
      successRate: null,
      avgDurationMs: null,
      costCents: '0.0000',
      lastExecution: null,
    });
  });

  test('GET /executions/stats/by-skill: one row per skill, most executions first', async () => {
    const res = await get('/api/v1/executions/stats/by-skill').expect(200);
    const rows = res.body.data.filter((r: { skillId: string }) => r.skillId === skillA.id || r.skillId === skillB.id);
    expect(rows).toEqual([
      {
        skillId: skillA.id,
        skill: { id: skillA.id, name: skillA.name, category: 'custom', outputFormat: 'markdown', isActive: true },
        total: 3,
        byStatus: { pending: 0, running: 0, completed: 2, failed: 1, cancelled: 0 },
        successRate: 0.6667,
        avgDurationMs: 200,
        tokensUsed: 40,
        costCents: '1.2501',
        lastCreatedAt: '2026-03-03T08:00:00.000Z',
      },
      expect.objectContaining({ skillId: skillB.id, total: 2, successRate: null, byStatus: { pending: 1, running: 0, completed: 0, failed: 0, cancelled: 1 } }),
    ]);
    const windowed = await get('/api/v1/executions/stats/by-skill?from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z').expect(200);
    expect(windowed.body.data.map((r: { skillId: string; total: number }) => [r.skillId, r.total])).toEqual([[skillB.id, 1]]);
  });

  test('GET /executions/stats/by-period: buckets cut in the given time zone, empty ones included', async () => {
    const utc = await get('/api/v1/executions/stats/by-period?interval=day&from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z').expect(200);
    expect(utc.body).toMatchObject({ interval: 'day', timezone: 'UTC', from: '2026-03-01T00:00:00.000Z', to: '2026-03-04T00:00:00.000Z' });
    expect(utc.body.buckets.map((b: { periodStart: string; total: number }) => [b.periodStart, b.total])).toEqual([
      ['2026-03-01T00:00:00.000Z', 2],
      ['2026-03-02T00:00:00.000Z', 1],
      ['2026-03-03T00:00:00.000Z', 1],
    ]);
    expect(utc.body.buckets[0]).toMatchObject({ tokensUsed: 40, costCents: '1.2501', byStatus: { completed: 2 } });

    // 23:30 UTC on March 1 is already March 2 in Amsterdam (UTC+1).
    const amsterdam = await get('/api/v1/executions/stats/by-period?interval=day&timezone=Europe/Amsterdam&from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z').expect(200);
    expect(amsterdam.body.buckets.map((b: { periodStart: string; total: number }) => [b.periodStart, b.total])).toEqual([
      ['2026-02-28T23:00:00.000Z', 1],
      ['2026-03-01T23:00:00.000Z', 2],
      ['2026-03-02T23:00:00.000Z', 1],
      ['2026-03-03T23:00:00.000Z', 0],
    ]);

    const months = await get('/api/v1/executions/stats/by-period?interval=month&from=2026-02-15T00:00:00Z&to=2026-05-01T00:00:00Z').expect(200);
    expect(months.body.buckets.map((b: { periodStart: string; total: number }) => [b.periodStart, b.total])).toEqual([
      ['2026-02-01T00:00:00.000Z', 0],
      ['2026-03-01T00:00:00.000Z', 4],
      ['2026-04-01T00:00:00.000Z', 1],
    ]);
    const weeks = await get(`/api/v1/executions/stats/by-period?interval=week&skillId=${skillA.id}&from=2026-03-01T00:00:00Z&to=2026-03-10T00:00:00Z`).expect(200);
    // 2026-03-01 is a Sunday: its week starts on Monday 2026-02-23.
    expect(weeks.body.buckets.map((b: { periodStart: string; total: number }) => [b.periodStart, b.total])).toEqual([
      ['2026-02-23T00:00:00.000Z', 2],
      ['2026-03-02T00:00:00.000Z', 1],
      ['2026-03-09T00:00:00.000Z', 0],
    ]);
    // Without a window: the last 30 days up to now.
    const recent = await get('/api/v1/executions/stats/by-period').expect(200);
    expect(recent.body.buckets.length).toBeGreaterThanOrEqual(30);
  });

  test('GET /executions/stats/by-period: 400 for an unknown or POSIX time zone, a reversed or too long window', async () => {
    for (const zone of ['Mars/Olympus', '+05:00', 'EST5EDT,M3.2.0', 'Europe/../etc']) {
      expectProblem(await get(`/api/v1/executions/stats/by-period?timezone=${encodeURIComponent(zone)}`), 400);
    }
    expectProblem(await get('/api/v1/executions/stats/by-period?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z'), 400);
    expectProblem(await get('/api/v1/executions/stats/by-period?interval=day&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z'), 400);
    expectProblem(await get('/api/v1/executions/stats/by-period?interval=year'), 400);
  });
});

describe('service tokens (back-office integrations)', () => {
  const service = () => mintToken(null, { secret: jwtSecret(), role: 'service_role' });
  const asService = (org?: string) => {
    const wrap = (test: request.Test) => {
      test.set('Authorization', `Bearer ${service()}`);
      if (org) test.set('X-Organization-Id', org);
      return test;
    };
    return { get: (path: string) => wrap(request(t.app).get(path)), post: (path: string) => wrap(request(t.app).post(path)) };
  };

  test('run a skill of the organization they name (type api, started by nobody), follow and cancel it', async () => {
    const skill = await createSkill(alice);
    const res = await asService(orgId).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'from CI' } }).expect(202);
    expect(res.body).toMatchObject({ organizationId: orgId, skillId: skill.id, userId: null, executionType: 'api', status: 'pending' });
    const read = await asService(orgId).get(`/api/v1/executions/${res.body.id}`).expect(200);
    expect(read.body).toMatchObject({ id: res.body.id, skill: { id: skill.id } });
    // Members see it too; the organization's owner may cancel it, as may the service.
    await api(bob).get(`/api/v1/executions/${res.body.id}`).expect(200);
    await asService(orgId).post(`/api/v1/executions/${res.body.id}/cancel`).expect(200);
    expect((await stored(res.body.id)).status).toBe('cancelled');
    const second = await asService(orgId).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'again' } }).expect(202);
    await drain([orgId]);
    expect((await asService(orgId).get(`/api/v1/executions/${second.body.id}`).expect(200)).body).toMatchObject({
      status: 'completed',
      output: 'Summarize again in 50 words.',
    });
  });

  test('400 without X-Organization-Id; 404 for another organization\'s skill or execution; nothing else is open to them', async () => {
    const skill = await createSkill(alice);
    const execution = await insertExecution(skill.id);
    expectProblem(await asService().post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'x' } }), 400);
    expectProblem(await asService().get(`/api/v1/executions/${execution}`), 400);
    expectProblem(await asService().post(`/api/v1/executions/${execution}/cancel`), 400);
    expectProblem(await asService(otherOrgId).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'x' } }), 404);
    expectProblem(await asService(otherOrgId).get(`/api/v1/executions/${execution}`), 404);
    expectProblem(await asService(otherOrgId).post(`/api/v1/executions/${execution}/cancel`), 404);
    expectProblem(await asService(randomUUID()).get(`/api/v1/executions/${execution}`), 404);
    expect((await stored(execution)).status).toBe('pending');
    expect((await t.admin.query('select 1 from public.skill_executions where skill_id = $1', [skill.id])).rowCount).toBe(1);
    expectProblem(await asService(orgId).get('/api/v1/executions'), 403);
    expectProblem(await asService(orgId).get(`/api/v1/skills/${skill.id}`), 403);
  });
});

describe('isolation: another organization', () => {
  test('cannot read, list, count or cancel executions', async () => {
    const skill = await createSkill(alice);
    const id = await insertExecution(skill.id, { status: 'completed', cost_cents: '9.0000' });
    const pending = await insertExecution(skill.id);
    const outsider = api(carol, otherOrgId);
    expectProblem(await outsider.get(`/api/v1/executions/${id}`), 404);
    expectProblem(await api(carol, otherOrgId).post(`/api/v1/executions/${pending}/cancel`), 404);
    expect((await stored(pending)).status).toBe('pending');
    const list = await api(carol, otherOrgId).get('/api/v1/executions?pageSize=100').expect(200);
    expect(list.body.data.map((e: { id: string }) => e.id)).not.toContain(id);
    expect((await api(carol, otherOrgId).get(`/api/v1/executions?skillId=${skill.id}`).expect(200)).body.total).toBe(0);
    const bySkill = await api(carol, otherOrgId).get('/api/v1/executions/stats/by-skill').expect(200);
    expect(bySkill.body.data.map((r: { skillId: string }) => r.skillId)).not.toContain(skill.id);
    const byPeriod = await api(carol, otherOrgId).get('/api/v1/executions/stats/by-period').expect(200);
    expect(byPeriod.body.buckets.every((b: { costCents: string }) => b.costCents !== '9.0000')).toBe(true);
    expect((await api(carol, otherOrgId).get(`/api/v1/executions/stats/by-period?skillId=${skill.id}`).expect(200)).body.buckets.every((b: { total: number }) => b.total === 0)).toBe(true);
    expectProblem(await api(carol, orgId).get(`/api/v1/executions/${id}`), 404);
  });
});
