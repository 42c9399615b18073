import { randomUUID } from 'node:crypto';
import { templateRunner } from '../src/skills/runner/template';
import { addMember, as, createQuotaTestApp, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The execution endpoints the web frontend calls beyond the list: filters,
// the runs of one habit or reflex, recent and running, retry, the dashboards
// and retention. alice owns organization A, dana is its admin, bob a plain
// member; carol owns organization B and must see none of A.

let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let dana: TestUser;
let carol: TestUser;
let orgA: string;
let orgB: string;

beforeAll(async () => {
  t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
  [alice, bob, dana, carol] = await Promise.all([newUser(t.app, 'alice'), newUser(t.app, 'bob'), newUser(t.app, 'dana'), newUser(t.app, 'carol')]);
  orgA = await newOrganization(t.app, alice, 'History');
  orgB = await newOrganization(t.app, carol, 'Other');
  await addMember(t, orgA, bob, 'member');
  await addMember(t, orgA, dana, 'admin');
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgA) => as(t.app, user, org);

async function newSkill(org: string, owner: TestUser, options: { active?: boolean; format?: string } = {}): Promise<string> {
  const row = await t.admin.query<{ id: string }>(
    `insert into public.skills (organization_id, user_id, name, prompt_template, is_active, output_format)
     values ($1, $2, $3, 'Summarize {{text}} briefly.', $4, $5) returning id`,
    [org, owner.userId, `Skill ${randomUUID().slice(0, 8)}`, options.active ?? true, options.format ?? 'markdown'],
  );
  return row.rows[0]!.id;
}

async function newHabit(org: string, owner: TestUser, skillId: string): Promise<string> {
  const row = await t.admin.query<{ id: string }>(
    `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '0 9 * * *', now() + interval '1 day') returning id`,
    [org, skillId, owner.userId],
  );
  return row.rows[0]!.id;
}

async function newReflex(org: string, owner: TestUser, skillId: string, triggerType: 'webhook' | 'event'): Promise<string> {
  const config = triggerType === 'webhook' ? { method: 'POST' } : { eventName: 'deploy.done' };
  const row = await t.admin.query<{ id: string }>(
    `insert into public.reflexes (organization_id, skill_id, user_id, trigger_type, trigger_config) values ($1, $2, $3, $4, $5) returning id`,
    [org, skillId, owner.userId, triggerType, config],
  );
  return row.rows[0]!.id;
}

interface Arranged {
  status?: string;
  type?: string;
  referenceId?: string | null;
  createdAt?: string;
  durationMs?: number | null;
  costCents?: string;
  tokens?: number;
  input?: Record<string, unknown>;
  userId?: string;
  output?: unknown;
}

/** An execution arranged as the owner, with the times and figures a test needs. */
async function insertExecution(org: string, skillId: string | null, values: Arranged = {}): Promise<string> {
  const status = values.status ?? 'completed';
  const row = await t.admin.query<{ id: string }>(
    `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, input, status,
       duration_ms, cost_cents, tokens_used, output, created_at, executed_at, completed_at, error_code)
     values ($1, $2, $3, $4, $5, $6, $7::public.execution_status, $8, $9, $10, $11, $12::timestamptz,
       case when $7::public.execution_status = 'pending' then null else $12::timestamptz end,
       case when $7::public.execution_status in ('completed', 'failed', 'cancelled') then $12::timestamptz + interval '1 second' end,
       case when $7::public.execution_status = 'failed' then 'runner_timeout' end)
     returning id`,
    [
      org,
      skillId,
      values.userId ?? alice.userId,
      values.type ?? 'manual',
      values.referenceId ?? null,
      values.input ?? { text: 'x' },
      status,
      values.durationMs === undefined ? (status === 'completed' ? 100 : null) : values.durationMs,
      values.costCents ?? '0',
      values.tokens ?? 0,
      values.output === undefined ? (status === 'completed' ? JSON.stringify('done') : null) : JSON.stringify(values.output),
      values.createdAt ?? new Date().toISOString(),
    ],
  );
  return row.rows[0]!.id;
}

const ids = (res: { body: { data?: Array<{ id: string }> } | Array<{ id: string }> }) =>
  (Array.isArray(res.body) ? res.body : res.body.data!).map((e) => e.id);

describe('GET /executions with the frontend\'s filters', () => {
  let org: string;
  const at = (day: number) => `2026-02-${String(day).padStart(2, '0')}T12:00:00.000Z`;
  const made: string[] = [];
  let habit: string;

  beforeAll(async () => {
    org = await newOrganization(t.app, alice, 'Filters');
    const skill = await newSkill(org, alice);
    habit = await newHabit(org, alice, skill);
    for (let day = 1; day <= 5; day += 1) made.push(await insertExecution(org, skill, { createdAt: at(day) }));
    made.push(await insertExecution(org, skill, { createdAt: at(6), type: 'habit', referenceId: habit }));
  });

  test('startDate and endDate are both inclusive; referenceId picks one habit\'s runs', async () => {
    const res = await api(alice, org).get(`/api/v1/executions?startDate=${at(2)}&endDate=${at(4)}`).expect(200);
    expect(ids(res)).toEqual([made[3], made[2], made[1]]);
    expect(ids(await api(alice, org).get(`/api/v1/executions?referenceId=${habit}`).expect(200))).toEqual([made[5]]);
    // Ours: from inclusive, to exclusive.
    expect(ids(await api(alice, org).get(`/api/v1/executions?from=${at(2)}&to=${at(4)}`).expect(200))).toEqual([made[2], made[1]]);
  });

  test('limit and offset page like the frontend; page is where the offset falls', async () => {
    const res = await api(alice, org).get('/api/v1/executions?limit=2&offset=3').expect(200);
    expect(ids(res)).toEqual([made[2], made[1]]);
    expect(res.body).toMatchObject({ page: 2, pageSize: 2, total: 6, hasMore: true });
    const last = await api(alice, org).get('/api/v1/executions?limit=4&offset=4').expect(200);
    expect(ids(last)).toEqual([made[1], made[0]]);
    expect(last.body).toMatchObject({ page: 2, pageSize: 4, hasMore: false });
    expect((await api(alice, org).get('/api/v1/executions?page=2&pageSize=4').expect(200)).body.data).toHaveLength(2);
  });

  test('bad windows and mixed paging are 400s', async () => {
    for (const query of [
      `startDate=${at(4)}&endDate=${at(2)}`,
      `from=${at(1)}&startDate=${at(1)}`,
      `to=${at(1)}&endDate=${at(1)}`,
      `from=${at(3)}&endDate=${at(2)}`,
      'limit=10&page=2',
      'offset=10&pageSize=5',
      'limit=0',
      'limit=101',
      'offset=-1',
      'offset=10001',
      'startDate=yesterday',
      'referenceId=not-a-uuid',
    ]) {
      expectProblem(await api(alice, org).get(`/api/v1/executions?${query}`), 400);
    }
  });
});

describe('GET /habits/{id}/executions and /reflexes/{id}/executions', () => {
  test('the runs of that habit or reflex only; 404 for one the caller cannot see', async () => {
    const skill = await newSkill(orgA, alice);
    const habit = await newHabit(orgA, alice, skill);
    const otherHabit = await newHabit(orgA, alice, skill);
    const reflex = await newReflex(orgA, alice, skill, 'event');
    const h1 = await insertExecution(orgA, skill, { type: 'habit', referenceId: habit, createdAt: '2026-03-01T00:00:00Z' });
    const h2 = await insertExecution(orgA, skill, { type: 'habit', referenceId: habit, createdAt: '2026-03-02T00:00:00Z', status: 'failed' });
    await insertExecution(orgA, skill, { type: 'habit', referenceId: otherHabit });
    const r1 = await insertExecution(orgA, skill, { type: 'reflex', referenceId: reflex });

    const runs = await api(bob).get(`/api/v1/habits/${habit}/executions`).expect(200);
    expect(ids(runs)).toEqual([h2, h1]);
    expect(runs.body).toMatchObject({ total: 2, page: 1, hasMore: false });
    expect(runs.body.data[0]).toMatchObject({ executionType: 'habit', referenceId: habit, skill: { id: skill } });
    expect(ids(await api(bob).get(`/api/v1/habits/${habit}/executions?status=failed`).expect(200))).toEqual([h2]);
    expect(ids(await api(bob).get(`/api/v1/habits/${habit}/executions?limit=1&offset=1`).expect(200))).toEqual([h1]);
    expect(ids(await api(bob).get(`/api/v1/reflexes/${reflex}/executions`).expect(200))).toEqual([r1]);

    // Another organization: its own or A's header alike.
    expectProblem(await api(carol, orgB).get(`/api/v1/habits/${habit}/executions`), 404);
    expectProblem(await api(carol, orgB).get(`/api/v1/reflexes/${reflex}/executions`), 404);
    expectProblem(await api(carol, orgA).get(`/api/v1/habits/${habit}/executions`), 404);
    expectProblem(await api(bob).get(`/api/v1/habits/${randomUUID()}/executions`), 404);
    expectProblem(await api(bob).get(`/api/v1/reflexes/${randomUUID()}/executions`), 404);
    expectProblem(await api(bob).get('/api/v1/habits/nope/executions'), 400);
    expectProblem(await api(bob).get(`/api/v1/habits/${habit}/executions?limit=5&page=1`), 400);
  });
});

describe('GET /executions/recent and /executions/running', () => {
  test('the latest N, and those not ended, newest first, as plain arrays', async () => {
    const org = await newOrganization(t.app, alice, 'Recent');
    const skill = await newSkill(org, alice);
    const old = await insertExecution(org, skill, { createdAt: '2026-01-01T00:00:00Z', status: 'running' });
    const done = await insertExecution(org, skill, { createdAt: '2026-01-02T00:00:00Z' });
    const queued = await insertExecution(org, skill, { createdAt: '2026-01-03T00:00:00Z', status: 'pending' });
    const failed = await insertExecution(org, skill, { createdAt: '2026-01-04T00:00:00Z', status: 'failed' });

    const recent = await api(alice, org).get('/api/v1/executions/recent?limit=3').expect(200);
    expect(ids(recent)).toEqual([failed, queued, done]);
    expect(recent.body[0].skill).toMatchObject({ id: skill });
    expect(ids(await api(alice, org).get('/api/v1/executions/recent').expect(200))).toEqual([failed, queued, done, old]);
    expect(ids(await api(alice, org).get('/api/v1/executions/running').expect(200))).toEqual([queued, old]);
    expect(ids(await api(alice, org).get('/api/v1/executions/running?limit=1').expect(200))).toEqual([queued]);

    // carol, in her own organization, sees none of these.
    const hers = [...ids(await api(carol, orgB).get('/api/v1/executions/recent?limit=100').expect(200)), ...ids(await api(carol, orgB).get('/api/v1/executions/running').expect(200))];
    expect(hers.filter((id) => [old, done, queued, failed].includes(id))).toEqual([]);
    expectProblem(await api(carol, org).get('/api/v1/executions/recent'), 404);
    for (const query of ['limit=0', 'limit=101', 'limit=x']) {
      expectProblem(await api(alice, org).get(`/api/v1/executions/recent?${query}`), 400);
      expectProblem(await api(alice, org).get(`/api/v1/executions/running?${query}`), 400);
    }
  });
});

describe('POST /executions/{id}/retry', () => {
  test('a failed manual run comes back as a new pending manual run of the caller, same skill and input', async () => {
    const skill = await newSkill(orgA, alice);
    const failed = await insertExecution(orgA, skill, { status: 'failed', input: { text: 'again please', n: 2 } });
    const res = await api(bob).post(`/api/v1/executions/${failed}/retry`).expect(202);
    expect(res.body).toEqual({ newExecutionId: expect.any(String), status: 'pending', execution: expect.any(Object) });
    expect(res.body.newExecutionId).not.toBe(failed);
    expect(res.headers.location).toBe(`/api/v1/executions/${res.body.newExecutionId}`);
    expect(res.body.execution).toMatchObject({
      id: res.body.newExecutionId,
      skillId: skill,
      userId: bob.userId,
      executionType: 'manual',
      referenceId: null,
      input: { text: 'again please', n: 2 },
      status: 'pending',
      skill: { id: skill },
    });
    // The old one is history, untouched.
    expect((await api(bob).get(`/api/v1/executions/${failed}`).expect(200)).body).toMatchObject({ status: 'failed', errorCode: 'runner_timeout' });
    // A cancelled one may be retried too.
    const cancelled = await insertExecution(orgA, skill, { status: 'cancelled' });
    await api(alice).post(`/api/v1/executions/${cancelled}/retry`).expect(202);
  });

  test('409 for a run that did not fail or was not cancelled, or whose skill is inactive or gone; 404 elsewhere', async () => {
    const skill = await newSkill(orgA, alice);
    for (const status of ['pending', 'running', 'completed']) {
      const execution = await insertExecution(orgA, skill, { status });
      const res = await api(alice).post(`/api/v1/executions/${execution}/retry`);
      expectProblem(res, 409);
    }
    const dormant = await newSkill(orgA, alice, { active: false });
    expectProblem(await api(alice).post(`/api/v1/executions/${await insertExecution(orgA, dormant, { status: 'failed' })}/retry`), 409);
    expectProblem(await api(alice).post(`/api/v1/executions/${await insertExecution(orgA, null, { status: 'failed' })}/retry`), 409);

    const before = (await t.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [orgA])).rows[0].n;
    const failed = await insertExecution(orgA, skill, { status: 'failed' });
    expectProblem(await api(carol, orgB).post(`/api/v1/executions/${failed}/retry`), 404);
    expectProblem(await api(carol, orgA).post(`/api/v1/executions/${failed}/retry`), 404);
    expectProblem(await api(alice).post(`/api/v1/executions/${randomUUID()}/retry`), 404);
    expectProblem(await api(alice).post('/api/v1/executions/nope/retry'), 400);
    const after = (await t.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [orgA])).rows[0].n;
    expect(after).toBe(before + 1);
  });

  test("a habit's run comes back as a run of that habit (counted for it), made the way run-now makes it", async () => {
    const skill = await newSkill(orgA, alice);
    const habit = await newHabit(orgA, alice, skill);
    const failed = await insertExecution(orgA, skill, { status: 'failed', type: 'habit', referenceId: habit, input: { text: 'nightly' } });
    const runsBefore = (await t.admin.query('select run_count from public.habits where id = $1', [habit])).rows[0].run_count;
    const res = await api(bob).post(`/api/v1/executions/${failed}/retry`).expect(202);
    expect(res.body.execution).toMatchObject({ executionType: 'habit', referenceId: habit, userId: bob.userId, input: { text: 'nightly' }, skillId: skill });
    expect((await t.admin.query('select run_count from public.habits where id = $1', [habit])).rows[0].run_count).toBe(runsBefore + 1);
    await t.admin.query('delete from public.habits where id = $1', [habit]);
    expectProblem(await api(bob).post(`/api/v1/executions/${failed}/retry`), 409);
  });

  test("a reflex's run goes through app.start_reflex_run: its managers retry any, members only those they may fire", async () => {
    const skill = await newSkill(orgA, alice);
    const webhook = await newReflex(orgA, alice, skill, 'webhook');
    const event = await newReflex(orgA, alice, skill, 'event');
    const hookRun = await insertExecution(orgA, skill, { status: 'failed', type: 'reflex', referenceId: webhook, input: { action: 'opened' } });
    const eventRun = await insertExecution(orgA, skill, { status: 'cancelled', type: 'reflex', referenceId: event });

    expectProblem(await api(bob).post(`/api/v1/executions/${hookRun}/retry`), 403);
    const byOwner = await api(dana).post(`/api/v1/executions/${hookRun}/retry`).expect(202);
    // The reflex's run is its owner's, as every reflex run is.
    expect(byOwner.body.execution).toMatchObject({ executionType: 'reflex', referenceId: webhook, userId: alice.userId, input: { action: 'opened' } });
    const byMember = await api(bob).post(`/api/v1/executions/${eventRun}/retry`).expect(202);
    expect(byMember.body.execution).toMatchObject({ executionType: 'reflex', referenceId: event });

    await t.admin.query('update public.reflexes set is_active = false where id = $1', [event]);
    expectProblem(await api(bob).post(`/api/v1/executions/${eventRun}/retry`), 409);
  });
});

