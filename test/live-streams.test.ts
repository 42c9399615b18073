import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import pg from 'pg';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { startLoop } from '../src/background/loop';
import { loadConfig } from '../src/config';
import { createPool } from '../src/db/pool';
import { LiveHub, type LiveSettings } from '../src/live/hub';
import { activityRetentionTask } from '../src/live/retention';
import { liveOutput } from '../src/skills/live-output';
import { createSkillRunner } from '../src/skills/runner';
import { executionWorkerTask } from '../src/skills/worker';
import { newApiKey } from './support/api-keys';
import {
  addMember,
  appDatabaseUrl,
  as,
  createIsolatedTestApp,
  createTestApp,
  databaseUrl,
  expectProblem,
  jwtSecret,
  newOrganization,
  newUser,
  secretsKeys,
  type TestApp,
  type TestUser,
} from './support/harness';
import { openSse, type SseClient, type SseEvent } from './support/sse';

// Live streams (Server-Sent Events) fed by LISTEN/NOTIFY: two instances of the
// app, each with its own pool, LISTEN session and HTTP server on loopback,
// share the one test database, as two processes behind a load balancer would.

interface Instance {
  t: TestApp;
  pool: pg.Pool;
  hub: LiveHub;
  server: http.Server;
  url: string;
}

async function listen(app: Express): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function startInstance(settings: Partial<LiveSettings> = {}, url = appDatabaseUrl(), more: Partial<Parameters<typeof createTestApp>[0]> = {}): Promise<Instance> {
  const pool = createPool(url, 5);
  const hub = new LiveHub({ pool, statementTimeoutMs: 5000, listenUrl: url, log: () => undefined, settings: { limitPerUser: 3, ...settings } }).start();
  const t = createTestApp({ pool, live: hub, ...more });
  return { t, pool, hub, ...(await listen(t.app)) };
}

async function stopInstance(instance: Instance): Promise<void> {
  await instance.hub.close();
  await new Promise<void>((resolve) => {
    instance.server.close(() => resolve());
    instance.server.closeAllConnections();
  });
  await instance.t.close();
  await instance.pool.end();
}

const bearer = (user: TestUser, organizationId?: string): Record<string, string> => ({
  Authorization: `Bearer ${user.token}`,
  ...(organizationId ? { 'X-Organization-Id': organizationId } : {}),
});
const serviceToken = () => mintToken(null, { secret: jwtSecret(), role: 'service_role' });
const sequences = (events: SseEvent[]) => events.map((e) => JSON.parse(e.data).sequence as string);

let a: Instance;
let b: Instance;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let orgA: string;
let orgB: string;
const clients: SseClient[] = [];

async function stream(instance: Instance, path: string, headers: Record<string, string>): Promise<SseClient> {
  const client = await openSse(`${instance.url}${path}`, headers);
  clients.push(client);
  return client;
}

async function newProject(privacy: 'shared' | 'private' = 'shared'): Promise<string> {
  return (await as(a.t.app, owner, orgA).post('/api/v1/projects').send({ name: `Live ${Math.random().toString(36).slice(2, 10)}`, type: 'manual', privacy }).expect(201)).body.id;
}

async function newSkill(): Promise<string> {
  return (await as(a.t.app, owner, orgA).post('/api/v1/skills').send({ name: `Live skill ${Math.random().toString(36).slice(2, 10)}`, promptTemplate: 'Say {{text}}.' }).expect(201)).body.id;
}

beforeAll(async () => {
  a = await startInstance();
  b = await startInstance();
  owner = await newUser(a.t.app, 'live-owner');
  member = await newUser(a.t.app, 'live-member');
  outsider = await newUser(a.t.app, 'live-outsider');
  orgA = await newOrganization(a.t.app, owner, 'Live A');
  orgB = await newOrganization(a.t.app, outsider, 'Live B');
  await addMember(a.t, orgA, member, 'member');
}, 60_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await stopInstance(a);
  await stopInstance(b);
});

