import { randomUUID } from 'node:crypto';
import { createReflex, createSkill } from './reflexes-fixtures';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The web app's types for habits and reflexes (types/skills.ts: Habit, Reflex,
// the trigger configs, CronValidation) and the answers its services read
// (habitsApi: runHabitNow, getHabitStats; reflexesApi: getReflexStats,
// getWebhookInfo): every field under its name with its JSON type, and requests
// built with the web app's names accepted. One test per interface.

let t: TestApp;
let owner: TestUser; // owner of orgA
let member: TestUser; // plain member of orgA
let outsider: TestUser; // owner of orgB
let orgA: string;
let orgB: string;
let skillA: string;
let skillB: string;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const date = expect.stringMatching(ISO);
const text = expect.any(String);
const num = expect.any(Number);
const bool = expect.any(Boolean);
/** null, or what `matcher` accepts (the web app types these fields optional). */
const nullable = (matcher: unknown) => ({
  asymmetricMatch: (value: unknown) => value === null || expect.objectContaining({ v: matcher }).asymmetricMatch({ v: value }),
  toString: () => "nullable",
});

beforeAll(async () => {
  t = createTestApp({ reflexWebhooks: { publicBaseUrl: 'https://api.example.com', maxBodyBytes: 65_536, toleranceSeconds: 300 } });
  owner = await newUser(t.app, 'fe-owner');
  member = await newUser(t.app, 'fe-member');
  outsider = await newUser(t.app, 'fe-outsider');
  orgA = await newOrganization(t.app, owner, 'Frontend A');
  orgB = await newOrganization(t.app, outsider, 'Frontend B');
  await addMember(t, orgA, member, 'member');
  skillA = await createSkill(t, orgA, owner);
  skillB = await createSkill(t, orgB, outsider);
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgA) => as(t.app, user, org);

/** types/skills.ts Habit: every field, with its JSON type (Dates are ISO strings). */
const HABIT_SHAPE = {
  id: text,
  skillId: text,
  userId: text,
  scheduleCron: text,
  scheduleDescription: text,
  timezone: text,
  lastRunAt: nullable(date),
  nextRunAt: nullable(date),
  runCount: num,
  isActive: bool,
  config: expect.any(Object),
  consecutiveFailures: num,
  lastErrorMessage: nullable(text),
  createdAt: date,
  updatedAt: date,
};

/** types/skills.ts Reflex. */
const REFLEX_SHAPE = {
  id: text,
  skillId: text,
  userId: text,
  triggerType: text,
  triggerConfig: expect.any(Object),
  conditions: { matchAll: bool, filters: expect.any(Array) },
  isActive: bool,
  triggerCount: num,
  lastTriggeredAt: nullable(date),
  consecutiveFailures: num,
  lastErrorMessage: nullable(text),
  createdAt: date,
  updatedAt: date,
};

test('Habit: CreateHabitRequest and UpdateHabitRequest as the web app sends them; every field of Habit in the answers', async () => {
  // CreateHabitRequest: skillId, scheduleCron, scheduleDescription, timezone, config, isActive.
  const created = await api(owner)
    .post('/api/v1/habits')
    .send({ skillId: skillA, scheduleCron: '0 9 * * 1-5', scheduleDescription: 'Every weekday at 9:00 AM', timezone: 'America/New_York', config: { commits: 'auto-fetch' }, isActive: true })
    .expect(201);
  expect(created.body).toEqual(expect.objectContaining(HABIT_SHAPE));
  expect(created.body).toMatchObject({ scheduleDescription: 'Every weekday at 9:00 AM', timezone: 'America/New_York', config: { commits: 'auto-fetch' }, runCount: 0 });
  // UpdateHabitRequest: the same names but skillId, all optional (sent with PATCH).
  const updated = await api(owner)
    .patch(`/api/v1/habits/${created.body.id}`)
    .send({ scheduleCron: '0 18 * * 5', scheduleDescription: 'Every Friday at 6:00 PM', timezone: 'UTC', config: { include_stats: true }, isActive: false })
    .expect(200);
  expect(updated.body).toEqual(expect.objectContaining({ ...HABIT_SHAPE, nextRunAt: null, isActive: false, scheduleCron: '0 18 * * 5' }));
  const listed = await api(member).get('/api/v1/habits').expect(200);
  for (const habit of listed.body.data) expect(habit).toEqual(expect.objectContaining(HABIT_SHAPE));
});

test('Reflex and its trigger configs: CreateReflexRequest and UpdateReflexRequest as the web app sends them; every field of Reflex', async () => {
  // WebhookTriggerConfig {url, method} (the secret is the server's), EmailTriggerConfig, FileChangeTriggerConfig, ApiCallTriggerConfig, EventTriggerConfig.
  const configs: Array<[string, Record<string, unknown>]> = [
    ['webhook', { url: 'https://github.com/acme/payments', method: 'POST' }],
    ['email', { fromAddress: 'alerts@example.com', subjectPattern: '^\\[alert\\]', bodyPattern: 'down' }],
    ['file_change', { paths: ['src/**/*.ts', 'src/**/*.tsx'], events: ['create', 'modify'] }],
    ['api_call', { endpoint: '/deployments', method: 'POST' }],
    ['event', { eventName: 'deployment.completed', source: 'vercel' }],
  ];
  for (const [triggerType, triggerConfig] of configs) {
    const res = await api(owner)
      .post('/api/v1/reflexes')
      .send({
        skillId: skillA,
        triggerType,
        triggerConfig,
        conditions: { matchAll: true, filters: [{ field: 'action', operator: 'equals', value: 'opened' }] },
        isActive: true,
      })
      .expect(201);
    expect(res.body).toEqual(expect.objectContaining({ ...REFLEX_SHAPE, triggerType, triggerConfig }));
    // UpdateReflexRequest: triggerConfig, conditions, isActive.
    const updated = await api(owner)
      .patch(`/api/v1/reflexes/${res.body.id}`)
      .send({ triggerConfig, conditions: { matchAll: false, filters: [] }, isActive: false })
      .expect(200);
    expect(updated.body).toEqual(expect.objectContaining({ ...REFLEX_SHAPE, isActive: false, conditions: { matchAll: false, filters: [] } }));
  }
  const listed = await api(member).get('/api/v1/reflexes').expect(200);
  expect(listed.body.data.length).toBeGreaterThanOrEqual(configs.length);
  for (const reflex of listed.body.data) expect(reflex).toEqual(expect.objectContaining(REFLEX_SHAPE));
});

test('CronValidation: {isValid, error, nextRuns} with nextRuns as instants, for `cron` as the web app names it', async () => {
  const valid = await api(member).post('/api/v1/habits/validate-cron').send({ cron: '0 9 * * 1-5' }).expect(200);
  expect(valid.body).toMatchObject({ isValid: true, error: null });
  expect(valid.body.nextRuns).toHaveLength(5);
  for (const at of valid.body.nextRuns) {
    expect(at).toMatch(ISO);
    expect(new Date(at).getUTCHours()).toBe(9);
  }
  const invalid = await api(member).post('/api/v1/habits/validate-cron').send({ cron: '0 9 * *' }).expect(200);
  expect(invalid.body).toMatchObject({ isValid: false, error: expect.stringMatching(/five fields/), nextRuns: [] });
});

test('runHabitNow: POST /habits/{id}/run-now answers {executionId, status, message}; another organization gets 404, a bad id 400', async () => {
  const habit = (await api(owner).post('/api/v1/habits').send({ skillId: skillA, scheduleCron: '0 3 * * *' }).expect(201)).body;
  const res = await api(member).post(`/api/v1/habits/${habit.id}/run-now`).expect(202);
  expect(res.body).toEqual(expect.objectContaining({ executionId: text, status: expect.stringMatching(/^(queued|running)$/), message: text }));
  expect(res.body.execution).toMatchObject({ id: res.body.executionId, executionType: 'habit', referenceId: habit.id });
  expectProblem(await api(outsider, orgB).post(`/api/v1/habits/${habit.id}/run-now`), 404);
  expectProblem(await api(member).post('/api/v1/habits/not-a-uuid/run-now'), 400);
  // The old path is gone: one way to run a habit now.
  expect((await api(member).post(`/api/v1/habits/${habit.id}/run`)).status).toBe(404);
});

test("getHabitStats: GET /habits/stats counts the organization's habits only", async () => {
  const org = await newOrganization(t.app, owner, 'Habit stats');
  const skill = await createSkill(t, org, owner);
  const mine = (path: string) => as(t.app, owner, org).get(path);
  expect((await mine('/api/v1/habits/stats').expect(200)).body).toEqual({ totalHabits: 0, activeHabits: 0, totalRuns: 0, failedHabits: 0, upcomingRuns: [] });

  const make = async (body: Record<string, unknown>) => (await as(t.app, owner, org).post('/api/v1/habits').send({ skillId: skill, ...body }).expect(201)).body;
  const soon = await make({ scheduleCron: '* * * * *' });
  const later = await make({ scheduleCron: '0 0 1 1 *' });
  const paused = await make({ scheduleCron: '0 9 * * *', isActive: false });
  await as(t.app, owner, org).post(`/api/v1/habits/${paused.id}/run-now`).expect(202);
  await as(t.app, owner, org).post(`/api/v1/habits/${soon.id}/run-now`).expect(202);
  await t.admin.query('update public.habits set consecutive_failures = 2 where id = $1', [later.id]);
  // Another organization's habit counts for nobody here.
  await as(t.app, outsider, orgB).post('/api/v1/habits').send({ skillId: skillB, scheduleCron: '* * * * *' }).expect(201);

  const stats = (await mine('/api/v1/habits/stats').expect(200)).body;
  expect(stats).toEqual({
    totalHabits: 3,
    activeHabits: 2,
    totalRuns: 2,
    failedHabits: 1,
    upcomingRuns: [
      { habitId: soon.id, skillName: text, nextRunAt: soon.nextRunAt },
      { habitId: later.id, skillName: text, nextRunAt: later.nextRunAt },
    ],
  });
  const theirs = (await as(t.app, outsider, orgB).get('/api/v1/habits/stats').expect(200)).body;
  expect(theirs.upcomingRuns.map((run: { habitId: string }) => run.habitId)).not.toContain(soon.id);
  expectProblem(await as(t.app, outsider, org).get('/api/v1/habits/stats'), 404);
});

test("getReflexStats: GET /reflexes/stats counts the organization's reflexes and triggers only", async () => {
  const org = await newOrganization(t.app, owner, 'Reflex stats');
  const skill = await createSkill(t, org, owner);
  const zero = { webhook: 0, email: 0, file_change: 0, api_call: 0, schedule: 0, event: 0 };
  expect((await as(t.app, owner, org).get('/api/v1/reflexes/stats').expect(200)).body).toEqual({
    totalReflexes: 0,
    activeReflexes: 0,
    totalTriggers: 0,
    failedReflexes: 0,
    triggersByType: zero,
    reflexesByType: zero,
    recentTriggers: [],
  });
  const eventName = `fe.${randomUUID().slice(0, 8)}`;
  const fired = await createReflex(t, owner, org, { skillId: skill, triggerType: 'event', triggerConfig: { eventName } });
  const hook = await createReflex(t, owner, org, { skillId: skill, triggerType: 'webhook', triggerConfig: { method: 'POST' }, isActive: false });
  await t.admin.query('update public.reflexes set consecutive_failures = 1 where id = $1', [hook.id]);
  await as(t.app, owner, org).post('/api/v1/events').send({ eventName, payload: { title: 'x' } }).expect(200);
  await as(t.app, owner, org).post('/api/v1/events').send({ eventName, payload: { title: 'y' } }).expect(200);
  // The same event in another organization fires nothing here.
  await createReflex(t, outsider, orgB, { skillId: skillB, triggerType: 'event', triggerConfig: { eventName } });
  await as(t.app, outsider, orgB).post('/api/v1/events').send({ eventName, payload: {} }).expect(200);

  const stats = (await as(t.app, owner, org).get('/api/v1/reflexes/stats').expect(200)).body;
  expect(stats).toEqual({
    totalReflexes: 2,
    activeReflexes: 1,
    totalTriggers: 2,
    failedReflexes: 1,
    triggersByType: { ...zero, event: 2 },
    reflexesByType: { ...zero, event: 1, webhook: 1 },
    recentTriggers: [{ reflexId: fired.id, skillName: text, triggeredAt: date, triggerType: 'event' }],
  });
  expectProblem(await as(t.app, outsider, org).get('/api/v1/reflexes/stats'), 404);
});

test('getWebhookInfo: GET /reflexes/{id}/webhook-info answers {url, secret, method, samplePayload}; the secret is never shown again', async () => {
  const reflex = await createReflex(t, owner, orgA, {
    skillId: skillA,
    triggerType: 'webhook',
    triggerConfig: { method: 'POST' },
    conditions: { matchAll: true, filters: [{ field: 'pull_request.base.ref', operator: 'equals', value: 'main' }] },
  });
  const res = await api(owner).get(`/api/v1/reflexes/${reflex.id}/webhook-info`).expect(200);
  expect(res.body).toEqual(
    expect.objectContaining({
      url: `https://api.example.com/api/v1/hooks/reflexes/${reflex.id}`,
      secret: null,
      method: 'POST',
      samplePayload: { pull_request: { base: { ref: 'main' } } },
    }),
  );
  expect(JSON.stringify(res.body)).not.toContain(reflex.secret);
  // Managers only: a plain member who did not make it may not; another organization does not see it; a bad id is 400.
  expectProblem(await api(member).get(`/api/v1/reflexes/${reflex.id}/webhook-info`), 403);
  expectProblem(await api(outsider, orgB).get(`/api/v1/reflexes/${reflex.id}/webhook-info`), 404);
  expectProblem(await api(owner).get('/api/v1/reflexes/not-a-uuid/webhook-info'), 400);
});
