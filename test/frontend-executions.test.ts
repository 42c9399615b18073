import { randomUUID } from 'node:crypto';
import { templateRunner } from '../src/skills/runner/template';
import { as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The web frontend's types are the spec of these answers: every field its
// SkillExecution and its execution statistics declare is here, under its
// name, with its JSON type (a TypeScript Date travels as an ISO string), and
// requests built with its field names are accepted.

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'date';

/** The frontend's SkillExecution (types/skills.ts), field by field. */
const SKILL_EXECUTION: Record<string, JsonType> = {
  id: 'string',
  skillId: 'string',
  userId: 'string',
  executionType: 'string',
  referenceId: 'string',
  input: 'object',
  output: 'string',
  tokensUsed: 'number',
  promptTokens: 'number',
  completionTokens: 'number',
  durationMs: 'number',
  costCents: 'number',
  status: 'string',
  errorMessage: 'string',
  errorCode: 'string',
  executedAt: 'date',
  completedAt: 'date',
};

/** What a completed execution fills in (the error fields are a failed one's). */
const { errorMessage: _message, errorCode: _code, ...COMPLETED_EXECUTION } = SKILL_EXECUTION;

const EXECUTION_TYPES = ['manual', 'habit', 'reflex', 'api'];
const EXECUTION_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'];

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) && !Number.isNaN(Date.parse(value))) return 'date';
  return typeof value;
}

/** Every field of `spec` is present in `body` with its JSON type (a date is also a string). */
function expectShape(body: Record<string, unknown>, spec: Record<string, JsonType>, label: string): void {
  const wrong = Object.entries(spec)
    .filter(([field, type]) => {
      const actual = typeOf(body[field]);
      return !(actual === type || (type === 'string' && actual === 'date'));
    })
    .map(([field, type]) => `${label}.${field}: expected ${type}, got ${typeOf(body[field])}`);
  expect(wrong).toEqual([]);
}

function expectRecord(body: unknown, keys: string[], type: JsonType, label: string): void {
  expect(Object.keys(body as object).sort()).toEqual([...keys].sort());
  expectShape(body as Record<string, unknown>, Object.fromEntries(keys.map((key) => [key, type])), label);
}

let t: TestApp;
let alice: TestUser;
let org: string;
let skill: string;
let habit: string;
let completedId: string;
let failedId: string;

beforeAll(async () => {
  t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
  alice = await newUser(t.app, 'frontend');
  org = await newOrganization(t.app, alice, 'Frontend');
  skill = (
    await t.admin.query<{ id: string }>(
      `insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, 'Frontend skill', 'Summarize {{text}} now.') returning id`,
      [org, alice.userId],
    )
  ).rows[0]!.id;
  habit = (
    await t.admin.query<{ id: string }>(
      `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '0 9 * * *', now() + interval '1 day') returning id`,
      [org, skill, alice.userId],
    )
  ).rows[0]!.id;
  const insert = `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, input, status, output,
      prompt_tokens, completion_tokens, tokens_used, duration_ms, cost_cents, error_code, error_message, created_at)
    values ($1, $2, $3, 'habit', $4, '{"text": "release"}', $5, $6, 7, 5, 12, 340, $7, $8, $9, now() - interval '1 hour') returning id`;
  completedId = (await t.admin.query(insert, [org, skill, alice.userId, habit, 'completed', JSON.stringify('Done.'), '0.0150', null, null])).rows[0].id;
  failedId = (await t.admin.query(insert, [org, skill, alice.userId, habit, 'failed', null, '0', 'runner_timeout', 'The model took too long.'])).rows[0].id;
});
afterAll(() => t.close());

const api = () => as(t.app, alice, org);