describe("a project's ingestion stream", () => {
  test('a client on instance A sees progress reported through instance B within a second, in the frontend\'s shapes', async () => {
    const project = await newProject();
    const client = await stream(a, `/api/v1/projects/${project}/ingestions/events`, bearer(owner, orgA));
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(client.headers['cache-control']).toBe('no-cache');
    expect(client.headers['x-accel-buffering']).toBe('no');
    // Nothing runs yet: the stream starts with its position only.
    await client.waitFor(() => client.lastEventId !== '', 2000, 'a first id');

    const ingestion = (await as(b.t.app, owner, orgA).post(`/api/v1/projects/${project}/ingestions`).send({}).expect(201)).body.id;
    await client.waitFor((events) => events.some((e) => e.event === 'phase_started'), 2000, 'phase_started');

    const service = serviceToken();
    await request(b.t.app)
      .patch(`/api/v1/projects/${project}/ingestions/${ingestion}`)
      .set('Authorization', `Bearer ${service}`)
      .send({ progressPercent: 40, message: 'Fetching', metrics: { filesProcessed: 4, totalFiles: 10 } })
      .expect(200);
    // Committed when B answered: from there, A's client has it within a second.
    const reported = Date.now();
    await client.waitFor((events) => events.some((e) => e.event === 'progress_update'), 1000, 'progress_update within a second');
    expect(Date.now() - reported).toBeLessThan(1000);
    expect(client.parsed('progress_update')[0]).toEqual({
      projectId: project,
      phase: 'repository_fetch',
      progressPercent: 40,
      message: 'Fetching',
      metrics: { filesProcessed: 4, totalFiles: 10, tokensProcessed: 0, bytesProcessed: 0, chunksCreated: 0, errorsEncountered: 0 },
    });

    await request(b.t.app).patch(`/api/v1/projects/${project}/ingestions/${ingestion}`).set('Authorization', `Bearer ${service}`).send({ phase: 'parsing', progressPercent: 50 }).expect(200);
    await request(b.t.app).patch(`/api/v1/projects/${project}/ingestions/${ingestion}`).set('Authorization', `Bearer ${service}`).send({ completed: true }).expect(200);
    await client.waitFor((events) => events.some((e) => e.event === 'ingestion_complete'), 2000, 'ingestion_complete');
    expect(client.events.map((e) => e.event)).toEqual(['phase_started', 'progress_update', 'phase_started', 'ingestion_complete']);
    expect(client.parsed('phase_started')[1]).toMatchObject({ projectId: project, phase: 'parsing', totalPhases: 5, currentPhaseIndex: 1 });
    const complete = client.parsed('ingestion_complete')[0]!;
    expect(complete).toMatchObject({ projectId: project, success: true, finalMetrics: { filesProcessed: 4, totalFiles: 10 } });
    expect(complete.project).toMatchObject({ id: project, status: 'active', organizationId: orgA });
    // Every frame has an id a reconnect can send back.
    expect(client.events.every((e) => /^\d+:\d+:[\d,]*$/.test(e.lastEventId))).toBe(true);
  });

  test('a stream on an unfinished ingestion starts with its progress; a private project is not streamed to a plain member', async () => {
    const project = await newProject('private');
    await as(a.t.app, owner, orgA).post(`/api/v1/projects/${project}/ingestions`).send({}).expect(201);
    const client = await stream(b, `/api/v1/projects/${project}/ingestions/events`, bearer(owner, orgA));
    await client.waitFor((events) => events.length > 0, 2000, 'the state');
    expect(client.events[0]).toMatchObject({ event: 'progress_update' });
    expect(JSON.parse(client.events[0]!.data)).toMatchObject({ projectId: project, progressPercent: 0 });

    const refused = await openSse(`${a.url}/api/v1/projects/${project}/ingestions/events`, bearer(member, orgA));
    expect(refused.status).toBe(404);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);

    // Nor do its events reach the member's organization stream.
    const activity = await stream(a, '/api/v1/events', bearer(member, orgA));
    await activity.waitFor(() => activity.lastEventId !== '', 2000, 'a first id');
    const shared = await newProject('shared');
    const privateRun = (await a.t.admin.query<{ id: string }>('select id from public.ingestion_progress where project_id = $1', [project])).rows[0]!.id;
    await a.t.admin.query('update public.ingestion_progress set progress_percent = 70 where id = $1', [privateRun]);
    await as(a.t.app, owner, orgA).post(`/api/v1/projects/${shared}/ingestions`).send({}).expect(201);
    await activity.waitFor((events) => events.some((e) => JSON.parse(e.data).projectId === shared), 3000, 'the shared project\'s event');
    expect(activity.parsed().filter((e) => e.projectId === project)).toEqual([]);
  });

  test('a project that does not exist is a 404 problem, and a Last-Event-ID that is not ours a 400', async () => {
    expectProblemText(await openSse(`${a.url}/api/v1/projects/00000000-0000-4000-8000-000000000000/ingestions/events`, bearer(owner, orgA)), 404);
    const project = await newProject();
    const bad = await openSse(`${a.url}/api/v1/projects/${project}/ingestions/events`, { ...bearer(owner, orgA), 'Last-Event-ID': 'five' });
    expectProblemText(bad, 400);
    expect(JSON.parse(bad.body).errors[0].path).toBe('/header/last-event-id');
    expectProblemText(await openSse(`${a.url}/api/v1/events?lastEventId=12:3:`, bearer(owner, orgA)), 400);
  });
});

