import pg from 'pg';
import type { Identity } from '../src/auth/caller';
import { openAs } from '../src/db/transaction';
import { addMember, as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The outbox of migration 025: each change someone waits for writes its event
// in the changing transaction, and who may read an event is the row level
// security of what it is about.

let t: TestApp;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let orgA: string;
let orgB: string;

interface EventRow {
  id: string;
  organization_id: string;
  type: string;
  subject_id: string;
  project_id: string | null;
  actor_id: string | null;
  data: Record<string, unknown>;
}

async function eventsAbout(subjectId: string): Promise<EventRow[]> {
  return (await t.admin.query<EventRow>('select id::text, organization_id, type, subject_id, project_id, actor_id, data from public.activity_events where subject_id = $1 order by activity_events.id', [subjectId])).rows;
}

const signedIn = (user: TestUser): Identity => ({
  role: 'authenticated',
  userId: user.userId,
  email: user.email,
  claims: { sub: user.userId, email: user.email, role: 'authenticated', aud: 'authenticated' },
});

/** The event ids `user` can read in `organizationId`, through a session opened as the API opens one. */
async function readableBy(user: TestUser, organizationId: string, eventIds: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    await openAs(client, signedIn(user), { requestedOrganizationId: organizationId, statementTimeoutMs: 5000, meterApiCall: false });
    const rows = await client.query<{ id: string }>('select id::text from public.activity_events where id = any($1::bigint[]) order by activity_events.id', [eventIds]);
    return rows.rows.map((row) => row.id);
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'activity-owner');
  member = await newUser(t.app, 'activity-member');
  outsider = await newUser(t.app, 'activity-outsider');
  orgA = await newOrganization(t.app, owner, 'Activity A');
  orgB = await newOrganization(t.app, outsider, 'Activity B');
  await addMember(t, orgA, member, 'member');
}, 60_000);
afterAll(() => t.close());

