import { randomUUID } from 'node:crypto';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// alice owns the organization, bob is a plain member, carol an admin;
// dave owns a second organization and sees none of it.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let orgId: string;
let otherOrgId: string;
let skillId: string;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Skills have their own endpoints elsewhere; here they are arranged directly. */
async function newSkill(organizationId: string, owner: TestUser, options: { active?: boolean; name?: string } = {}): Promise<string> {
  const inserted = await t.admin.query<{ id: string }>(
    `insert into public.skills (organization_id, user_id, name, prompt_template, category, is_active)
     values ($1, $2, $3, 'Summarize {{repository}} for the team.', 'analysis', $4) returning id`,
    [organizationId, owner.userId, options.name ?? `Skill ${randomUUID().slice(0, 8)}`, options.active ?? true],
  );
  return inserted.rows[0]!.id;
}

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  carol = await newUser(t.app, 'carol');
  dave = await newUser(t.app, 'dave');
  orgId = await newOrganization(t.app, alice, 'Habits');
  otherOrgId = await newOrganization(t.app, dave, 'Elsewhere');
  await addMember(t, orgId, bob, 'member');
  await addMember(t, orgId, carol, 'admin');
  skillId = await newSkill(orgId, alice);
});
afterAll(() => t.close());

const api = (user: TestUser, organizationId = orgId) => as(t.app, user, organizationId);

async function createHabit(user: TestUser, body: Record<string, unknown> = {}) {
  const res = await api(user).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * 1-5', ...body });
  expect(res.status).toBe(201);
  return res.body;
}

async function storedHabit(id: string) {
  return (await t.admin.query('select * from public.habits where id = $1', [id])).rows[0];
}