function expectProblemText(client: SseClient, status: number): void {
  expect(client.status).toBe(status);
  expect(client.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(client.body)).toMatchObject({ status });
}

describe("the organization's activity stream", () => {
  test('a reconnect with Last-Event-ID misses nothing, on another instance, even a change whose transaction committed late', async () => {
    const skill = await newSkill();
    const first = await stream(a, '/api/v1/events', bearer(owner, orgA));
    const e1 = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: '1' } }).expect(202)).body.id;
    await first.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === e1), 2000, 'the first execution');

    // A transaction that writes an event (its id comes first) and commits only after a later one.
    const project = await newProject();
    const lateIngestion = (await as(a.t.app, owner, orgA).post(`/api/v1/projects/${project}/ingestions`).send({}).expect(201)).body.id;
    await first.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === lateIngestion), 2000, 'the ingestion start');
    const late = await a.t.admin.connect();
    try {
      await late.query('begin');
      await late.query('update public.ingestion_progress set progress_percent = 30 where id = $1', [lateIngestion]);
      const e2 = (await as(b.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: '2' } }).expect(202)).body.id;
      await first.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === e2), 2000, 'the second execution');
      expect(first.parsed().some((e) => e.type === 'ingestion.progress')).toBe(false);
      first.close();
      const resumeFrom = first.lastEventId;
      await late.query('commit');

      // While away: more changes, through the other instance.
      await as(b.t.app, owner, orgA).post(`/api/v1/executions/${e1}/cancel`).expect(200);
      const e3 = (await as(b.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: '3' } }).expect(202)).body.id;

      const again = await stream(b, '/api/v1/events', { ...bearer(owner, orgA), 'Last-Event-ID': resumeFrom });
      await again.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === e3), 2000, 'the missed events');
      const missed = again.parsed().map((e) => `${e.type} ${e.subjectId}`);
      expect(missed).toEqual([`ingestion.progress ${lateIngestion}`, `execution.cancelled ${e1}`, `execution.queued ${e3}`]);
      // What the first stream had is not sent again.
      expect(sequences(again.events).filter((s) => sequences(first.events).includes(s))).toEqual([]);
    } finally {
      await late.query('rollback').catch(() => undefined);
      late.release();
    }
  });

  test('the query parameter resumes like the header', async () => {
    const skill = await newSkill();
    const first = await stream(a, '/api/v1/events', bearer(owner, orgA));
    await first.waitFor(() => first.lastEventId !== '', 2000, 'a first id');
    first.close();
    const missedId = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
    const again = await stream(b, `/api/v1/events?lastEventId=${encodeURIComponent(first.lastEventId)}`, bearer(owner, orgA));
    await again.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === missedId), 2000, 'the missed execution');
  });

  test('a member of another organization receives nothing; a member removed stops receiving', async () => {
    const skill = await newSkill();
    const theirs = await stream(a, '/api/v1/events', bearer(outsider, orgB));
    // The outsider naming organization A is not let in at all.
    expectProblemText(await openSse(`${a.url}/api/v1/events`, bearer(outsider, orgA)), 404);
    const memberStream = await stream(b, '/api/v1/events', bearer(member, orgA));
    const execution = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
    await memberStream.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === execution), 2000, "the member's event");

    // A change in B reaches the outsider, and nothing of A came before it.
    const outsiderSkill = (await as(a.t.app, outsider, orgB).post('/api/v1/skills').send({ name: 'Outsider skill', promptTemplate: 'Say {{x}}.' }).expect(201)).body.id;
    const own = (await as(a.t.app, outsider, orgB).post(`/api/v1/skills/${outsiderSkill}/execute`).send({ input: { x: '1' } }).expect(202)).body.id;
    await theirs.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === own), 2000, "the outsider's own event");
    expect(theirs.parsed().map((e) => e.subjectId)).toEqual([own]);

    // Removed from A: the next delivery ends the stream instead of sending.
    await a.t.admin.query('delete from public.organization_members where organization_id = $1 and user_id = $2', [orgA, member.userId]);
    try {
      const before = memberStream.events.length;
      await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'y' } }).expect(202);
      await memberStream.waitForEnd(3000);
      expect(memberStream.events.slice(before).filter((e) => e.event.startsWith('execution.'))).toEqual([]);
    } finally {
      await addMember(a.t, orgA, member, 'member');
    }
  });

  test('invoices reach billing managers only', async () => {
    const ownerStream = await stream(a, '/api/v1/events', bearer(owner, orgA));
    const memberStream = await stream(a, '/api/v1/events', bearer(member, orgA));
    await Promise.all([ownerStream, memberStream].map((c) => c.waitFor(() => c.lastEventId !== '', 2000, 'a first id')));
    const invoice = (
      await a.t.admin.query<{ id: string }>(
        `insert into public.invoices (organization_id, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due)
         values ($1, 'Live invoice', 'domestic', 21, 10, 2.10, 12.10, 12.10) returning id`,
        [orgA],
      )
    ).rows[0]!.id;
    const skill = await newSkill();
    const after = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'z' } }).expect(202)).body.id;
    await ownerStream.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === after), 2000, 'the execution after the invoice');
    await memberStream.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === after), 2000, 'the execution after the invoice');
    expect(ownerStream.parsed('invoice.issued')).toEqual([expect.objectContaining({ subjectId: invoice, data: expect.objectContaining({ total: '12.10' }) })]);
    expect(memberStream.parsed('invoice.issued')).toEqual([]);
  });
});