test('an execution announces each status it takes, with who caused it and the fields the API names', async () => {
  const a = as(t.app, owner, orgA);
  const skill = (await a.post('/api/v1/skills').send({ name: 'Activity skill', promptTemplate: 'Say {{text}}.' }).expect(201)).body.id;
  const execution = (await a.post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
  await a.post(`/api/v1/executions/${execution}/cancel`).expect(200);

  const events = await eventsAbout(execution);
  expect(events.map((e) => e.type)).toEqual(['execution.queued', 'execution.cancelled']);
  expect(events.every((e) => e.actor_id === owner.userId)).toBe(true);
  expect(events[1]!.data).toMatchObject({ id: execution, skillId: skill, status: 'cancelled', executionType: 'manual', costCents: '0.0000' });
  expect(String(events[0]!.data.createdAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // Everyone in the organization reads executions, so everyone reads their events; nobody outside does.
  const ids = events.map((e) => e.id);
  expect(await readableBy(member, orgA, ids)).toEqual(ids);
  expect(await readableBy(outsider, orgB, ids)).toEqual([]);
  expect(await readableBy(outsider, orgA, ids)).toEqual([]);
});

test("an ingestion's phases and progress are announced, and only those who see its project read them", async () => {
  const a = as(t.app, owner, orgA);
  const project = (await a.post('/api/v1/projects').send({ name: 'Private activity', type: 'manual', privacy: 'private' }).expect(201)).body.id;
  const ingestion = (await a.post(`/api/v1/projects/${project}/ingestions`).send({}).expect(201)).body.id;
  await t.admin.query('update public.ingestion_progress set progress_percent = 40 where id = $1', [ingestion]);
  await t.admin.query('update public.ingestion_progress set progress_percent = 40 where id = $1', [ingestion]); // no change, no event
  await t.admin.query(`update public.ingestion_progress set phase = 'parsing', progress_percent = 50 where id = $1`, [ingestion]);
  await t.admin.query(`update public.ingestion_progress set completed_at = now(), progress_percent = 100 where id = $1`, [ingestion]);

  const events = await eventsAbout(ingestion);
  expect(events.map((e) => e.type)).toEqual(['ingestion.started', 'ingestion.progress', 'ingestion.phase_started', 'ingestion.completed']);
  expect(events.every((e) => e.project_id === project)).toBe(true);
  expect(events[2]!.data).toMatchObject({ projectId: project, phase: 'parsing', progressPercent: 50 });

  const ids = events.map((e) => e.id);
  expect(await readableBy(owner, orgA, ids)).toEqual(ids);
  // A private project is its creator's: a plain member of the organization reads none of its events.
  expect(await readableBy(member, orgA, ids)).toEqual([]);
});

test('invoices are announced to billing managers only; a habit switched off and a member joining are announced to all', async () => {
  const invoice = (
    await t.admin.query<{ id: string }>(
      `insert into public.invoices (organization_id, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due)
       values ($1, 'Activity invoice', 'domestic', 21, 10, 2.10, 12.10, 12.10) returning id`,
      [orgA],
    )
  ).rows[0]!.id;
  await t.admin.query(`update public.invoices set status = 'paid', paid_at = now(), amount_paid = 12.10, amount_due = 0 where id = $1`, [invoice]);
  const invoiceEvents = await eventsAbout(invoice);
  expect(invoiceEvents.map((e) => e.type)).toEqual(['invoice.issued', 'invoice.paid']);
  expect(invoiceEvents[1]!.data).toMatchObject({ total: '12.10', amountPaid: '12.10', status: 'paid' });
  const invoiceIds = invoiceEvents.map((e) => e.id);
  expect(await readableBy(owner, orgA, invoiceIds)).toEqual(invoiceIds);
  expect(await readableBy(member, orgA, invoiceIds)).toEqual([]);

  const a = as(t.app, owner, orgA);
  const skill = (await a.post('/api/v1/skills').send({ name: 'Habit skill', promptTemplate: 'Say {{text}}.' }).expect(201)).body.id;
  const habit = (await a.post('/api/v1/habits').send({ skillId: skill, scheduleCron: '0 9 * * 1' }).expect(201)).body.id;
  // The runner switching it off after failures (back office: no signed-in caller).
  await t.admin.query('update public.habits set is_active = false, next_run_at = null, consecutive_failures = 5 where id = $1', [habit]);
  const [off] = await eventsAbout(habit);
  expect(off).toMatchObject({ type: 'habit.deactivated', actor_id: null, data: { id: habit, consecutiveFailures: 5, reason: 'failures' } });
  expect(await readableBy(member, orgA, [off!.id])).toEqual([off!.id]);

  const joiner = await newUser(t.app, 'activity-joiner');
  await addMember(t, orgA, joiner, 'member');
  const joined = (await eventsAbout(joiner.userId)).filter((e) => e.type === 'member.joined' && e.organization_id === orgA);
  expect(joined).toHaveLength(1);
  expect(await readableBy(member, orgA, [joined[0]!.id])).toEqual([joined[0]!.id]);
  expect(await readableBy(outsider, orgB, [joined[0]!.id])).toEqual([]);
});

test('requests cannot write events, and a notification names the organization at commit', async () => {
  const listener = new pg.Client({ connectionString: t.appUrl });
  await listener.connect();
  const heard: string[] = [];
  listener.on('notification', (message) => heard.push(`${message.channel} ${message.payload}`));
  await listener.query('listen activity_events');
  try {
    const a = as(t.app, owner, orgA);
    const skill = (await a.post('/api/v1/skills').send({ name: 'Notify skill', promptTemplate: 'Say {{text}}.' }).expect(201)).body.id;
    await a.post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202);
    const deadline = Date.now() + 5000;
    while (!heard.includes(`activity_events ${orgA}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toContain(`activity_events ${orgA}`);
  } finally {
    await listener.end();
  }

  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    await openAs(client, signedIn(owner), { requestedOrganizationId: orgA, statementTimeoutMs: 5000, meterApiCall: false });
    await expect(
      client.query(`insert into public.activity_events (organization_id, type, subject_type, subject_id, data) values ($1, 'member.left', 'member', $2, '{}')`, [
        orgA,
        owner.userId,
      ]),
    ).rejects.toMatchObject({ code: '42501' });
    await client.query('rollback');
    await openAs(client, signedIn(owner), { requestedOrganizationId: orgA, statementTimeoutMs: 5000, meterApiCall: false });
    await expect(client.query(`select app.record_activity($1, 'member.left', $2, null, '{}')`, [orgA, owner.userId])).rejects.toMatchObject({ code: '42501' });
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
});