describe('POST /executions/{id}/retry under the plan quota', () => {
  let q: TestApp;
  beforeAll(async () => {
    q = await createQuotaTestApp();
  });
  afterAll(() => q.close());

  test('a retry is an oracle query: past the Free plan\'s 10 a day it is a 429 and nothing is queued', async () => {
    const owner = await newUser(q.app, 'quota');
    const org = owner.personalOrganizationId;
    const skill = (await q.admin.query<{ id: string }>(
      `insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, 'Quota skill', 'Summarize {{text}} now.') returning id`,
      [org, owner.userId],
    )).rows[0]!.id;
    const failed = (await q.admin.query<{ id: string }>(
      `insert into public.skill_executions (organization_id, skill_id, user_id, status) values ($1, $2, $3, 'failed') returning id`,
      [org, skill, owner.userId],
    )).rows[0]!.id;
    const caller = as(q.app, owner, org);
    for (let i = 0; i < 9; i += 1) await caller.post(`/api/v1/executions/${failed}/retry`).expect(202);
    const refused = await caller.post(`/api/v1/executions/${failed}/retry`);
    expectProblem(refused, 429);
    expect(refused.headers['x-ratelimit-limit']).toBe('10');
    const count = (await q.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [org])).rows[0].n;
    expect(count).toBe(10);
  });
});

