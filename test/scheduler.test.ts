import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool } from '../src/db/pool';
import { withServiceTransaction } from '../src/db/transaction';
import { nextRunAfter } from '../src/habits/cron';
import { runSchedulerPass, schedulerTask } from '../src/habits/scheduler';
import { as, createQuotaTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The scheduler against the real database: claims, catch-up, failure
// counting and DST. Habits are made due by moving next_run_at into the past
// as the database owner; passes run as service_role like the worker does.
let t: TestApp;
let alice: TestUser;
let orgId: string;
let skillId: string;

beforeAll(async () => {
  // A database of its own: quotas on (a Free organization's refusal is tested),
  // and no other suite's due habits for these passes to claim.
  t = await createQuotaTestApp();
  alice = await newUser(t.app, 'alice');
  orgId = await newOrganization(t.app, alice, 'Scheduler');
  // Teams has no daily limit on oracle queries: these tests queue many runs.
  await t.admin.query("update public.subscriptions set plan_id = 'teams' where organization_id = $1", [orgId]);
  skillId = await newSkill();
});
afterAll(() => t.close());

async function newSkill(active = true, owner = alice, organizationId = orgId): Promise<string> {
  const inserted = await t.admin.query<{ id: string }>(
    `insert into public.skills (organization_id, user_id, name, prompt_template, is_active)
     values ($1, $2, $3, 'Write the weekly digest please.', $4) returning id`,
    [organizationId, owner.userId, `Skill ${randomUUID().slice(0, 8)}`, active],
  );
  return inserted.rows[0]!.id;
}

async function createHabit(body: Record<string, unknown> = {}): Promise<{ id: string; nextRunAt: string }> {
  const res = await as(t.app, alice, orgId).post('/api/v1/habits').send({ skillId, scheduleCron: '0 0 1 1 *', ...body });
  expect(res.status).toBe(201);
  return res.body;
}

/** Makes habits due: their next run moves to `ago` before now. */
async function makeDue(ids: string[], ago = '1 minute'): Promise<void> {
  await t.admin.query(`update public.habits set next_run_at = now() - $2::interval where id = any($1::uuid[])`, [ids, ago]);
}

async function habitRow(id: string) {
  return (await t.admin.query('select *, next_run_at > now() as in_future from public.habits where id = $1', [id])).rows[0];
}

async function executionsOf(habitId: string) {
  return (
    await t.admin.query(
      `select id, user_id, execution_type, input, status, skill_id, organization_id
       from public.skill_executions where reference_id = $1 order by created_at, id`,
      [habitId],
    )
  ).rows;
}

const pass = (pool: pg.Pool = t.pool, batchSize = 50) => runSchedulerPass(pool, 5000, batchSize);

/** Ends an execution the way the worker does: as service_role, through running. */
async function finish(executionId: string, status: 'completed' | 'failed' | 'cancelled', errorMessage?: string): Promise<void> {
  await withServiceTransaction(t.pool, 5000, async (tx) => {
    await tx.query("update public.skill_executions set status = 'running' where id = $1", [executionId]);
    await tx.query('update public.skill_executions set status = $2, error_message = $3 where id = $1', [executionId, status, errorMessage ?? null]);
  });
}

describe('a scheduler pass', () => {
  test("an organization whose plan refuses the run does not hold up anyone else's; its habit says why and moves on", async () => {
    const erin = await newUser(t.app, 'erin');
    const freeOrg = await newOrganization(t.app, erin, 'Free scheduler');
    const freeSkill = await newSkill(true, erin, freeOrg);
    const refusedRes = await as(t.app, erin, freeOrg).post('/api/v1/habits').send({ skillId: freeSkill, scheduleCron: '*/5 * * * *' }).expect(201);
    // The free plan's 10 oracle queries of today are used up.
    await t.admin.query(
      `insert into public.usage_counters (organization_id, metric, period_start, used)
       select $1, 'oracle_queries', p.period_start, 10 from app.usage_period('oracle_queries') p
       on conflict (organization_id, metric, period_start) do update set used = excluded.used`,
      [freeOrg],
    );
    const accepted = await createHabit({ scheduleCron: '*/5 * * * *' });
    await makeDue([refusedRes.body.id, accepted.id]);

    const result = await pass();
    expect(result).toMatchObject({ queued: 1, refused: 1 });
    expect(await executionsOf(accepted.id)).toHaveLength(1);
    expect(await executionsOf(refusedRes.body.id)).toHaveLength(0);
    const refused = await habitRow(refusedRes.body.id);
    expect(refused).toMatchObject({ is_active: true, in_future: true, consecutive_failures: 0 });
    expect(refused.last_error_message).toMatch(/10 oracle queries/);
  });

  test('queues one execution per due habit, as its owner with its config, and moves the next run past now', async () => {
    const habit = await createHabit({ scheduleCron: '*/5 * * * *', config: { digest: 'weekly' } });
    await makeDue([habit.id]);
    await pass();
    const executions = await executionsOf(habit.id);
    expect(executions).toEqual([
      { id: expect.any(String), user_id: alice.userId, execution_type: 'habit', input: { digest: 'weekly' }, status: 'pending', skill_id: skillId, organization_id: orgId },
    ]);
    const row = await habitRow(habit.id);
    expect(row).toMatchObject({ run_count: 1, is_active: true, in_future: true });
    expect(row.last_run_at).not.toBeNull();
    expect(new Date(row.next_run_at).getUTCMinutes() % 5).toBe(0);
    expect(Date.parse(row.next_run_at) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    // Nothing is due any more: another pass queues nothing for it.
    await pass();
    expect(await executionsOf(habit.id)).toHaveLength(1);
  });

  test('after downtime a habit runs once, not once per missed slot, and resumes on schedule', async () => {
    const habit = await createHabit({ scheduleCron: '*/5 * * * *' });
    await makeDue([habit.id], '30 days');
    await pass();
    await pass();
    expect(await executionsOf(habit.id)).toHaveLength(1);
    const row = await habitRow(habit.id);
    expect(row).toMatchObject({ run_count: 1, in_future: true });
    expect(Date.parse(row.next_run_at) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
  });

  test('skips a habit whose skill is inactive (no execution, no failure) and still moves it on', async () => {
    const dormant = await newSkill(false);
    const habit = await createHabit({ skillId: dormant, scheduleCron: '0 6 * * *' });
    await makeDue([habit.id]);
    await pass();
    expect(await executionsOf(habit.id)).toEqual([]);
    expect(await habitRow(habit.id)).toMatchObject({ run_count: 0, consecutive_failures: 0, is_active: true, in_future: true });
    // Once the skill is active again, the next due slot runs.
    await t.admin.query('update public.skills set is_active = true where id = $1', [dormant]);
    await makeDue([habit.id]);
    await pass();
    expect(await executionsOf(habit.id)).toHaveLength(1);
  });

  test('a stored schedule that cannot run again deactivates its habit with a reason; the rest of the batch runs', async () => {
    // Rows written past the API (the Data API, a manual fix) escape its cron and time zone checks.
    const broken = await t.admin.query<{ id: string }>(
      `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, timezone, next_run_at)
       values ($1, $2, $3, '0 9 * * *', 'Mars/Olympus_Mons', now() - interval '1 minute'),
              ($1, $2, $3, '99 9 * * *', 'UTC', now() - interval '1 minute') returning id`,
      [orgId, skillId, alice.userId],
    );
    const healthy = await createHabit();
    await makeDue([healthy.id]);
    await pass();
    for (const { id } of broken.rows) {
      expect(await habitRow(id)).toMatchObject({ is_active: false, next_run_at: null, last_error_message: expect.stringMatching(/deactivated/) });
    }
    expect(await executionsOf(healthy.id)).toHaveLength(1);
  });

  test('leaves inactive habits and habits not yet due alone', async () => {
    const paused = await createHabit({ isActive: false });
    const future = await createHabit();
    await pass();
    expect(await executionsOf(paused.id)).toEqual([]);
    expect(await executionsOf(future.id)).toEqual([]);
    expect((await habitRow(future.id)).next_run_at).toBe(future.nextRunAt);
  });
});

describe('two schedulers on the same database', () => {
  test('run each due slot exactly once, however their passes interleave', async () => {
    const habits = await Promise.all(Array.from({ length: 24 }, () => createHabit()));
    const ids = habits.map((habit) => habit.id);
    const poolA = createPool(t.appUrl, 4);
    const poolB = createPool(t.appUrl, 4);
    try {
      for (let slot = 1; slot <= 3; slot += 1) {
        await makeDue(ids);
        // Small batches and many concurrent passes on both pools, so claims overlap.
        await Promise.all(
          Array.from({ length: 16 }, (_, i) => runSchedulerPass(i % 2 === 0 ? poolA : poolB, 5000, 1 + (i % 5))),
        );
        // Whatever is left (there should be nothing) goes in one more pass per pool.
        await Promise.all([runSchedulerPass(poolA, 5000, 50), runSchedulerPass(poolB, 5000, 50)]);
        const counts = await t.admin.query<{ reference_id: string; n: number }>(
          `select h.id as reference_id, count(e.id)::int as n
           from public.habits h left join public.skill_executions e on e.reference_id = h.id
           where h.id = any($1::uuid[]) group by h.id`,
          [ids],
        );
        expect(counts.rows.map((row) => row.n)).toEqual(ids.map(() => slot));
        const runCounts = await t.admin.query<{ run_count: number; in_future: boolean }>(
          'select run_count, next_run_at > now() as in_future from public.habits where id = any($1::uuid[])',
          [ids],
        );
        expect(runCounts.rows).toEqual(ids.map(() => ({ run_count: slot, in_future: true })));
      }
    } finally {
      await Promise.all([poolA.end(), poolB.end()]);
    }
  });
});

describe('the scheduler loop task', () => {
  test('goes again at once after a full batch and reports queued runs', async () => {
    const habits = [await createHabit(), await createHabit()];
    await makeDue(habits.map((habit) => habit.id));
    let woken = 0;
    const task = schedulerTask({ pool: t.pool, statementTimeoutMs: 5000, batchSize: 1, intervalMs: 10_000, onQueued: () => (woken += 1) });
    expect(task.name).toBe('scheduler');
    const results: boolean[] = [];
    for (let i = 0; i < 5 && results[results.length - 1] !== false; i += 1) results.push(await task.tick());
    expect(results[results.length - 1]).toBe(false);
    expect(woken).toBeGreaterThanOrEqual(1);
    for (const habit of habits) expect(await executionsOf(habit.id)).toHaveLength(1);
  });
});

describe('failure counting in the database', () => {
  test('failures count up, a completed run resets them, a cancelled one counts as neither; the third failure in a row deactivates', async () => {
    const habit = await createHabit({ scheduleCron: '*/10 * * * *' });
    const runOnce = async () => {
      await makeDue([habit.id]);
      await pass();
      const executions = await executionsOf(habit.id);
      return executions[executions.length - 1]!.id as string;
    };

    await finish(await runOnce(), 'failed', 'model timed out');
    expect(await habitRow(habit.id)).toMatchObject({ consecutive_failures: 1, last_error_message: 'model timed out', is_active: true });
    await finish(await runOnce(), 'failed', 'rate limited');
    expect(await habitRow(habit.id)).toMatchObject({ consecutive_failures: 2, last_error_message: 'rate limited', is_active: true });
    await finish(await runOnce(), 'completed');
    // The streak ends; the last error stays visible as history.
    expect(await habitRow(habit.id)).toMatchObject({ consecutive_failures: 0, last_error_message: 'rate limited', is_active: true });

    await finish(await runOnce(), 'failed', 'one');
    await finish(await runOnce(), 'failed', 'two');
    await finish(await runOnce(), 'cancelled');
    expect(await habitRow(habit.id)).toMatchObject({ consecutive_failures: 2, last_error_message: 'two', is_active: true });
    await finish(await runOnce(), 'failed');
    expect(await habitRow(habit.id)).toMatchObject({
      consecutive_failures: 3,
      last_error_message: 'The execution failed without an error message.',
      is_active: false,
      next_run_at: null,
    });
    const res = await as(t.app, alice, orgId).get(`/api/v1/habits/${habit.id}`).expect(200);
    expect(res.body).toMatchObject({ isActive: false, nextRunAt: null, consecutiveFailures: 3, runCount: 7 });

    // Deactivated: the scheduler no longer picks it up.
    await pass();
    expect(await executionsOf(habit.id)).toHaveLength(7);
  });

  test('a pending execution may fail directly; an execution of another skill is no run of the habit, a manual one counts for nothing', async () => {
    const habit = await createHabit();
    const other = await newSkill();
    await t.admin.query(
      `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, status, error_message)
       values ($1, $2, $3, 'habit', $4, 'failed', 'not this habit''s skill'),
              ($1, $5, $3, 'manual', $4, 'failed', 'a manual run')`,
      [orgId, other, alice.userId, habit.id, skillId],
    );
    expect(await habitRow(habit.id)).toMatchObject({ run_count: 0, last_run_at: null });
    // The failure trigger counts by habit id and organization (the worker's failures are trusted).
    expect((await habitRow(habit.id)).consecutive_failures).toBe(1);

    const [execution] = (await t.admin.query(
      `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id)
       values ($1, $2, $3, 'habit', $4) returning id`,
      [orgId, skillId, alice.userId, habit.id],
    )).rows;
    await withServiceTransaction(t.pool, 5000, (tx) =>
      tx.query("update public.skill_executions set status = 'failed', error_message = 'no input' where id = $1", [execution.id]),
    );
    expect(await habitRow(habit.id)).toMatchObject({ run_count: 1, consecutive_failures: 2, last_error_message: 'no input' });
  });
});

describe('daylight saving time (Europe/Amsterdam, 30 2 * * *)', () => {
  const zone = 'Europe/Amsterdam';
  const next = (after: string) => nextRunAfter('30 2 * * *', zone, new Date(after))?.toISOString();

  test('spring forward: 02:30 does not exist on 29 March 2026, so that run comes at 03:00 CEST, then 02:30 CEST again', () => {
    expect(next('2026-03-27T12:00:00Z')).toBe('2026-03-28T01:30:00.000Z'); // 02:30 CET
    expect(next('2026-03-28T01:30:00Z')).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST, the first valid time after the gap
    expect(next('2026-03-29T01:00:00Z')).toBe('2026-03-30T00:30:00.000Z'); // 02:30 CEST
  });

  test('fall back: 02:30 happens twice on 25 October 2026 and runs once, at the first (CEST)', () => {
    expect(next('2026-10-24T00:30:00Z')).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    expect(next('2026-10-25T00:30:00Z')).toBe('2026-10-26T01:30:00.000Z'); // not 01:30Z (02:30 CET, the repeat): 02:30 CET next day
    expect(next('2026-10-26T01:30:00Z')).toBe('2026-10-27T01:30:00.000Z');
  });

  test('an interval schedule skips the missing hour and runs through both copies of the repeated one', () => {
    const runs = (after: string, count: number) => {
      const out: string[] = [];
      let from = new Date(after);
      for (let i = 0; i < count; i += 1) {
        from = nextRunAfter('0,30 2 * * *', zone, from)!;
        out.push(from.toISOString());
      }
      return out;
    };
    expect(runs('2026-10-24T23:00:00Z', 4)).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
    ]);
    expect(runs('2026-03-28T23:00:00Z', 2)).toEqual(['2026-03-30T00:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  test('validate-cron shows the autumn runs with their offsets', async () => {
    const res = await as(t.app, alice, orgId)
      .post('/api/v1/habits/validate-cron')
      .send({ cron: '30 2 * * *', timezone: zone, from: '2026-10-23T12:00:00Z' })
      .expect(200);
    expect(res.body.nextRuns.slice(0, 3)).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(res.body.nextRunsLocal.slice(0, 3)).toEqual([
      { at: '2026-10-24T00:30:00.000Z', local: '2026-10-24T02:30:00+02:00' },
      { at: '2026-10-25T00:30:00.000Z', local: '2026-10-25T02:30:00+02:00' },
      { at: '2026-10-26T01:30:00.000Z', local: '2026-10-26T02:30:00+01:00' },
    ]);
  });

  test('a habit created in Amsterdam has its next run at 02:30 local time, whatever the offset of that day', async () => {
    const habit = await createHabit({ scheduleCron: '30 2 * * *', timezone: zone });
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(habit.nextRunAt));
    // 03:00 only if today is the spring-forward day.
    expect(['02:30', '03:00']).toContain(local);
    expect(habit.nextRunAt).toBe(next(new Date(Date.parse(habit.nextRunAt) - 60_000).toISOString()));
  });
});