describe('SkillExecution', () => {
  test('a completed execution has every field of the frontend\'s type, costCents in cents as a number', async () => {
    const res = await api().get(`/api/v1/executions/${completedId}`).expect(200);
    expectShape(res.body, COMPLETED_EXECUTION, 'SkillExecution');
    expect(EXECUTION_TYPES).toContain(res.body.executionType);
    expect(EXECUTION_STATUSES).toContain(res.body.status);
    expect(res.body.costCents).toBe(0.015);
    expect(res.body.costCentsExact).toBe('0.0150');
    expect(res.body.executedAt).toBe(res.body.createdAt);
    expect(typeOf(res.body.startedAt)).toBe('date');
  });

  test('a failed one carries its error fields as strings', async () => {
    const res = await api().get(`/api/v1/executions/${failedId}`).expect(200);
    expectShape(res.body, { errorMessage: 'string', errorCode: 'string', executedAt: 'date', id: 'string', userId: 'string' }, 'SkillExecution');
  });

  test('a pending one still has executedAt (required by the frontend)', async () => {
    const run = await api().post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'now' } }).expect(202);
    expect(run.body.status).toBe('pending');
    expect(typeOf(run.body.executedAt)).toBe('date');
    expect(run.body.startedAt).toBeNull();
  });

  test('lists, recent, running and the runs of a habit hold SkillExecutions', async () => {
    const list = await api().get(`/api/v1/executions?skillId=${skill}&status=completed&executionType=habit`).expect(200);
    expectShape(list.body.data[0], COMPLETED_EXECUTION, 'listExecutions[0]');
    expectShape((await api().get('/api/v1/executions/recent?limit=5').expect(200)).body[0], { id: 'string', executedAt: 'date', costCents: 'number' }, 'recent[0]');
    expect(Array.isArray((await api().get('/api/v1/executions/running').expect(200)).body)).toBe(true);
    const runs = await api().get(`/api/v1/habits/${habit}/executions?limit=10&offset=0`).expect(200);
    expectShape(runs.body, { total: 'number' }, 'habitExecutions');
    expectShape(runs.body.data[0], { id: 'string', referenceId: 'string', executedAt: 'date' }, 'habitExecutions[0]');
  });
});

describe('ExecutionFilters: a request with the frontend\'s names is accepted', () => {
  test('skillId, status, executionType, startDate, endDate, limit, offset, referenceId', async () => {
    const startDate = new Date(Date.now() - 86_400_000).toISOString();
    const endDate = new Date().toISOString();
    const res = await api()
      .get('/api/v1/executions')
      .query({ skillId: skill, status: 'completed', executionType: 'habit', startDate, endDate, limit: 20, offset: 0, referenceId: habit })
      .expect(200);
    expect(res.body.data.map((e: { id: string }) => e.id)).toEqual([completedId]);
    expect(res.body).toMatchObject({ total: 1, page: 1, pageSize: 20, hasMore: false });
  });
});