describe('the dashboards: /executions/stats, /cost-breakdown, /performance', () => {
  let org: string;
  let skillA: string;
  let skillB: string;
  const day = (d: number, hour = 12) => `2026-06-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;
  const window = `startDate=${day(1, 0)}&endDate=2026-06-05T23:59:59.999Z`;

  beforeAll(async () => {
    org = await newOrganization(t.app, alice, 'Dashboards');
    skillA = await newSkill(org, alice);
    skillB = await newSkill(org, alice);
    // 100 completed runs of A with durations 1..100 ms on June 1-4 at 03:00 or 15:00.
    await t.admin.query(
      `insert into public.skill_executions (organization_id, skill_id, user_id, status, duration_ms, cost_cents, tokens_used, created_at)
       select $1, $2, $3, 'completed', g, 0.0001, 10, $4::timestamptz + ((g % 4) || ' days')::interval + (case when g % 2 = 0 then 3 else 15 end || ' hours')::interval
       from generate_series(1, 100) g`,
      [org, skillA, alice.userId, '2026-06-01T00:00:00Z'],
    );
    await insertExecution(org, skillB, { createdAt: day(2), type: 'habit', costCents: '0.0002', tokens: 5, durationMs: 1000 });
    await insertExecution(org, skillB, { createdAt: day(3), status: 'failed', type: 'api' });
    await insertExecution(org, skillB, { createdAt: day(3), status: 'cancelled', type: 'reflex' });
    await insertExecution(org, null, { createdAt: day(4), costCents: '1.2345', type: 'habit', durationMs: 2000 });
    // Outside the window.
    await insertExecution(org, skillA, { createdAt: '2026-05-20T00:00:00Z', costCents: '50', durationMs: 99999 });
  });

  test('GET /executions/stats: the frontend\'s totals, by type and status, per UTC day', async () => {
    const res = await api(alice, org).get(`/api/v1/executions/stats?${window}`).expect(200);
    expect(res.body).toEqual({
      from: '2026-06-01T00:00:00.000Z',
      to: '2026-06-05T23:59:59.999Z',
      totalExecutions: 104,
      successfulExecutions: 102,
      failedExecutions: 1,
      cancelledExecutions: 1,
      totalTokensUsed: 1005,
      totalCostCents: 1.2447,
      totalCostCentsExact: '1.2447',
      averageDurationMs: Math.round((5050 + 1000 + 2000) / 102),
      executionsByType: { manual: 100, habit: 2, reflex: 1, api: 1 },
      executionsByStatus: { pending: 0, running: 0, completed: 102, failed: 1, cancelled: 1 },
      dailyExecutions: [
        { date: '2026-06-01', count: 25, tokens: 250 },
        { date: '2026-06-02', count: 26, tokens: 255 },
        { date: '2026-06-03', count: 27, tokens: 250 },
        { date: '2026-06-04', count: 26, tokens: 250 },
        { date: '2026-06-05', count: 0, tokens: 0 },
      ],
    });
    const one = await api(alice, org).get(`/api/v1/executions/stats?${window}&skillId=${skillB}`).expect(200);
    expect(one.body).toMatchObject({ totalExecutions: 3, executionsByType: { manual: 0, habit: 1, reflex: 1, api: 1 } });
    // Without a start: every execution up to now, and the last 14 days charted.
    const all = await api(alice, org).get('/api/v1/executions/stats').expect(200);
    expect(all.body).toMatchObject({ from: null, totalExecutions: 105, totalCostCentsExact: '51.2447' });
    expect(all.body.dailyExecutions).toHaveLength(14);
  });

  test('GET /executions/cost-breakdown: exact sums as numbers of cents and as strings', async () => {
    const res = await api(alice, org).get(`/api/v1/executions/cost-breakdown?${window}`).expect(200);
    expect(res.body).toEqual({
      from: '2026-06-01T00:00:00.000Z',
      to: '2026-06-05T23:59:59.999Z',
      totalCostCents: 1.2447,
      totalCostCentsExact: '1.2447',
      deletedSkillsCostCents: 1.2345,
      deletedSkillsCostCentsExact: '1.2345',
      costBySkill: [
        { skillId: skillA, skillName: expect.any(String), costCents: 0.01, costCentsExact: '0.0100', executionCount: 100 },
        { skillId: skillB, skillName: expect.any(String), costCents: 0.0002, costCentsExact: '0.0002', executionCount: 1 },
      ],
      costByType: { manual: 0.01, habit: 1.2347, reflex: 0, api: 0 },
      costByTypeExact: { manual: '0.0100', habit: '1.2347', reflex: '0.0000', api: '0.0000' },
      costByDay: [
        { date: '2026-06-01', costCents: 0.0025, costCentsExact: '0.0025' },
        { date: '2026-06-02', costCents: 0.0027, costCentsExact: '0.0027' },
        { date: '2026-06-03', costCents: 0.0025, costCentsExact: '0.0025' },
        { date: '2026-06-04', costCents: 1.237, costCentsExact: '1.2370' },
        { date: '2026-06-05', costCents: 0, costCentsExact: '0.0000' },
      ],
    });
    // A float sum of a hundred 0.0001 would not be 0.01.
    expect(JSON.stringify(res.body.costBySkill[0].costCents)).toBe('0.01');
    const defaults = await api(alice, org).get('/api/v1/executions/cost-breakdown').expect(200);
    expect(defaults.body.costByDay).toHaveLength(30);
  });

  test('GET /executions/performance: PostgreSQL percentiles of the window\'s completed durations', async () => {
    const res = await api(alice, org).get(`/api/v1/executions/performance?${window}&skillId=${skillA}`).expect(200);
    // percentile_cont over 1..100: 1 + p * 99.
    expect(res.body).toMatchObject({
      sampleSize: 100,
      averageDurationMs: 51,
      avgDurationMs: 51,
      p50DurationMs: 50.5,
      p90DurationMs: 90.1,
      p95DurationMs: 95.05,
      p99DurationMs: 99.01,
      successRate: 100,
    });
    expect(res.body.durationByHour).toHaveLength(24);
    expect(res.body.durationByHour[3]).toEqual({ hour: 3, avgDurationMs: 51 });
    expect(res.body.durationByHour[15]).toEqual({ hour: 15, avgDurationMs: 50 });
    expect(res.body.durationByHour[4]).toEqual({ hour: 4, avgDurationMs: 0 });
    const whole = await api(alice, org).get(`/api/v1/executions/performance?${window}`).expect(200);
    expect(whole.body).toMatchObject({ sampleSize: 102, successRate: Math.round((102 / 103) * 100), p99DurationMs: expect.any(Number) });
    // 102 durations: 1..100, 1000, 2000; position 0.99 * 101 = 99.99 lies between 100 and 1000.
    expect(whole.body.p99DurationMs).toBe(991);
  });

  test('another organization sees none of it; bad windows are 400s', async () => {
    const theirs = await api(carol, orgB).get(`/api/v1/executions/stats?${window}`).expect(200);
    expect(theirs.body.totalExecutions).toBe(0);
    expect((await api(carol, orgB).get(`/api/v1/executions/cost-breakdown?${window}`).expect(200)).body.totalCostCentsExact).toBe('0.0000');
    expect((await api(carol, orgB).get(`/api/v1/executions/performance?${window}`).expect(200)).body).toMatchObject({ sampleSize: 0, p50DurationMs: 0, successRate: 0 });
    expect((await api(carol, orgB).get(`/api/v1/executions/performance?skillId=${skillA}&${window}`).expect(200)).body.sampleSize).toBe(0);
    for (const path of ['stats', 'cost-breakdown', 'performance']) {
      expectProblem(await api(carol, org).get(`/api/v1/executions/${path}`), 404);
      expectProblem(await api(alice, org).get(`/api/v1/executions/${path}?startDate=${day(5)}&endDate=${day(1)}`), 400);
      expectProblem(await api(alice, org).get(`/api/v1/executions/${path}?startDate=2024-01-01T00:00:00Z&endDate=${day(1)}`), 400);
      expectProblem(await api(alice, org).get(`/api/v1/executions/${path}?startDate=soon`), 400);
    }
    expectProblem(await api(alice, org).get('/api/v1/executions/performance?skillId=x'), 400);
  });
});

describe('GET /executions/analytics (the frontend\'s stats service)', () => {
  test('the last 7, 30 or 90 UTC days: overview, each day, by type and status, the skills run most', async () => {
    const org = await newOrganization(t.app, alice, 'Analytics');
    const busy = await newSkill(org, alice);
    const quiet = await newSkill(org, alice);
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    await insertExecution(org, busy, { createdAt: ago(0), costCents: '0.0001', tokens: 10, durationMs: 100 });
    await insertExecution(org, busy, { createdAt: ago(0), costCents: '0.0002', tokens: 20, durationMs: 300, type: 'api' });
    await insertExecution(org, busy, { createdAt: ago(2), status: 'failed' });
    await insertExecution(org, quiet, { createdAt: ago(3), status: 'pending' });
    await insertExecution(org, quiet, { createdAt: ago(20), costCents: '5', tokens: 7 });

    const week = await api(alice, org).get('/api/v1/executions/analytics?period=7d').expect(200);
    expect(week.body.overview).toEqual({ totalRuns: 4, successRate: 67, avgTokens: 8, avgDurationMs: 200, totalCostCents: 0.0003, totalCostCentsExact: '0.0003' });
    expect(week.body.executionsOverTime).toHaveLength(7);
    expect(week.body.executionsOverTime[6]).toEqual({
      date: new Date().toISOString().slice(0, 10),
      count: 2,
      successCount: 2,
      failureCount: 0,
      tokens: 30,
      costCents: 0.0003,
      costCentsExact: '0.0003',
    });
    expect(week.body.executionsByType).toEqual({ manual: 3, habit: 0, reflex: 0, api: 1 });
    expect(week.body.executionsByStatus).toEqual({ pending: 1, running: 0, completed: 2, failed: 1, cancelled: 0 });
    expect(week.body.skillBreakdown).toEqual([
      { skillId: busy, name: expect.any(String), runs: 3 },
      { skillId: quiet, name: expect.any(String), runs: 1 },
    ]);

    const month = await api(alice, org).get('/api/v1/executions/analytics').expect(200);
    expect(month.body).toMatchObject({ period: '30d', overview: { totalRuns: 5, totalCostCentsExact: '5.0003' } });
    expect(month.body.executionsOverTime).toHaveLength(30);
    expect((await api(alice, org).get('/api/v1/executions/analytics?period=90d').expect(200)).body.executionsOverTime).toHaveLength(90);
    const one = await api(alice, org).get(`/api/v1/executions/analytics?period=30d&skillId=${quiet}`).expect(200);
    expect(one.body.overview).toMatchObject({ totalRuns: 2, successRate: 100 });
    expect(one.body.skillBreakdown).toEqual([{ skillId: quiet, name: expect.any(String), runs: 2 }]);

    const theirs = await api(carol, orgB).get('/api/v1/executions/analytics?period=90d').expect(200);
    expect(theirs.body.skillBreakdown.filter((s: { skillId: string }) => s.skillId === busy || s.skillId === quiet)).toEqual([]);
    expect((await api(carol, orgB).get(`/api/v1/executions/analytics?skillId=${busy}`).expect(200)).body.overview.totalRuns).toBe(0);
    expectProblem(await api(carol, org).get('/api/v1/executions/analytics'), 404);
    for (const query of ['period=1y', 'period=7', 'skillId=busy']) expectProblem(await api(alice, org).get(`/api/v1/executions/analytics?${query}`), 400);
  });
});

describe('DELETE /executions/cleanup', () => {
  test('owners and admins delete ended executions older than N days; running ones and other organizations stay', async () => {
    const org = await newOrganization(t.app, alice, 'Retention');
    await addMember(t, org, bob, 'member');
    await addMember(t, org, dana, 'admin');
    const skill = await newSkill(org, alice);
    const days = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
    const oldDone = await insertExecution(org, skill, { createdAt: days(100), output: 'x'.repeat(5000) });
    const oldFailed = await insertExecution(org, skill, { createdAt: days(95), status: 'failed' });
    const oldRunning = await insertExecution(org, skill, { createdAt: days(120), status: 'running' });
    const oldPending = await insertExecution(org, skill, { createdAt: days(120), status: 'pending' });
    const recent = await insertExecution(org, skill, { createdAt: days(10) });
    const theirSkill = await newSkill(orgB, carol);
    const theirs = await insertExecution(orgB, theirSkill, { createdAt: days(200), userId: carol.userId });

    expectProblem(await api(bob, org).delete('/api/v1/executions/cleanup?olderThanDays=30'), 403);
    expect((await t.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [org])).rows[0].n).toBe(5);

    const res = await api(dana, org).delete('/api/v1/executions/cleanup?olderThanDays=90').expect(200);
    expect(res.body).toEqual({ deletedCount: 2, freedSpaceMb: expect.any(Number), olderThanDays: 90, cutoff: expect.any(String) });
    expect(Math.abs(Date.parse(res.body.cutoff) - (Date.now() - 90 * 86_400_000))).toBeLessThan(60_000);
    const left = await t.admin.query<{ id: string }>('select id from public.skill_executions where id = any($1::uuid[]) order by id', [
      [oldDone, oldFailed, oldRunning, oldPending, recent, theirs],
    ]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([oldRunning, oldPending, recent, theirs].sort());

    // The default is 90 days; nothing left to delete.
    expect((await api(alice, org).delete('/api/v1/executions/cleanup').expect(200)).body.deletedCount).toBe(0);
    // carol cleaning her own organization cannot reach A's.
    expect((await api(carol, orgB).delete('/api/v1/executions/cleanup?olderThanDays=1').expect(200)).body.deletedCount).toBeGreaterThanOrEqual(1);
    expect((await t.admin.query('select count(*)::int as n from public.skill_executions where organization_id = $1', [org])).rows[0].n).toBe(3);
    expectProblem(await api(carol, org).delete('/api/v1/executions/cleanup'), 404);
    for (const query of ['olderThanDays=0', 'olderThanDays=36501', 'olderThanDays=ten', 'olderThanDays=-5']) {
      expectProblem(await api(alice, org).delete(`/api/v1/executions/cleanup?${query}`), 400);
    }
  });
});
