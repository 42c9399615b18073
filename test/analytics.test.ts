import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { storeEvents } from '../src/analytics/operations';
import { createAnalyticsQueue, type AnalyticsQueue } from '../src/analytics/queue';
import { analyticsRetentionTask } from '../src/analytics/retention';
import { mintToken } from '../src/auth/demo-users';
import { NO_BACKGROUND_WORK, startBackgroundWork } from '../src/background';
import { loadConfig } from '../src/config';
import { addMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import { newApiKey, withKey } from './support/api-keys';
import { captureLogs } from './support/logs';

// POST /analytics/events answers before anything is written; these tests own
// the queue so that they can flush it and then look at what the database holds.

let t: TestApp;
let app: Express;
let queue: AnalyticsQueue;
let alice: TestUser; // owner of orgA
let bob: TestUser; // member of orgA
let carol: TestUser; // owner of orgB only
let orgA: string;
let orgB: string;
const failures: string[] = [];

const URL = '/api/v1/analytics/events';

/** An event as the web app's analytics service sends it (`{type, timestamp, persona, sessionId, properties}`). */
function frontendEvent(overrides: Record<string, unknown> = {}) {
  return {
    type: 'project_step_completed',
    timestamp: new Date(Date.now() - 5000).toISOString(),
    persona: 'maya',
    sessionId: `${Date.now()}-${randomUUID().slice(0, 10)}`,
    properties: { step: 'basic_info', time_to_complete: 12.5, nested: { ok: [1, 2] } },
    ...overrides,
  };
}

interface StoredRow {
  user_id: string;
  organization_id: string | null;
  type: string;
  occurred_at: string;
  session_id: string | null;
  persona: string | null;
  properties: Record<string, unknown>;
}

async function storedFor(user: TestUser): Promise<StoredRow[]> {
  const rows = await t.admin.query<StoredRow>(
    'select user_id, organization_id, type, occurred_at, session_id, persona, properties from public.analytics_events where user_id = $1 order by id',
    [user.userId],
  );
  return rows.rows;
}

beforeAll(async () => {
  t = createTestApp();
  queue = createAnalyticsQueue({
    capacity: 1000,
    flushAt: 1000,
    flushIntervalMs: 3_600_000,
    store: storeEvents(t.pool, 5000),
    log: (line) => failures.push(line),
  });
  app = t.variant({ background: { ...NO_BACKGROUND_WORK, analytics: queue } });
  alice = await newUser(app, 'analytics-alice');
  bob = await newUser(app, 'analytics-bob');
  carol = await newUser(app, 'analytics-carol');
  orgA = await newOrganization(app, alice, 'Analytics A');
  orgB = await newOrganization(app, carol, 'Analytics B');
  await addMember(t, orgA, bob, 'member');
});
afterAll(async () => {
  await queue.close();
  await t.close();
});

describe('POST /api/v1/analytics/events', () => {
  test('a batch the frontend sends is answered 202 at once and written by the next flush, as the caller, with no organization', async () => {
    const events = [frontendEvent(), frontendEvent({ type: 'ingestion_started', persona: null, properties: { project_id: 'p1', repo_count: 2 } })];
    const res = await as(app, alice).post(URL).send({ events }).expect(202);
    expect(res.body).toEqual({ accepted: 2 });
    expect(await storedFor(alice)).toEqual([]);
    await queue.flush();
    const rows = await storedFor(alice);
    expect(rows).toEqual([
      {
        user_id: alice.userId,
        organization_id: null,
        type: 'project_step_completed',
        occurred_at: new Date(events[0]!.timestamp as string).toISOString(),
        session_id: events[0]!.sessionId,
        persona: 'maya',
        properties: { step: 'basic_info', time_to_complete: 12.5, nested: { ok: [1, 2] } },
      },
      expect.objectContaining({ type: 'ingestion_started', persona: null, properties: { project_id: 'p1', repo_count: 2 } }),
    ]);
  });

  test('X-Organization-Id records the events for an organization the caller belongs to; only type and timestamp are required', async () => {
    await as(app, bob, orgA).post(URL).send({ events: [{ type: 'conversion_signal', timestamp: new Date().toISOString() }] }).expect(202);
    await queue.flush();
    expect(await storedFor(bob)).toEqual([
      expect.objectContaining({ organization_id: orgA, type: 'conversion_signal', session_id: null, persona: null, properties: {} }),
    ]);
  });

  test('an event cannot be recorded for another organization: accepted, then refused by the database and counted as failed', async () => {
    const before = queue.counters();
    await as(app, carol, orgA).post(URL).send({ events: [frontendEvent({ type: 'planted' })] }).expect(202);
    await queue.flush();
    expect(queue.counters().failed).toBe(before.failed + 1);
    expect(await storedFor(carol)).toEqual([]);
    const inA = await t.admin.query("select count(*)::int as n from public.analytics_events where organization_id = $1 and type = 'planted'", [orgA]);
    expect(inA.rows[0].n).toBe(0);
    // Carol's own organization is hers to report on.
    await as(app, carol, orgB).post(URL).send({ events: [frontendEvent()] }).expect(202);
    await queue.flush();
    expect((await storedFor(carol)).map((row) => row.organization_id)).toEqual([orgB]);
  });

  test.each<[string, unknown]>([
    ['101 events', { events: Array.from({ length: 101 }, () => frontendEvent()) }],
    ['no events', { events: [] }],
    ['properties nested six levels', { events: [frontendEvent(), frontendEvent({ properties: { a: { b: { c: { d: { e: { f: 1 } } } } } } })] }],
    ['properties over 8 KiB', { events: [frontendEvent({ properties: { text: 'x'.repeat(9000) } })] }],
    ['properties as an array', { events: [frontendEvent({ properties: [1, 2] })] }],
    ['a numeric timestamp', { events: [frontendEvent({ timestamp: Date.now() })] }],
    ['a timestamp two days ahead', { events: [frontendEvent({ timestamp: new Date(Date.now() + 2 * 86_400_000).toISOString() })] }],
    ['an unknown persona', { events: [frontendEvent({ persona: 'bob' })] }],
    ['a type in capitals', { events: [frontendEvent({ type: 'Page View' })] }],
    ['a NUL in a property', { events: [frontendEvent({ properties: { text: 'a\u0000b' } })] }],
    ['an unknown field', { events: [frontendEvent({ userId: randomUUID() })] }],
    ['no events field', { type: 'page_view' }],
  ])('%s: 400 and nothing is queued or stored', async (_label, body) => {
    const before = queue.counters();
    const res = await as(app, alice).post(URL).send(body as object);
    expectProblem(res, 400);
    expect(res.body.code).toBe('validation_failed');
    expect(queue.counters()).toEqual(before);
  });

  test('a signed-in caller is needed: 401 without a token, 403 for a service token', async () => {
    expectProblem(await request(app).post(URL).send({ events: [frontendEvent()] }), 401);
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    expectProblem(await request(app).post(URL).set('Authorization', `Bearer ${service}`).set('X-Organization-Id', orgA).send({ events: [frontendEvent()] }), 403);
  });

  test('does not count as an API call of the organization', async () => {
    // API calls are leased in blocks: the unused ones go back before the counter is read.
    const used = async (): Promise<number> => {
      await t.apiCalls.settle();
      const { rows } = await t.admin.query(
        "select coalesce(sum(used), 0)::int as n from public.usage_counters where organization_id = $1 and metric = 'api_calls'",
        [orgA],
      );
      return rows[0]!.n;
    };
    const { key } = await newApiKey(app, alice, orgA, ['write']);
    await withKey(app, key).get('/api/v1/habits/stats').expect(200);
    const before = await used();
    for (let i = 0; i < 3; i += 1) await withKey(app, key).post(URL).send({ events: [frontendEvent()] }).expect(202);
    await queue.flush();
    expect(await used()).toBe(before);
    // The comparison can fail: an ordinary request made with an API key does count.
    await withKey(app, key).get('/api/v1/habits/stats').expect(200);
    expect(await used()).toBe(before + 1);
  });

  test('nothing reads, changes or deletes events as a request role', async () => {
    const client = await t.pool.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: alice.userId, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      for (const sql of ['select * from public.analytics_events', 'update public.analytics_events set type = type', 'delete from public.analytics_events']) {
        await client.query('savepoint s');
        await expect(client.query(sql)).rejects.toMatchObject({ code: '42501' });
        await client.query('rollback to savepoint s');
      }
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('in a server', () => {
  test('the background work holds the queue (even with BACKGROUND_WORK=false), and stopping it writes what is queued', async () => {
    const logs = captureLogs();
    const background = startBackgroundWork({ pool: t.pool, config: loadConfig({ BACKGROUND_WORK: 'false' }), logger: logs.logger });
    const served = t.variant({ background });
    const user = await newUser(served, 'analytics-shutdown');
    await as(served, user).post(URL).send({ events: [frontendEvent({ type: 'before_shutdown' })] }).expect(202);
    await background.stop();
    expect(background.analytics!.counters()).toEqual({ accepted: 1, dropped: 0, stored: 1, failed: 0 });
    expect((await storedFor(user)).map((row) => row.type)).toEqual(['before_shutdown']);
    expect(logs.entries()).toEqual([]);
  });
});

describe('retention', () => {
  test('deletes only events received before the retention window, in batches', async () => {
    const user = await newUser(app, 'analytics-retention');
    const insert = (ageDays: number, type: string) =>
      t.admin.query(
        `insert into public.analytics_events (user_id, type, occurred_at, received_at) values ($1, $2, now() - make_interval(days => $3), now() - make_interval(days => $3))`,
        [user.userId, type, ageDays],
      );
    await insert(200, 'old_a');
    await insert(120, 'old_b');
    await insert(91, 'old_c');
    await insert(89, 'recent_a');
    await insert(0, 'recent_b');
    const task = analyticsRetentionTask({ pool: t.pool, statementTimeoutMs: 5000, retentionDays: 90, batchSize: 2 });
    // Other suites' rows may be old too: run until a pass reports no full batch.
    let more = await task.tick();
    expect(more).toBe(true);
    for (let i = 0; more && i < 100; i += 1) more = await task.tick();
    const left = await t.admin.query<{ type: string }>('select type from public.analytics_events where user_id = $1 order by type', [user.userId]);
    expect(left.rows.map((row) => row.type)).toEqual(['recent_a', 'recent_b']);
  });

  test('the purge is the back office’s: a signed-in user cannot call it', async () => {
    const client = await t.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local role authenticated');
      await expect(client.query('select app.purge_analytics_events(1, 10)')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

afterAll(() => {
  // Only the refused write of the isolation test may have failed.
  expect(failures.filter((line) => !/1 events not written \(1 so far\)/.test(line))).toEqual([]);
});