describe('POST /api/v1/habits', () => {
  test('creates an active habit with defaults, its next run and skill summary; Location', async () => {
    const before = Date.now();
    const res = await api(bob).post('/api/v1/habits').send({ skillId, scheduleCron: '*/5 * * * *' }).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      organizationId: orgId,
      skillId,
      userId: bob.userId,
      scheduleCron: '*/5 * * * *',
      scheduleDescription: 'Every 5 minutes (UTC)',
      timezone: 'UTC',
      lastRunAt: null,
      nextRunAt: expect.stringMatching(ISO),
      runCount: 0,
      isActive: true,
      config: {},
      consecutiveFailures: 0,
      lastErrorMessage: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      skill: { id: skillId, name: expect.any(String), category: 'analysis', outputFormat: 'markdown', isActive: true },
    });
    const next = Date.parse(res.body.nextRunAt);
    expect(next).toBeGreaterThan(before);
    expect(next).toBeLessThanOrEqual(before + 5 * 60_000);
    expect(new Date(next).getUTCMinutes() % 5).toBe(0);
    expect(res.headers.location).toBe(`/api/v1/habits/${res.body.id}`);
    expect((await api(alice).get(res.headers.location!).expect(200)).body).toEqual(res.body);
  });

  test('keeps the given description, time zone (canonical spelling), config and inactive state', async () => {
    const habit = await createHabit(alice, {
      scheduleCron: '  30   7 * * 1-5 ',
      scheduleDescription: 'Weekday mornings',
      timezone: 'europe/amsterdam',
      config: { repository: 'payments-api', depth: 2 },
      isActive: false,
    });
    expect(habit).toMatchObject({
      scheduleCron: '30 7 * * 1-5',
      scheduleDescription: 'Weekday mornings',
      timezone: 'Europe/Amsterdam',
      config: { repository: 'payments-api', depth: 2 },
      isActive: false,
      nextRunAt: null,
    });
  });

  test.each([
    ['six fields (seconds)', { scheduleCron: '0 */5 * * * *' }, '/body/scheduleCron'],
    ['seven fields (years)', { scheduleCron: '0 0 9 * * * 2030' }, '/body/scheduleCron'],
    ['four fields', { scheduleCron: '0 9 * * ' }, '/body/scheduleCron'],
    ['a nickname', { scheduleCron: '@daily      ' }, '/body/scheduleCron'],
    ['an out-of-range minute', { scheduleCron: '61 9 * * *' }, '/body/scheduleCron'],
    ['a date that never comes', { scheduleCron: '0 0 30 2 *' }, '/body/scheduleCron'],
    ['a shell character', { scheduleCron: '0 9 * * $(x)' }, '/body/scheduleCron'],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, '/body/timezone'],
    ['a UTC offset instead of a zone', { timezone: '+01:00' }, '/body/timezone'],
  ])('400 with a field error for %s; nothing stored', async (_label, change, path) => {
    const before = await t.admin.query('select count(*)::int as n from public.habits where organization_id = $1', [orgId]);
    const res = await api(alice).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * *', ...change });
    expectProblem(res, 400);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    const after = await t.admin.query('select count(*)::int as n from public.habits where organization_id = $1', [orgId]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  test('400 from the contract for unknown fields, a config that is not an object, or no skill', async () => {
    expectProblem(await api(alice).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * *', runCount: 5 }), 400);
    expectProblem(await api(alice).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * *', config: [1, 2] }), 400);
    expectProblem(await api(alice).post('/api/v1/habits').send({ scheduleCron: '0 9 * * *' }), 400);
  });

  test('400 for a config too large to copy into every run', async () => {
    const res = await api(alice).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * *', config: { text: 'x'.repeat(70_000) } });
    expectProblem(res, 400);
    expect(res.body.errors[0].path).toBe('/body/config');
  });

  test('422 for a skill of another organization or none at all', async () => {
    const foreignSkill = await newSkill(otherOrgId, dave);
    for (const id of [foreignSkill, randomUUID()]) {
      const res = await api(alice).post('/api/v1/habits').send({ skillId: id, scheduleCron: '0 9 * * *' });
      expectProblem(res, 422);
      expect(res.body.errors[0].path).toBe('/body/skillId');
    }
  });
});

describe('GET /api/v1/habits', () => {
  test('pages, filters by skill and state, sorts by next run', async () => {
    const skill = await newSkill(orgId, alice);
    const hourly = await createHabit(alice, { skillId: skill, scheduleCron: '0 * * * *' });
    const yearly = await createHabit(bob, { skillId: skill, scheduleCron: '0 0 1 1 *' });
    const paused = await createHabit(alice, { skillId: skill, isActive: false });

    const all = await api(bob).get(`/api/v1/habits?skillId=${skill}`).expect(200);
    expect(all.body).toMatchObject({ total: 3, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    // Newest first by default.
    expect(all.body.data.map((h: { id: string }) => h.id)).toEqual([paused.id, yearly.id, hourly.id]);

    const byNext = await api(bob).get(`/api/v1/habits?skillId=${skill}&sort=nextRunAt`).expect(200);
    expect(byNext.body.data.map((h: { id: string }) => h.id)).toEqual([hourly.id, yearly.id, paused.id]);

    const active = await api(bob).get(`/api/v1/habits?skillId=${skill}&isActive=true&sort=-nextRunAt&pageSize=1`).expect(200);
    expect(active.body).toMatchObject({ total: 2, hasMore: true });
    expect(active.body.data.map((h: { id: string }) => h.id)).toEqual([yearly.id]);
    const inactive = await api(bob).get(`/api/v1/habits?skillId=${skill}&isActive=false`).expect(200);
    expect(inactive.body.data.map((h: { id: string }) => h.id)).toEqual([paused.id]);
  });

  test('400 for an unknown sort or a bad filter', async () => {
    expectProblem(await api(alice).get('/api/v1/habits?sort=name'), 400);
    expectProblem(await api(alice).get('/api/v1/habits?skillId=nope'), 400);
  });
});

describe('GET /api/v1/habits/{habitId}', () => {
  test('any member reads it with its skill; 404 for an unknown id, 400 for a malformed one', async () => {
    const habit = await createHabit(alice);
    const res = await api(bob).get(`/api/v1/habits/${habit.id}`).expect(200);
    expect(res.body).toEqual(habit);
    expect(res.body.skill.id).toBe(skillId);
    expectProblem(await api(bob).get(`/api/v1/habits/${randomUUID()}`), 404);
    expectProblem(await api(bob).get('/api/v1/habits/not-a-uuid'), 400);
  });
});

describe('PATCH /api/v1/habits/{habitId}', () => {
  test('a new schedule recomputes the next run in the new time zone and regenerates the description', async () => {
    const habit = await createHabit(alice, { scheduleCron: '0 9 * * *', scheduleDescription: 'Mornings' });
    const res = await api(alice)
      .patch(`/api/v1/habits/${habit.id}`)
      .send({ scheduleCron: '15 6 * * *', timezone: 'America/New_York', config: { depth: 3 } })
      .expect(200);
    expect(res.body).toMatchObject({ scheduleCron: '15 6 * * *', timezone: 'America/New_York', config: { depth: 3 }, scheduleDescription: 'At 06:15 every day (America/New_York)' });
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(res.body.nextRunAt));
    expect(local).toBe('06:15');
    expect(Date.parse(res.body.nextRunAt) - Date.now()).toBeLessThanOrEqual(25 * 3600_000);
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(habit.updatedAt));
  });

  test('changing only the description or config leaves the next run alone; isActive false clears it, true sets it', async () => {
    const habit = await createHabit(alice);
    const described = await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ scheduleDescription: 'Weekdays', config: { a: 1 } }).expect(200);
    expect(described.body).toMatchObject({ scheduleDescription: 'Weekdays', config: { a: 1 }, nextRunAt: habit.nextRunAt });
    const off = await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ isActive: false }).expect(200);
    expect(off.body).toMatchObject({ isActive: false, nextRunAt: null });
    const on = await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ isActive: true }).expect(200);
    expect(on.body).toMatchObject({ isActive: true, nextRunAt: habit.nextRunAt });
  });

  test('moves the habit to another skill of the organization; 422 for a foreign skill', async () => {
    const habit = await createHabit(alice);
    const other = await newSkill(orgId, bob);
    const res = await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ skillId: other }).expect(200);
    expect(res.body.skill.id).toBe(other);
    const foreign = await newSkill(otherOrgId, dave);
    expectProblem(await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ skillId: foreign }), 422);
    expect((await storedHabit(habit.id)).skill_id).toBe(other);
  });

  test('400 for a bad cron or time zone, an empty body or unknown fields; nothing changes', async () => {
    const habit = await createHabit(alice);
    const bad = await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ scheduleCron: '* * * * * *', timezone: 'Nowhere/City' });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/body/scheduleCron', '/body/timezone']);
    expectProblem(await api(alice).patch(`/api/v1/habits/${habit.id}`).send({}), 400);
    expectProblem(await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ nextRunAt: new Date().toISOString() }), 400);
    expect(await storedHabit(habit.id)).toMatchObject({ schedule_cron: '0 9 * * 1-5', timezone: 'UTC' });
  });

  test('only the owner and organization owners and admins may change it (403 for other members)', async () => {
    const habit = await createHabit(bob);
    expectProblem(await api(bob, orgId).patch(`/api/v1/habits/${randomUUID()}`).send({ config: {} }), 404);
    const refused = await api(await memberOf()).patch(`/api/v1/habits/${habit.id}`).send({ config: { x: 1 } });
    expectProblem(refused, 403);
    await api(carol).patch(`/api/v1/habits/${habit.id}`).send({ config: { by: 'admin' } }).expect(200);
    await api(alice).patch(`/api/v1/habits/${habit.id}`).send({ config: { by: 'owner' } }).expect(200);
    await api(bob).patch(`/api/v1/habits/${habit.id}`).send({ config: { by: 'creator' } }).expect(200);
    expect((await storedHabit(habit.id)).config).toEqual({ by: 'creator' });
  });
});

