import { randomUUID } from 'node:crypto';
import { startLoop } from '../src/background/loop';
import type { RunResult, SkillRunner } from '../src/skills/runner';
import { templateRunner } from '../src/skills/runner/template';
import { executionWorkerTask, runPendingExecutions, type ExecutionWorkerOptions } from '../src/skills/worker';
import { as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The execution worker's slots, retries, fairness and shutdown, against the
// real queue. Each test serves only organizations of its own: the test
// database is shared with every other suite.

let t: TestApp;
let alice: TestUser;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'worker-owner');
});
afterAll(() => t.close());

const template = templateRunner();

/** A runner the test scripts: `behave` decides each run from its input (and may wait on the abort signal). */
function scripted(behave: (input: Record<string, unknown>, signal: AbortSignal | undefined, run: () => Promise<RunResult>) => Promise<RunResult>): SkillRunner {
  return {
    kind: 'template',
    run: (skill, input, options) => behave(input, options?.signal, () => template.run(skill, input)),
  };
}

const failed = (code: string): RunResult => ({ ok: false, code, message: `failed with ${code}`, durationMs: 1 });

function options(organizationIds: string[], runner: SkillRunner, more: Partial<ExecutionWorkerOptions> = {}): ExecutionWorkerOptions {
  return { pool: t.pool, statementTimeoutMs: 5000, runner, concurrency: 2, staleAfterMs: 600_000, organizationIds, cancelCheckMs: 50, ...more };
}

async function skillIn(org: string): Promise<string> {
  const res = await as(t.app, alice, org)
    .post('/api/v1/skills')
    .send({ name: `Worker ${randomUUID().slice(0, 8)}`, promptTemplate: 'Say {{text}}.', inputSchema: [{ name: 'text', type: 'string', required: true }] })
    .expect(201);
  return res.body.id;
}

/** Pending executions inserted in this order (created_at strictly increasing, so "oldest first" is this order). */
async function queue(org: string, skillId: string, texts: string[], extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (const [index, text] of texts.entries()) {
    const row = await t.admin.query<{ id: string }>(
      `insert into public.skill_executions (organization_id, skill_id, user_id, input, created_at, execution_type, reference_id)
       values ($1, $2, $3, $4, clock_timestamp() + make_interval(secs => $5::double precision / 1000), $6, $7) returning id`,
      [org, skillId, alice.userId, JSON.stringify({ text }), index, extra.execution_type ?? 'manual', extra.reference_id ?? null],
    );
    ids.push(row.rows[0]!.id);
  }
  return ids;
}

async function stored(id: string) {
  return (await t.admin.query('select * from public.skill_executions where id = $1', [id])).rows[0];
}

async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('one slow run does not delay the fast ones queued after it: each slot takes the next as soon as it frees up', async () => {
  const org = await newOrganization(t.app, alice, 'Slots');
  const skill = await skillIn(org);
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const runner = scripted(async (input, _signal, run) => {
    if (input.text === 'slow') await released;
    return run();
  });
  const [slow, fast1, fast2] = await queue(org, skill, ['slow', 'fast one', 'fast two']);
  const loop = startLoop(executionWorkerTask({ ...options([org], runner), intervalMs: 3_600_000 }), () => undefined);
  try {
    // Two slots: the slow run holds one, the two fast runs go through the other, one after the other.
    await until(async () => (await stored(fast2!)).status === 'completed', 'the second fast run');
    expect(await stored(fast1!)).toMatchObject({ status: 'completed', output: 'Say fast one.' });
    expect((await stored(slow!)).status).toBe('running');
    release();
    await until(async () => (await stored(slow!)).status === 'completed', 'the slow run');
  } finally {
    release();
    await loop.stop();
  }
});

test('a burst of one organization does not starve another: B runs within the first claims while A has 50 queued', async () => {
  const orgA = await newOrganization(t.app, alice, 'Burst');
  const orgB = await newOrganization(t.app, alice, 'Single');
  const [skillA, skillB] = [await skillIn(orgA), await skillIn(orgB)];
  await queue(orgA, skillA, Array.from({ length: 50 }, (_, n) => `a${n}`));
  const [single] = await queue(orgB, skillB, ['b']);
  const order: string[] = [];
  const runner = scripted(async (input, _signal, run) => {
    order.push(String(input.text));
    return run();
  });
  // One slot, so the order of claims is the order of runs.
  for (let pass = 0; pass < 3; pass++) await runPendingExecutions(options([orgA, orgB], runner, { concurrency: 1 }));
  expect(order).toContain('b');
  expect(order.indexOf('b')).toBeLessThan(2);
  expect((await stored(single!)).status).toBe('completed');

  // With both organizations busy, the one with fewer runs going is served first.
  const [skillC] = [await skillIn(orgB)];
  await queue(orgB, skillC, ['b2', 'b3']);
  order.length = 0;
  await runPendingExecutions(options([orgA, orgB], runner, { concurrency: 2 }));
  expect(order.filter((text) => text.startsWith('b'))).toHaveLength(1);
  expect(order.filter((text) => text.startsWith('a'))).toHaveLength(1);
});