describe('stream tickets', () => {
  test('a ticket opens one stream once, on any instance, as its caller in its organization', async () => {
    const issued = await as(a.t.app, owner, orgA).post('/api/v1/stream-tickets').expect(201);
    expect(issued.body.ticket).toMatch(/^st_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(61_000);
    // Only the hash is kept.
    const stored = await a.t.admin.query<{ n: number }>("select count(*)::int as n from app.stream_tickets where token_hash = sha256(convert_to($1, 'UTF8'))", [issued.body.ticket]);
    expect(stored.rows[0]!.n).toBe(1);
    const raw = await a.t.admin.query<{ n: number }>('select count(*)::int as n from app.stream_tickets where claims::text like $1', [`%${issued.body.ticket}%`]);
    expect(raw.rows[0]!.n).toBe(0);

    const skill = await newSkill();
    const client = await stream(b, `/api/v1/events?ticket=${issued.body.ticket}`, {});
    expect(client.status).toBe(200);
    const execution = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
    await client.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === execution), 2000, 'the event, through a ticket');

    const reused = await openSse(`${a.url}/api/v1/events?ticket=${issued.body.ticket}`);
    expectProblemText(reused, 401);
    expect(JSON.parse(reused.body).detail).toMatch(/already used or expired/);
  });

  test('an expired or unknown ticket opens nothing; a ticket is for signed-in callers, not service tokens', async () => {
    const issued = await as(a.t.app, member, orgA).post('/api/v1/stream-tickets').expect(201);
    await a.t.admin.query("update app.stream_tickets set expires_at = now() - interval '1 second' where token_hash = sha256(convert_to($1, 'UTF8'))", [issued.body.ticket]);
    expectProblemText(await openSse(`${a.url}/api/v1/events?ticket=${issued.body.ticket}`), 401);
    expectProblemText(await openSse(`${a.url}/api/v1/events?ticket=st_${'A'.repeat(43)}`), 401);
    expectProblemText(await openSse(`${a.url}/api/v1/events`), 401);
    const service = await request(a.t.app).post('/api/v1/stream-tickets').set('Authorization', `Bearer ${serviceToken()}`);
    expectProblem(service, 403);
    // A ticket opens streams only: elsewhere it is no credential.
    const other = await as(a.t.app, owner, orgA).post('/api/v1/stream-tickets').expect(201);
    const elsewhere = await request(a.t.app).get(`/api/v1/projects?ticket=${other.body.ticket}`);
    expect([400, 401]).toContain(elsewhere.status);
    expect(elsewhere.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('an API key gets a ticket for its organization, and its stream is one metered call however many events follow', async () => {
    const key = await newApiKey(a.t.app, owner, orgA, ['write']);
    const used = async () => {
      await a.t.apiCalls.settle();
      await b.t.apiCalls.settle();
      return (
        await a.t.admin.query<{ n: number }>("select coalesce(sum(used), 0)::int as n from public.usage_counters where organization_id = $1 and metric = 'api_calls'", [orgA])
      ).rows[0]!.n;
    };
    const before = await used();
    const client = await stream(b, '/api/v1/events', { Authorization: `Bearer ${key.key}` });
    expect(client.status).toBe(200);
    const skill = await newSkill();
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) runs.push((await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: `${i}` } }).expect(202)).body.id);
    await client.waitFor((events) => runs.every((id) => events.some((e) => JSON.parse(e.data).subjectId === id)), 3000, 'the three executions');
    expect(await used()).toBe(before + 1);

    const ticket = await request(a.t.app).post('/api/v1/stream-tickets').set('Authorization', `Bearer ${key.key}`).expect(201);
    const viaTicket = await stream(a, `/api/v1/events?ticket=${ticket.body.ticket}`, {});
    expect(viaTicket.status).toBe(200);
  });
});