describe('the statistics the frontend reads', () => {
  test('getExecutionStats (GET /executions/stats)', async () => {
    const startDate = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const res = await api().get('/api/v1/executions/stats').query({ startDate, endDate: new Date().toISOString(), skillId: skill }).expect(200);
    expectShape(
      res.body,
      {
        totalExecutions: 'number',
        successfulExecutions: 'number',
        failedExecutions: 'number',
        cancelledExecutions: 'number',
        totalTokensUsed: 'number',
        totalCostCents: 'number',
        averageDurationMs: 'number',
        executionsByType: 'object',
        executionsByStatus: 'object',
        dailyExecutions: 'array',
      },
      'ExecutionStats',
    );
    expectRecord(res.body.executionsByType, EXECUTION_TYPES, 'number', 'executionsByType');
    expectRecord(res.body.executionsByStatus, EXECUTION_STATUSES, 'number', 'executionsByStatus');
    expect(res.body.dailyExecutions).toHaveLength(8);
    expectShape(res.body.dailyExecutions[0], { date: 'string', count: 'number', tokens: 'number' }, 'dailyExecutions[0]');
    expect(res.body).toMatchObject({ totalExecutions: 3, successfulExecutions: 1, failedExecutions: 1, totalCostCents: 0.015 });
  });

  test('getCostBreakdown (GET /executions/cost-breakdown)', async () => {
    const res = await api().get('/api/v1/executions/cost-breakdown').expect(200);
    expectShape(res.body, { totalCostCents: 'number', costBySkill: 'array', costByType: 'object', costByDay: 'array' }, 'CostBreakdown');
    expectShape(res.body.costBySkill[0], { skillId: 'string', skillName: 'string', costCents: 'number', executionCount: 'number' }, 'costBySkill[0]');
    expectRecord(res.body.costByType, EXECUTION_TYPES, 'number', 'costByType');
    expectShape(res.body.costByDay[0], { date: 'string', costCents: 'number' }, 'costByDay[0]');
    expect(res.body.costBySkill[0]).toMatchObject({ skillId: skill, skillName: 'Frontend skill', costCents: 0.015, executionCount: 1 });
  });

  test('getPerformanceMetrics and getPerformancePercentiles (GET /executions/performance)', async () => {
    const res = await api().get('/api/v1/executions/performance').query({ skillId: skill }).expect(200);
    expectShape(
      res.body,
      {
        averageDurationMs: 'number',
        avgDurationMs: 'number',
        p50DurationMs: 'number',
        p90DurationMs: 'number',
        p99DurationMs: 'number',
        successRate: 'number',
        durationByHour: 'array',
      },
      'PerformanceMetrics',
    );
    expectShape(res.body.durationByHour[0], { hour: 'number', avgDurationMs: 'number' }, 'durationByHour[0]');
    expect(res.body).toMatchObject({ p50DurationMs: 340, successRate: 50 });
  });

  test('getSkillStats and getAggregatedStats of the stats service (GET /executions/analytics)', async () => {
    for (const query of [{ period: '7d', skillId: skill }, { period: '30d' }]) {
      const res = await api().get('/api/v1/executions/analytics').query(query).expect(200);
      expectShape(res.body, { overview: 'object', executionsOverTime: 'array', executionsByType: 'object', executionsByStatus: 'object', skillBreakdown: 'array' }, 'SkillStatsResponse');
      expectShape(
        res.body.overview,
        { totalRuns: 'number', successRate: 'number', avgTokens: 'number', avgDurationMs: 'number', totalCostCents: 'number' },
        'SkillStatsOverview',
      );
      expectShape(
        res.body.executionsOverTime[0],
        { date: 'string', count: 'number', successCount: 'number', failureCount: 'number', tokens: 'number', costCents: 'number' },
        'DailyExecution',
      );
      expectRecord(res.body.executionsByType, EXECUTION_TYPES, 'number', 'executionsByType');
      expectRecord(res.body.executionsByStatus, EXECUTION_STATUSES, 'number', 'executionsByStatus');
      expectShape(res.body.skillBreakdown[0], { skillId: 'string', name: 'string', runs: 'number' }, 'skillBreakdown[0]');
    }
  });

  test('retryExecution (POST /executions/{id}/retry) and cleanupOldExecutions (DELETE /executions/cleanup)', async () => {
    const retried = await api().post(`/api/v1/executions/${failedId}/retry`).expect(202);
    expectShape(retried.body, { newExecutionId: 'string', status: 'string' }, 'Retry');
    expect(['pending', 'running']).toContain(retried.body.status);
    const cleaned = await api().delete('/api/v1/executions/cleanup').query({ olderThanDays: 90 }).expect(200);
    expectShape(cleaned.body, { deletedCount: 'number', freedSpaceMb: 'number' }, 'Cleanup');
  });

  test('exportExecutions (GET /executions/export): CSV and JSON files', async () => {
    const csv = await api().get('/api/v1/executions/export').query({ format: 'csv', skillId: skill }).expect(200);
    expect(csv.headers['content-disposition']).toMatch(/filename="executions-.*\.csv"/);
    expect(csv.text.split('\r\n')[0]).toContain('id,skillId,skillName');
    const json = await api().get('/api/v1/executions/export').query({ format: 'json', skillId: skill }).expect(200);
    expect(JSON.parse(json.text).length).toBeGreaterThanOrEqual(2);
  });

  test('an unknown id keeps its problem shape (the frontend reads the status)', async () => {
    const res = await api().post(`/api/v1/executions/${randomUUID()}/retry`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });
});