test('a transient failure is retried with a wait (the claim skips it until then): twice 503, then success, ends completed with attempts 3', async () => {
  const org = await newOrganization(t.app, alice, 'Transient');
  const skill = await skillIn(org);
  const habit = await t.admin.query<{ id: string }>(
    `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '0 0 1 1 *', now() + interval '300 days') returning id`,
    [org, skill, alice.userId],
  );
  const [id] = await queue(org, skill, ['flaky'], { execution_type: 'habit', reference_id: habit.rows[0]!.id });
  let calls = 0;
  const runner = scripted(async (_input, _signal, run) => {
    calls += 1;
    return calls <= 2 ? failed('runner_http_503') : run();
  });
  const retry = { maxAttempts: 3, baseDelayMs: 3000, maxDelayMs: 3000 };

  await runPendingExecutions(options([org], runner, { retry }));
  const waiting = await stored(id!);
  expect(waiting).toMatchObject({ status: 'pending', attempts: 1, executed_at: null, output: null });
  expect(new Date(waiting.next_attempt_at).getTime()).toBeGreaterThan(Date.now());
  // The API shows the retry: pending, one attempt made, the next one's time.
  const shown = await as(t.app, alice, org).get(`/api/v1/executions/${id}`).expect(200);
  expect(shown.body).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: new Date(waiting.next_attempt_at).toISOString(), startedAt: null });
  // Not due yet: nothing to claim.
  expect((await runPendingExecutions(options([org], runner, { retry }))).claimed).toBe(0);
  expect(calls).toBe(1);

  await until(async () => {
    await runPendingExecutions(options([org], runner, { retry }));
    return (await stored(id!)).status !== 'pending';
  }, 'the retries');
  expect(calls).toBe(3);
  expect(await stored(id!)).toMatchObject({ status: 'completed', attempts: 3, output: 'Say flaky.', error_code: null, next_attempt_at: null });
  // A retried run is no failure of the habit: only the final outcome counts.
  const counters = await t.admin.query('select consecutive_failures, last_error_message from public.habits where id = $1', [habit.rows[0]!.id]);
  expect(counters.rows[0]).toEqual({ consecutive_failures: 0, last_error_message: null });
});

test('a permanent failure is not retried; spent retries fail with the last code; each final failure counts once against the habit', async () => {
  const org = await newOrganization(t.app, alice, 'Permanent');
  const skill = await skillIn(org);
  const habit = await t.admin.query<{ id: string }>(
    `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '0 0 1 1 *', now() + interval '300 days') returning id`,
    [org, skill, alice.userId],
  );
  const habitId = habit.rows[0]!.id;
  const [refused, overloaded] = await queue(org, skill, ['refused', 'overloaded'], { execution_type: 'habit', reference_id: habitId });
  const calls: string[] = [];
  const runner = scripted(async (input) => {
    calls.push(String(input.text));
    return failed(input.text === 'refused' ? 'runner_http_400' : 'runner_timeout');
  });
  const retry = { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 };
  while ((await runPendingExecutions(options([org], runner, { retry }))).claimed > 0);
  expect(calls.filter((text) => text === 'refused')).toHaveLength(1);
  expect(calls.filter((text) => text === 'overloaded')).toHaveLength(2);
  expect(await stored(refused!)).toMatchObject({ status: 'failed', error_code: 'runner_http_400', attempts: 1 });
  expect(await stored(overloaded!)).toMatchObject({ status: 'failed', error_code: 'runner_timeout', attempts: 2 });
  const counters = await t.admin.query('select consecutive_failures from public.habits where id = $1', [habitId]);
  expect(counters.rows[0].consecutive_failures).toBe(2);
});

test('shutdown mid-run aborts the runner call and hands the execution back to pending; another worker completes it', async () => {
  const org = await newOrganization(t.app, alice, 'Handback');
  const skill = await skillIn(org);
  const [id] = await queue(org, skill, ['long']);
  let started: () => void = () => undefined;
  const running = new Promise<void>((resolve) => (started = resolve));
  // Would take ten minutes; ends early only when its call is aborted.
  const slow = scripted(
    (_input, signal) =>
      new Promise<RunResult>((resolve) => {
        started();
        const timer = setTimeout(() => resolve(failed('runner_timeout')), 600_000);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(failed('cancelled'));
        });
      }),
  );
  const loop = startLoop(executionWorkerTask({ ...options([org], slow), intervalMs: 3_600_000 }), () => undefined);
  await running;
  expect(await stored(id!)).toMatchObject({ status: 'running', attempts: 1 });
  const stopping = Date.now();
  await loop.stop();
  expect(Date.now() - stopping).toBeLessThan(5000);
  // Handed back: due at once, the interrupted attempt not counted, nothing recorded as a failure.
  expect(await stored(id!)).toMatchObject({ status: 'pending', attempts: 0, executed_at: null, error_code: null, next_attempt_at: null });

  const other = await runPendingExecutions(options([org], template));
  expect(other.claimed).toBe(1);
  expect(await stored(id!)).toMatchObject({ status: 'completed', attempts: 1, output: 'Say long.' });
});

test('cancel checks keep working with slots: a cancelled run is aborted while another keeps running', async () => {
  const org = await newOrganization(t.app, alice, 'Cancels');
  const skill = await skillIn(org);
  const [first, second] = await queue(org, skill, ['one', 'two']);
  const aborted: string[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const runner = scripted(
    (input, signal, run) =>
      new Promise<RunResult>((resolve) => {
        signal?.addEventListener('abort', () => {
          aborted.push(String(input.text));
          resolve(failed('cancelled'));
        });
        void released.then(() => resolve(run()));
      }),
  );
  const pass = runPendingExecutions(options([org], runner));
  await until(async () => (await stored(second!)).status === 'running', 'both runs to start');
  await as(t.app, alice, org).post(`/api/v1/executions/${first}/cancel`).expect(200);
  await until(async () => aborted.length > 0, 'the abort');
  expect(aborted).toEqual(['one']);
  release();
  expect(await pass).toEqual({ claimed: 2, dropped: 1 });
  expect((await stored(first!)).status).toBe('cancelled');
  expect(await stored(second!)).toMatchObject({ status: 'completed', output: 'Say two.' });
});