/** A fresh plain member of the organization. */
async function memberOf(): Promise<TestUser> {
  const user = await newUser(t.app, 'member');
  await addMember(t, orgId, user, 'member');
  return user;
}

describe('DELETE /api/v1/habits/{habitId}', () => {
  test('the owner deletes it (204), it is gone (404); its executions stay', async () => {
    const habit = await createHabit(bob);
    await api(bob).post(`/api/v1/habits/${habit.id}/run-now`).expect(202);
    await api(bob).delete(`/api/v1/habits/${habit.id}`).expect(204);
    expectProblem(await api(bob).get(`/api/v1/habits/${habit.id}`), 404);
    expectProblem(await api(bob).delete(`/api/v1/habits/${habit.id}`), 404);
    const history = await t.admin.query('select count(*)::int as n from public.skill_executions where reference_id = $1', [habit.id]);
    expect(history.rows[0].n).toBe(1);
  });

  test('403 for another plain member; an organization admin may delete', async () => {
    const habit = await createHabit(bob);
    expectProblem(await api(await memberOf()).delete(`/api/v1/habits/${habit.id}`), 403);
    expect(await storedHabit(habit.id)).toBeDefined();
    await api(carol).delete(`/api/v1/habits/${habit.id}`).expect(204);
    expect(await storedHabit(habit.id)).toBeUndefined();
  });

  test('deleting the skill deletes its habits', async () => {
    const skill = await newSkill(orgId, alice);
    const habit = await createHabit(alice, { skillId: skill });
    await t.admin.query('delete from public.skills where id = $1', [skill]);
    expect(await storedHabit(habit.id)).toBeUndefined();
  });
});

