import { addMember, addProjectMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// In-app notifications (database/029): made from activity events for the
// people who should know and may see the subject, per their preferences; each
// person reads and changes only their own.

let t: TestApp;
let owner: TestUser; // owner of A
let admin: TestUser; // admin of A
let member: TestUser; // plain member of A
let outsider: TestUser; // owner of B
let orgA: string;
let orgB: string;

interface NotificationRow {
  user_id: string;
  type: string;
  title: string;
  is_urgent: boolean;
  organization_id: string | null;
}

/** Who got a notification about `subjectId`, and of which type. */
async function notifiedAbout(subjectId: string): Promise<NotificationRow[]> {
  return (
    await t.admin.query<NotificationRow>(
      `select user_id, type, title, is_urgent, organization_id from public.notifications where data ->> 'subjectId' = $1 order by created_at, user_id`,
      [subjectId],
    )
  ).rows;
}

const recipients = (rows: NotificationRow[]) => [...new Set(rows.map((row) => row.user_id))].sort();

async function newSkill(user: TestUser, organizationId: string, name: string): Promise<string> {
  return (await as(t.app, user, organizationId).post('/api/v1/skills').send({ name, promptTemplate: 'Say {{text}} please.' }).expect(201)).body.id;
}

/** An execution started by `user` through the API, then finished the way the worker finishes one. */
async function finishedRun(user: TestUser, organizationId: string, skillId: string, status: 'completed' | 'failed'): Promise<string> {
  const execution = (await as(t.app, user, organizationId).post(`/api/v1/skills/${skillId}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
  await t.admin.query(`update public.skill_executions set status = 'running', executed_at = now() where id = $1`, [execution]);
  await t.admin.query(
    `update public.skill_executions set status = $2::public.execution_status, completed_at = now(),
       error_message = case when $2 = 'failed' then 'boom' end where id = $1`,
    [execution, status],
  );
  return execution;
}

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'notify-owner');
  admin = await newUser(t.app, 'notify-admin');
  member = await newUser(t.app, 'notify-member');
  outsider = await newUser(t.app, 'notify-outsider');
  orgA = await newOrganization(t.app, owner, 'Notify A');
  orgB = await newOrganization(t.app, outsider, 'Notify B');
  await addMember(t, orgA, admin, 'admin');
  await addMember(t, orgA, member, 'member');
}, 60_000);
afterAll(() => t.close());

describe('who is notified', () => {
  test("a run's end goes to whoever started it, nobody else; a failure is urgent", async () => {
    const skill = await newSkill(member, orgA, 'Notify run skill');
    const completed = await finishedRun(member, orgA, skill, 'completed');
    const failed = await finishedRun(member, orgA, skill, 'failed');
    expect(recipients(await notifiedAbout(completed))).toEqual([member.userId]);
    expect(await notifiedAbout(completed)).toEqual([expect.objectContaining({ type: 'task_completion', title: 'Run completed', is_urgent: false, organization_id: orgA })]);
    expect(await notifiedAbout(failed)).toEqual([expect.objectContaining({ user_id: member.userId, title: 'Run failed', is_urgent: true })]);
  });

  test("a private project's ingestion reaches its creator and the members who asked, never a plain member of the organization", async () => {
    const follower = await newUser(t.app, 'notify-follower');
    const quiet = await newUser(t.app, 'notify-quiet');
    await addMember(t, orgA, follower, 'member');
    await addMember(t, orgA, quiet, 'member');
    const privateProject = async (name: string) => {
      const id = (await as(t.app, owner, orgA).post('/api/v1/projects').send({ name, type: 'manual', privacy: 'private' }).expect(201)).body.id;
      await addProjectMember(t, id, follower, 'viewer');
      await addProjectMember(t, id, quiet, 'viewer');
      // `quiet` wants errors but not completions.
      await t.admin.query('update public.project_members set notify_on_ingestion = false where project_id = $1 and user_id = $2', [id, quiet.userId]);
      return id;
    };
    const projects = [await privateProject('Notify private one'), await privateProject('Notify private two')];

    const ingestion = (await as(t.app, owner, orgA).post(`/api/v1/projects/${projects[0]}/ingestions`).send({}).expect(201)).body.id;
    await t.admin.query('update public.ingestion_progress set completed_at = now(), progress_percent = 100 where id = $1', [ingestion]);
    expect(recipients(await notifiedAbout(ingestion))).toEqual([owner.userId, follower.userId].sort());

    const second = (await as(t.app, owner, orgA).post(`/api/v1/projects/${projects[1]}/ingestions`).send({}).expect(201)).body.id;
    await t.admin.query(`update public.ingestion_progress set error_message = 'parser crashed', error_code = 'PARSE' where id = $1`, [second]);
    const failed = await notifiedAbout(second);
    expect(recipients(failed)).toEqual([owner.userId, follower.userId, quiet.userId].sort());
    expect(failed.every((row) => row.type === 'context_update' && row.is_urgent)).toBe(true);
    // Nothing about it reached the plain member or the other organization.
    const strays = await t.admin.query(`select 1 from public.notifications where user_id = any($1) and data ->> 'projectId' = any($2)`, [
      [member.userId, outsider.userId, admin.userId],
      projects,
    ]);
    expect(strays.rowCount).toBe(0);
  });

  test('a habit switched off after failures goes to its owner; an invoice to billing managers; a newcomer to owners and admins', async () => {
    const skill = await newSkill(member, orgA, 'Notify habit skill');
    const habit = (await as(t.app, member, orgA).post('/api/v1/habits').send({ skillId: skill, scheduleCron: '0 9 * * 1' }).expect(201)).body.id;
    await t.admin.query('update public.habits set is_active = false, next_run_at = null, consecutive_failures = 3 where id = $1', [habit]);
    expect(await notifiedAbout(habit)).toEqual([expect.objectContaining({ user_id: member.userId, type: 'system_update', title: 'Habit switched off', is_urgent: true })]);

    const invoice = (
      await t.admin.query<{ id: string }>(
        `insert into public.invoices (organization_id, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due)
         values ($1, 'Notify invoice', 'domestic', 21, 10, 2.10, 12.10, 12.10) returning id`,
        [orgA],
      )
    ).rows[0]!.id;
    expect(recipients(await notifiedAbout(invoice))).toEqual([owner.userId, admin.userId].sort());

    const joiner = await newUser(t.app, 'notify-joiner');
    await addMember(t, orgA, joiner, 'member');
    const joined = (await notifiedAbout(joiner.userId)).filter((row) => row.organization_id === orgA);
    expect(recipients(joined)).toEqual([owner.userId, admin.userId].sort());
    expect(joined.every((row) => row.type === 'team_activity')).toBe(true);
  });

  test('an in-app category turned off in preferences is not created', async () => {
    const picky = await newUser(t.app, 'notify-picky');
    await addMember(t, orgA, picky, 'member');
    await as(t.app, picky).patch('/api/v1/notifications/preferences').send({ inApp: { taskCompletions: false } }).expect(200);
    const skill = await newSkill(picky, orgA, 'Notify picky skill');
    const run = await finishedRun(picky, orgA, skill, 'completed');
    expect(await notifiedAbout(run)).toEqual([]);
  });

  test('a new API key alerts the organization owners and admins, and queues an urgent mail to each', async () => {
    const key = (await as(t.app, admin, orgA).post('/api/v1/api-keys').send({ name: 'Notify key', scopes: ['read'], expiration: 'never' }).expect(201)).body.id;
    const alerts = await t.admin.query<{ user_id: string; is_urgent: boolean }>(
      `select user_id, is_urgent from public.notifications where type = 'security_alert' and data ->> 'targetId' = $1`,
      [key],
    );
    expect(alerts.rows.map((row) => row.user_id).sort()).toEqual([owner.userId, admin.userId].sort());
    expect(alerts.rows.every((row) => row.is_urgent)).toBe(true);
    const mails = await t.admin.query<{ to_address: string; urgent: boolean }>(
      `select to_address, urgent from app.mail_outbox where kind = 'security_alert' and params ->> 'eventType' = 'security.api_key_created' and user_id = any($1)
         and dedupe_key like '%' || $2 || '%'`,
      [[owner.userId, admin.userId], key],
    );
    expect(mails.rows.map((row) => row.to_address).sort()).toEqual([owner.email, admin.email].sort());
    expect(mails.rows.every((row) => row.urgent)).toBe(true);
  });
});

describe('the feed', () => {
  let reader: TestUser;
  let runs: string[];

  beforeAll(async () => {
    reader = await newUser(t.app, 'notify-reader');
    await addMember(t, orgA, reader, 'member');
    const skill = await newSkill(reader, orgA, 'Notify feed skill');
    runs = [];
    for (let i = 0; i < 3; i += 1) runs.push(await finishedRun(reader, orgA, skill, 'completed'));
  });

  test('lists my notifications newest first, counts the unread, and filters them', async () => {
    const r = as(t.app, reader);
    const page = await r.get('/api/v1/notifications?pageSize=2').expect(200);
    expect(page.body).toMatchObject({ total: 3, page: 1, pageSize: 2, hasMore: true });
    expect(page.body.data[0]).toMatchObject({ type: 'task_completion', isRead: false, readAt: null, organizationId: orgA, link: `/executions/${runs[2]}` });
    expect(page.body.data[0].data).toMatchObject({ eventType: 'execution.completed', subjectId: runs[2] });
    expect((await r.get('/api/v1/notifications/unread-count').expect(200)).body).toEqual({ unreadCount: 3 });

    const first = page.body.data[0].id;
    const read = await r.patch(`/api/v1/notifications/${first}`).send({ isRead: true }).expect(200);
    expect(read.body).toMatchObject({ id: first, isRead: true, readAt: expect.any(String) });
    expect((await r.get('/api/v1/notifications/unread-count').expect(200)).body).toEqual({ unreadCount: 2 });
    const unread = await r.get('/api/v1/notifications?unread=true').expect(200);
    expect(unread.body.data.map((n: { id: string }) => n.id)).not.toContain(first);
    expect(unread.body.total).toBe(2);

    await r.patch(`/api/v1/notifications/${first}`).send({ isRead: false }).expect(200);
    expect((await r.post('/api/v1/notifications/read-all').expect(200)).body).toEqual({ updated: 3 });
    expect((await r.get('/api/v1/notifications/unread-count').expect(200)).body).toEqual({ unreadCount: 0 });
    expect((await r.post('/api/v1/notifications/read-all').expect(200)).body).toEqual({ updated: 0 });
  });

  test("another person's notification does not exist for me, whichever organization I act in", async () => {
    const mine = (await as(t.app, reader).get('/api/v1/notifications').expect(200)).body.data[0].id;
    for (const [user, organization] of [
      [outsider, orgB],
      [outsider, orgA],
      [member, orgA],
    ] as const) {
      const other = as(t.app, user, organization);
      expectProblem(await other.patch(`/api/v1/notifications/${mine}`).send({ isRead: true }), 404);
      expectProblem(await other.delete(`/api/v1/notifications/${mine}`), 404);
      const listed = (await other.get('/api/v1/notifications?pageSize=100').expect(200)).body.data.map((n: { id: string }) => n.id);
      expect(listed).not.toContain(mine);
    }
    // The outsider's own feed holds nothing of organization A.
    const outsiders = (await as(t.app, outsider).get('/api/v1/notifications?pageSize=100').expect(200)).body.data;
    expect(outsiders.filter((n: { organizationId: string | null }) => n.organizationId === orgA)).toEqual([]);
  });

  test('I delete my own; bad ids and bodies are 400 problems', async () => {
    const r = as(t.app, reader);
    const mine = (await r.get('/api/v1/notifications').expect(200)).body.data[0].id;
    await r.delete(`/api/v1/notifications/${mine}`).expect(204);
    expectProblem(await r.delete(`/api/v1/notifications/${mine}`), 404);
    expectProblem(await r.delete('/api/v1/notifications/not-a-uuid'), 400);
    expectProblem(await r.patch(`/api/v1/notifications/${runs[0]}`).send({ isRead: 'yes' }), 400);
    expectProblem(await r.get('/api/v1/notifications?unread=maybe'), 400);
  });

  test('leaving an organization takes its notifications with it', async () => {
    const leaver = await newUser(t.app, 'notify-leaver');
    await addMember(t, orgA, leaver, 'member');
    const skill = await newSkill(leaver, orgA, 'Notify leaver skill');
    await finishedRun(leaver, orgA, skill, 'completed');
    expect((await as(t.app, leaver).get('/api/v1/notifications').expect(200)).body.total).toBe(1);
    await t.admin.query('delete from public.organization_members where organization_id = $1 and user_id = $2', [orgA, leaver.userId]);
    expect((await as(t.app, leaver).get('/api/v1/notifications').expect(200)).body.total).toBe(0);
  });
});

describe('preferences', () => {
  test('the defaults, then a partial change that keeps the rest', async () => {
    const person = await newUser(t.app, 'notify-prefs');
    const p = as(t.app, person);
    const defaults = (await p.get('/api/v1/notifications/preferences').expect(200)).body;
    expect(defaults).toMatchObject({ frequency: { frequency: 'realtime', digestTime: '09:00', digestDay: 1 }, timezone: 'UTC', updatedAt: null });
    const changed = await p
      .patch('/api/v1/notifications/preferences')
      .send({ frequency: { frequency: 'weekly', digestDay: 5 }, quietHours: { enabled: true, startTime: '21:30' }, timezone: 'Europe/Amsterdam' })
      .expect(200);
    expect(changed.body).toMatchObject({
      email: defaults.email,
      inApp: defaults.inApp,
      frequency: { frequency: 'weekly', digestTime: '09:00', digestDay: 5 },
      quietHours: { enabled: true, startTime: '21:30', endTime: '07:00', days: 'all', customDays: [] },
      timezone: 'Europe/Amsterdam',
      updatedAt: expect.any(String),
    });
    const again = await p.patch('/api/v1/notifications/preferences').send({ quietHours: { days: 'custom', customDays: [6, 0] } }).expect(200);
    expect(again.body.quietHours).toMatchObject({ enabled: true, startTime: '21:30', days: 'custom', customDays: [0, 6] });
    expect((await p.get('/api/v1/notifications/preferences').expect(200)).body).toEqual(again.body);
  });

  test('a bad time zone, bad times and unknown fields are 400 problems that change nothing', async () => {
    const person = await newUser(t.app, 'notify-badprefs');
    const p = as(t.app, person);
    const zone = await p.patch('/api/v1/notifications/preferences').send({ timezone: 'Europe/Atlantis' });
    expectProblem(zone, 400);
    expect(zone.body.errors).toEqual([expect.objectContaining({ path: '/body/timezone' })]);
    expectProblem(await p.patch('/api/v1/notifications/preferences').send({ quietHours: { startTime: '25:00' } }), 400);
    expectProblem(await p.patch('/api/v1/notifications/preferences').send({ frequency: { digestTime: '9am' } }), 400);
    expectProblem(await p.patch('/api/v1/notifications/preferences').send({ frequency: { digestDay: 7 } }), 400);
    expectProblem(await p.patch('/api/v1/notifications/preferences').send({ quietHours: { enabled: true, days: 'custom', customDays: [] } }), 400);
    expectProblem(await p.patch('/api/v1/notifications/preferences').send({ sms: true }), 400);
    expectProblem(await p.patch('/api/v1/notifications/preferences').send({}), 400);
    expect((await p.get('/api/v1/notifications/preferences').expect(200)).body.updatedAt).toBeNull();
  });
});

describe('data rights', () => {
  test('my export holds my notifications and preferences; erasure removes them', async () => {
    const person = await newUser(t.app, 'notify-erased');
    await addMember(t, orgA, person, 'member');
    const p = as(t.app, person);
    await p.patch('/api/v1/notifications/preferences').send({ timezone: 'Asia/Tokyo' }).expect(200);
    const skill = await newSkill(person, orgA, 'Notify erased skill');
    await finishedRun(person, orgA, skill, 'completed');

    const exported = await p.get('/api/v1/me/export').buffer(true).parse((res, done) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => done(null, JSON.parse(text)));
    });
    expect(exported.status).toBe(200);
    expect(exported.body.notifications).toEqual([expect.objectContaining({ userId: person.userId, type: 'task_completion' })]);
    expect(exported.body.notificationPreferences).toEqual([expect.objectContaining({ timeZone: 'Asia/Tokyo' })]);

    await p.post('/api/v1/me/erase').send({ confirmEmail: person.email }).expect(204);
    const left = await t.admin.query(
      `select (select count(*) from public.notifications where user_id = $1)::int as notifications,
              (select count(*) from public.notification_preferences where user_id = $1)::int as preferences,
              (select count(*) from app.mail_outbox where user_id = $1 or lower(to_address) = lower($2))::int as mails`,
      [person.userId, person.email],
    );
    expect(left.rows[0]).toEqual({ notifications: 0, preferences: 0, mails: 0 });
  });
});