describe('the LISTEN session', () => {
  test('when it drops, the listener reconnects and delivers what committed meanwhile', async () => {
    const skill = await newSkill();
    const client = await stream(a, '/api/v1/events', bearer(owner, orgA));
    await client.waitFor(() => client.lastEventId !== '', 2000, 'a first id');
    // Every listening session of this database goes (both instances' here), as when a connection or the server restarts.
    const terminated = await a.t.admin.query<{ ended: boolean }>(
      "select pg_terminate_backend(pid) as ended from pg_stat_activity where application_name = 'devtools-backend-listen' and datname = current_database()",
    );
    expect(terminated.rows.filter((row) => row.ended).length).toBeGreaterThanOrEqual(2);
    const meanwhile = (await as(b.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'while away' } }).expect(202)).body.id;
    await client.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === meanwhile), 5000, 'the event committed while the listener was away');
    const deadline = Date.now() + 5000;
    while (!(a.hub.listening && b.hub.listening) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.hub.listening && b.hub.listening).toBe(true);
    const after = (await as(b.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'back' } }).expect(202)).body.id;
    await client.waitFor((events) => events.some((e) => JSON.parse(e.data).subjectId === after), 2000, 'an event after the reconnect');
  });
});

describe('limits and shutdown', () => {
  test('past the per-user limit a stream is a 429 problem; closing one frees its place', async () => {
    const user = await newUser(a.t.app, 'live-limit');
    const open = [] as SseClient[];
    for (let i = 0; i < 3; i++) open.push(await stream(a, '/api/v1/events', bearer(user)));
    expect(open.map((c) => c.status)).toEqual([200, 200, 200]);
    expect(a.hub.openStreams()).toBeGreaterThanOrEqual(3);
    const refused = await openSse(`${a.url}/api/v1/events`, bearer(user));
    expectProblemText(refused, 429);
    expect(JSON.parse(refused.body).code).toBe('stream_limit_reached');
    expect(refused.headers['retry-after']).toBe('5');
    // Counted per instance: the other one still takes it.
    expect((await stream(b, '/api/v1/events', bearer(user))).status).toBe(200);
    open[0]!.close();
    const deadline = Date.now() + 2000;
    let again = await openSse(`${a.url}/api/v1/events`, bearer(user));
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await openSse(`${a.url}/api/v1/events`, bearer(user));
    }
    clients.push(again);
    expect(again.status).toBe(200);
  });

  test('heartbeats keep a quiet stream alive, and closing the hub ends every stream', async () => {
    const c = await startInstance({ heartbeatMs: 100 });
    try {
      const client = await openSse(`${c.url}/api/v1/events`, bearer(owner, orgA));
      await client.waitFor(() => client.comments >= 2, 2000, 'two heartbeats');
      expect(c.hub.openStreams()).toBe(1);
      await c.hub.close();
      await client.waitForEnd(2000);
      expect(c.hub.openStreams()).toBe(0);
      expectProblemText(await openSse(`${c.url}/api/v1/events`, bearer(owner, orgA)), 503);
    } finally {
      await stopInstance(c);
    }
  });

  test('the real server ends its streams on SIGTERM and exits cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], {
      cwd: path.resolve(__dirname, '..'),
      env: {
        ...process.env,
        DATABASE_URL: appDatabaseUrl(),
        MIGRATION_DATABASE_URL: databaseUrl(),
        MIGRATE_ON_START: 'false',
        SUPABASE_JWT_SECRET: jwtSecret(),
        SECRETS_ENCRYPTION_KEYS: secretsKeys(),
        SEED_DEMO_DATA: 'false',
        // The shared test database: this server's loops must not run other suites' work.
        BACKGROUND_WORK: 'false',
        PORT: '0',
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let output = '';
      const baseUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 30_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /API\s+(http:\/\/\S+?)\/api\/v1/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
      });
      const client = await openSse(`${baseUrl}/api/v1/events`, bearer(owner, orgA));
      clients.push(client);
      expect(client.status).toBe(200);
      await client.waitFor(() => client.lastEventId !== '', 5000, 'a first id');
      child.kill('SIGTERM');
      await client.waitForEnd(10_000);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  test('an app without live events issues tickets but answers streams with 503', async () => {
    const plain = a.t.variant({ live: undefined });
    const { server, url } = await listen(plain);
    try {
      await as(plain, owner, orgA).post('/api/v1/stream-tickets').expect(201);
      expectProblemText(await openSse(`${url}/api/v1/events`, bearer(owner, orgA)), 503);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('an execution stream', () => {
  test('starts with the execution, then its status changes and the output a model streams as it arrives', async () => {
    const skill = await newSkill();
    const execution = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
    const client = await stream(a, `/api/v1/executions/${execution}/events`, bearer(member, orgA));
    await client.waitFor((events) => events.length > 0, 2000, 'the state');
    expect(client.events[0]!.event).toBe('execution');
    expect(JSON.parse(client.events[0]!.data)).toMatchObject({ id: execution, status: 'pending', skill: { id: skill } });

    // The worker (on the other instance) takes it and a model streams into it.
    await b.t.admin.query(`update public.skill_executions set status = 'running' where id = $1`, [execution]);
    await client.waitFor((events) => events.some((e) => e.event === 'execution.running'), 2000, 'execution.running');
    const output = liveOutput(b.pool, 5000, execution, 30);
    output.push('Hello, ');
    await client.waitFor((events) => events.some((e) => e.event === 'execution.output'), 2000, 'the first output');
    output.push('streaming ');
    output.push('world.');
    await client.waitFor((events) => client.parsed('execution.output').map((c) => c.text).join('') === 'Hello, streaming world.', 2000, 'the whole output');
    await output.close();
    const chunks = client.parsed('execution.output');
    expect(chunks[0]).toEqual({ executionId: execution, offset: 0, text: 'Hello, ' });
    expect(chunks[1]).toMatchObject({ offset: 'Hello, '.length });

    await b.t.admin.query(`update public.skill_executions set status = 'completed', output = '"Hello, streaming world."' where id = $1`, [execution]);
    await client.waitFor((events) => events.some((e) => e.event === 'execution.completed'), 2000, 'execution.completed');
    expect(client.events.map((e) => e.event).filter((name) => name !== 'execution.output')).toEqual(['execution', 'execution.running', 'execution.completed']);

    // A stream opened now starts with the whole output; another organization's member gets a 404.
    const late = await stream(b, `/api/v1/executions/${execution}/events`, bearer(owner, orgA));
    await late.waitFor((events) => events.length > 0, 2000, 'the state');
    expect(JSON.parse(late.events[0]!.data)).toMatchObject({ status: 'completed', output: 'Hello, streaming world.' });
    expectProblemText(await openSse(`${a.url}/api/v1/executions/${execution}/events`, bearer(outsider, orgB)), 404);
  });
});

describe('retention', () => {
  test('events past their retention are deleted, newer ones kept', async () => {
    const skill = await newSkill();
    const execution = (await as(a.t.app, owner, orgA).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'old' } }).expect(202)).body.id;
    await as(a.t.app, owner, orgA).post(`/api/v1/executions/${execution}/cancel`).expect(200);
    const [old, recent] = (
      await a.t.admin.query<{ id: string }>('select id::text from public.activity_events where subject_id = $1 order by id', [execution])
    ).rows;
    await a.t.admin.query("update public.activity_events set created_at = now() - interval '31 days' where id = $1", [old!.id]);
    const task = activityRetentionTask({ pool: a.pool, statementTimeoutMs: 5000, retentionDays: 30, batchSize: 1000 });
    while (await task.tick()) {
      // a full batch: go again
    }
    const left = await a.t.admin.query<{ id: string }>('select id::text from public.activity_events where id = any($1::bigint[])', [[old!.id, recent!.id]]);
    expect(left.rows.map((row) => row.id)).toEqual([recent!.id]);
  });
});

describe('waking workers across processes', () => {
  test('POST .../execute on one instance starts the run at once on a worker in another process, whose poll is a minute', async () => {
    const isolated = await createIsolatedTestApp();
    const workerPool = createPool(isolated.appUrl, 3);
    const config = loadConfig({});
    const loop = startLoop(
      executionWorkerTask({ pool: workerPool, statementTimeoutMs: 5000, runner: createSkillRunner(config), concurrency: 2, intervalMs: 60_000, staleAfterMs: 600_000 }),
      () => undefined,
    );
    const workerHub = new LiveHub({ pool: workerPool, statementTimeoutMs: 5000, listenUrl: isolated.appUrl, log: () => undefined, wake: (name) => name === 'executions' && loop.wake() }).start();
    try {
      // The worker's first pass found nothing; it now sleeps for a minute unless woken.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const user = await newUser(isolated.app, 'live-wake');
      const skill = (await as(isolated.app, user).post('/api/v1/skills').send({ name: 'Wake skill', promptTemplate: 'Say {{text}}.' }).expect(201)).body.id;
      const queued = Date.now();
      const execution = (await as(isolated.app, user).post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'now' } }).expect(202)).body.id;
      let status = 'pending';
      while (status !== 'completed' && Date.now() - queued < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await as(isolated.app, user).get(`/api/v1/executions/${execution}`).expect(200)).body.status;
      }
      expect(status).toBe('completed');
      expect(Date.now() - queued).toBeLessThan(5000);
    } finally {
      await workerHub.close();
      await loop.stop();
      await workerPool.end();
      await isolated.close();
    }
  }, 60_000);
});