describe('POST /api/v1/habits/{habitId}/activate and /deactivate', () => {
  test('deactivate clears the next run; activate computes it again and keeps the failure streak', async () => {
    const habit = await createHabit(alice, { scheduleCron: '0 12 * * *' });
    const off = await api(alice).post(`/api/v1/habits/${habit.id}/deactivate`).expect(200);
    expect(off.body).toMatchObject({ isActive: false, nextRunAt: null });
    await t.admin.query(
      "update public.habits set consecutive_failures = 2, last_error_message = 'model timed out' where id = $1",
      [habit.id],
    );
    const on = await api(alice).post(`/api/v1/habits/${habit.id}/activate`).expect(200);
    expect(on.body).toMatchObject({ isActive: true, consecutiveFailures: 2, lastErrorMessage: 'model timed out' });
    const next = new Date(on.body.nextRunAt);
    expect(next.getUTCHours()).toBe(12);
    expect(next.getUTCMinutes()).toBe(0);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    // Activating an active habit keeps its schedule as it is.
    const again = await api(alice).post(`/api/v1/habits/${habit.id}/activate`).expect(200);
    expect(again.body.nextRunAt).toBe(on.body.nextRunAt);
  });

  test('403 for a plain member who does not own it; 404 for an unknown habit', async () => {
    const habit = await createHabit(alice);
    const member = await memberOf();
    expectProblem(await api(member).post(`/api/v1/habits/${habit.id}/deactivate`), 403);
    expectProblem(await api(member).post(`/api/v1/habits/${habit.id}/activate`), 403);
    expect((await storedHabit(habit.id)).is_active).toBe(true);
    expectProblem(await api(alice).post(`/api/v1/habits/${randomUUID()}/activate`), 404);
    expectProblem(await api(alice).post(`/api/v1/habits/${randomUUID()}/deactivate`), 404);
  });
});

describe('POST /api/v1/habits/{habitId}/run-now', () => {
  test('queues a habit execution as the caller with the config; the schedule does not move; 202 with Location', async () => {
    const habit = await createHabit(alice, { config: { repository: 'core' } });
    const res = await api(bob).post(`/api/v1/habits/${habit.id}/run-now`).expect(202);
    expect(res.body).toMatchObject({
      executionId: res.body.execution.id,
      status: 'queued',
      message: `Habit "${habit.scheduleDescription}" queued for immediate execution.`,
    });
    expect(res.body.execution).toMatchObject({
      id: expect.any(String),
      organizationId: orgId,
      skillId,
      userId: bob.userId,
      executionType: 'habit',
      referenceId: habit.id,
      input: { repository: 'core' },
      status: 'pending',
      costCents: 0,
      costCentsExact: '0.0000',
      output: null,
    });
    expect(res.headers.location).toBe(`/api/v1/executions/${res.body.executionId}`);
    const after = (await api(bob).get(`/api/v1/habits/${habit.id}`).expect(200)).body;
    expect(after).toMatchObject({ nextRunAt: habit.nextRunAt, runCount: 1, lastRunAt: res.body.execution.createdAt });
  });

  test('an inactive habit can be run; an inactive skill cannot (409); unknown habit 404', async () => {
    const habit = await createHabit(alice, { isActive: false });
    await api(alice).post(`/api/v1/habits/${habit.id}/run-now`).expect(202);
    expect((await storedHabit(habit.id)).next_run_at).toBeNull();

    const dormant = await newSkill(orgId, alice, { active: false });
    const blocked = await createHabit(alice, { skillId: dormant });
    expectProblem(await api(alice).post(`/api/v1/habits/${blocked.id}/run-now`), 409);
    expect((await storedHabit(blocked.id)).run_count).toBe(0);
    expectProblem(await api(alice).post(`/api/v1/habits/${randomUUID()}/run-now`), 404);
  });
});

describe('POST /api/v1/habits/{habitId}/reset-errors', () => {
  test('clears the streak and the message, does not activate; 403 for other members', async () => {
    const habit = await createHabit(alice);
    await t.admin.query(
      "update public.habits set consecutive_failures = 3, last_error_message = 'boom', is_active = false, next_run_at = null where id = $1",
      [habit.id],
    );
    expectProblem(await api(await memberOf()).post(`/api/v1/habits/${habit.id}/reset-errors`), 403);
    const res = await api(alice).post(`/api/v1/habits/${habit.id}/reset-errors`).expect(200);
    expect(res.body).toMatchObject({ consecutiveFailures: 0, lastErrorMessage: null, isActive: false, nextRunAt: null });
    expectProblem(await api(alice).post(`/api/v1/habits/${randomUUID()}/reset-errors`), 404);
  });
});

describe('GET /api/v1/habits/{habitId}/stats', () => {
  test('counts executions by status, success rate over finished ones, average duration of completed ones', async () => {
    const habit = await createHabit(alice);
    const empty = await api(bob).get(`/api/v1/habits/${habit.id}/stats`).expect(200);
    expect(empty.body).toEqual({
      habitId: habit.id,
      runCount: 0,
      executions: { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
      successRate: null,
      averageDurationMs: null,
      lastRunAt: null,
      nextRunAt: habit.nextRunAt,
      consecutiveFailures: 0,
      lastErrorMessage: null,
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await api(alice).post(`/api/v1/habits/${habit.id}/run-now`).expect(202)).body.executionId);
    // The worker's part, as service_role would write it.
    await t.admin.query("update public.skill_executions set status = 'completed', duration_ms = 100 where id = $1", [ids[0]]);
    await t.admin.query("update public.skill_executions set status = 'completed', duration_ms = 201 where id = $1", [ids[1]]);
    await t.admin.query("update public.skill_executions set status = 'failed', error_message = 'quota' where id = $1", [ids[2]]);
    await t.admin.query("update public.skill_executions set status = 'cancelled' where id = $1", [ids[3]]);
    const res = await api(bob).get(`/api/v1/habits/${habit.id}/stats`).expect(200);
    expect(res.body).toMatchObject({
      runCount: 5,
      executions: { total: 5, pending: 1, running: 0, completed: 2, failed: 1, cancelled: 1 },
      successRate: 0.6667,
      averageDurationMs: 151,
      lastRunAt: expect.stringMatching(ISO),
      consecutiveFailures: 1,
      lastErrorMessage: 'quota',
    });
    expectProblem(await api(bob).get(`/api/v1/habits/${randomUUID()}/stats`), 404);
  });
});

describe('POST /api/v1/habits/validate-cron', () => {
  test('a valid schedule: description and the next five runs in UTC and local wall-clock time', async () => {
    const res = await api(alice)
      .post('/api/v1/habits/validate-cron')
      .send({ cron: '30 2 * * *', timezone: 'Europe/Amsterdam', from: '2026-03-27T12:00:00Z' })
      .expect(200);
    expect(res.body).toEqual({
      cron: '30 2 * * *',
      timezone: 'Europe/Amsterdam',
      isValid: true,
      error: null,
      description: 'At 02:30 every day (Europe/Amsterdam)',
      nextRuns: ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z', '2026-04-01T00:30:00.000Z'],
      nextRunsLocal: [
        { at: '2026-03-28T01:30:00.000Z', local: '2026-03-28T02:30:00+01:00' },
        // 02:30 does not exist on the day clocks go forward: the run comes at 03:00 CEST.
        { at: '2026-03-29T01:00:00.000Z', local: '2026-03-29T03:00:00+02:00' },
        { at: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
        { at: '2026-03-31T00:30:00.000Z', local: '2026-03-31T02:30:00+02:00' },
        { at: '2026-04-01T00:30:00.000Z', local: '2026-04-01T02:30:00+02:00' },
      ],
    });
  });

  test('defaults to UTC and now', async () => {
    const res = await api(alice).post('/api/v1/habits/validate-cron').send({ cron: '*/10 * * * *' }).expect(200);
    expect(res.body).toMatchObject({ isValid: true, timezone: 'UTC', description: 'Every 10 minutes (UTC)' });
    expect(res.body.nextRuns).toHaveLength(5);
    expect(Date.parse(res.body.nextRuns[0])).toBeGreaterThan(Date.now() - 1000);
    expect(res.body.nextRunsLocal[0].local).toMatch(/\+00:00$/);
  });

  test.each([
    ['0 */5 * * * *', 'UTC', /five fields/],
    ['0 0 30 2 *', 'UTC', /never runs/],
    ['99 * * * *', 'UTC', /not valid cron/],
    ['0 9 * * *', 'Atlantis/Capital', /time zone/],
  ])('judges %s in %s invalid with a reason, never a 4xx', async (cron, timezone, reason) => {
    const res = await api(alice).post('/api/v1/habits/validate-cron').send({ cron, timezone }).expect(200);
    expect(res.body).toMatchObject({ isValid: false, description: null, nextRuns: [], nextRunsLocal: [] });
    expect(res.body.error).toMatch(reason);
  });

  test('400 for a body that breaks the contract, or a preview start out of range', async () => {
    for (const from of ['1969-12-31T23:59:59Z', '9999-06-01T00:00:00Z']) {
      const res = await api(alice).post('/api/v1/habits/validate-cron').send({ cron: '* * * * *', from });
      expectProblem(res, 400);
      expect(res.body.errors[0].path).toBe('/body/from');
    }
    expectProblem(await api(alice).post('/api/v1/habits/validate-cron').send({}), 400);
    expectProblem(await api(alice).post('/api/v1/habits/validate-cron').send({ cron: '* * * * *', from: 'yesterday' }), 400);
  });
});

describe('GET /api/v1/habits/upcoming', () => {
  test('active habits due within the window, soonest first, with skill name and category', async () => {
    const skill = await newSkill(orgId, alice, { name: `Upcoming ${randomUUID().slice(0, 6)}` });
    const soon = await createHabit(alice, { skillId: skill, scheduleCron: '*/5 * * * *' });
    const later = await createHabit(alice, { skillId: skill, scheduleCron: '0 0 1 1 *' });
    // Two days ahead whatever today's date: outside the default window, inside three days.
    await t.admin.query("update public.habits set next_run_at = now() + interval '48 hours' where id = $1", [later.id]);
    await createHabit(alice, { skillId: skill, isActive: false });

    const day = await api(bob).get(`/api/v1/habits/upcoming?skillId=${skill}`).expect(200);
    expect(day.body).toMatchObject({ total: 1, hasMore: false });
    expect(day.body.data).toEqual([
      {
        habitId: soon.id,
        skillId: skill,
        skillName: expect.stringMatching(/^Upcoming /),
        skillCategory: 'analysis',
        skillIsActive: true,
        userId: alice.userId,
        scheduleCron: '*/5 * * * *',
        scheduleDescription: 'Every 5 minutes (UTC)',
        timezone: 'UTC',
        nextRunAt: soon.nextRunAt,
        lastRunAt: null,
      },
    ]);
    const year = await api(bob).get(`/api/v1/habits/upcoming?skillId=${skill}&windowHours=72`).expect(200);
    expect(year.body.data.map((r: { habitId: string }) => r.habitId)).toEqual([soon.id, later.id]);
    const limited = await api(bob).get(`/api/v1/habits/upcoming?skillId=${skill}&windowHours=72&pageSize=1`).expect(200);
    expect(limited.body).toMatchObject({ total: 2, hasMore: true, pageSize: 1 });
  });

  test('400 for a window out of range', async () => {
    expectProblem(await api(alice).get('/api/v1/habits/upcoming?windowHours=0'), 400);
    expectProblem(await api(alice).get('/api/v1/habits/upcoming?windowHours=100000'), 400);
  });
});

describe('another organization', () => {
  test('cannot read, list, change, run, reset, see stats of or delete a habit; nothing changes', async () => {
    const habit = await createHabit(alice, { scheduleCron: '*/5 * * * *' });
    for (const header of [undefined, otherOrgId]) {
      const outsider = as(t.app, dave, header);
      expectProblem(await outsider.get(`/api/v1/habits/${habit.id}`), 404);
      expectProblem(await outsider.patch(`/api/v1/habits/${habit.id}`).send({ config: { pwned: true } }), 404);
      expectProblem(await outsider.post(`/api/v1/habits/${habit.id}/deactivate`), 404);
      expectProblem(await outsider.post(`/api/v1/habits/${habit.id}/activate`), 404);
      expectProblem(await outsider.post(`/api/v1/habits/${habit.id}/run-now`), 404);
      expectProblem(await outsider.post(`/api/v1/habits/${habit.id}/reset-errors`), 404);
      expectProblem(await outsider.get(`/api/v1/habits/${habit.id}/stats`), 404);
      expectProblem(await outsider.delete(`/api/v1/habits/${habit.id}`), 404);
      const list = await outsider.get('/api/v1/habits?pageSize=100').expect(200);
      expect(list.body.data.map((h: { id: string }) => h.id)).not.toContain(habit.id);
      const upcoming = await outsider.get('/api/v1/habits/upcoming?windowHours=8784&pageSize=100').expect(200);
      expect(upcoming.body.data.map((r: { habitId: string }) => r.habitId)).not.toContain(habit.id);
    }
    // Naming an organization one is not a member of is a 404 on its own.
    expectProblem(await as(t.app, dave, orgId).get(`/api/v1/habits/${habit.id}`), 404);
    expect(await storedHabit(habit.id)).toMatchObject({ config: {}, is_active: true, run_count: 0 });
  });

  test('cannot create a habit in it or on its skill', async () => {
    const res = await as(t.app, dave, otherOrgId).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * *' });
    expectProblem(res, 422);
    expectProblem(await as(t.app, dave, orgId).post('/api/v1/habits').send({ skillId, scheduleCron: '0 9 * * *' }), 404);
  });

  test('a member of both sees each habit only with its own organization selected', async () => {
    const both = await newUser(t.app, 'both');
    await addMember(t, orgId, both, 'member');
    await addMember(t, otherOrgId, both, 'member');
    const habit = await createHabit(alice);
    await as(t.app, both, orgId).get(`/api/v1/habits/${habit.id}`).expect(200);
    expectProblem(await as(t.app, both, otherOrgId).get(`/api/v1/habits/${habit.id}`), 404);
  });
});

describe('row level security without the API', () => {
  test('a plain member cannot write run counters directly, nor insert a habit for someone else', async () => {
    const habit = await createHabit(alice);
    const client = await t.pool.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: bob.userId, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      await client.query('select * from app.begin_request($1::uuid)', [orgId]);
      await expect(client.query('update public.habits set run_count = 99 where id = $1', [habit.id])).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback');
      await client.query('begin');
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: bob.userId, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      await client.query('select * from app.begin_request($1::uuid)', [orgId]);
      await expect(
        client.query(
          "insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '0 9 * * *', now())",
          [orgId, skillId, alice.userId],
        ),
      ).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect((await storedHabit(habit.id)).run_count).toBe(0);
  });
});
