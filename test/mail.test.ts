import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import request from 'supertest';
import { digestTask } from '../src/mail/digests';
import { mailSenderTask } from '../src/mail/sender';
import { createMailTransport } from '../src/mail/transport';
import { newAccount, SAFARI_ON_IPHONE, signIn, signUp } from './accounts-support';
import { addMember, as, createIsolatedTestApp, newOrganization, newUser, testSecretBox, type TestApp, type TestUser } from './support/harness';
import { startSmtpServer, type TestSmtpServer } from './support/smtp';

// Email end to end: mail queued in the database by the change that causes it,
// sent by the mail loop to a real SMTP server in this process (or written to
// the local outbox directory), retried, held through quiet hours, never lost.
// A database of its own: the loops claim every organization's mail.

const WEB_APP_URL = 'https://app.example.test';
const MINUTE = 60_000;

let t: TestApp;
let smtp: TestSmtpServer;
let owner: TestUser;
let org: string;

function sender(now: () => Date = () => new Date(), transport = createMailTransport({ smtpUrl: smtp.url, from: 'DevTools <no-reply@example.test>', outboxDir: '' })) {
  return mailSenderTask({
    pool: t.pool,
    statementTimeoutMs: 5000,
    transport,
    secrets: testSecretBox(),
    webAppUrl: WEB_APP_URL,
    maxAttempts: 3,
    intervalMs: 1000,
    log: () => undefined,
    now,
  });
}

/** Runs the mail loop's passes until nothing more is due at `at`. */
async function sendDue(at: Date = new Date()): Promise<void> {
  const task = sender(() => at);
  while (await task.tick());
}

interface OutboxRow {
  kind: string;
  attempts: number;
  sealed_secret: string | null;
  sent_at: string | null;
  next_attempt_at: string;
  last_error: string | null;
}

async function outboxFor(address: string, kind: string): Promise<OutboxRow[]> {
  return (
    await t.admin.query<OutboxRow>(
      'select kind, attempts, sealed_secret, sent_at, next_attempt_at, last_error from app.mail_outbox where lower(to_address) = lower($1) and kind = $2 order by created_at',
      [address, kind],
    )
  ).rows;
}

async function finishedRun(user: TestUser, organizationId: string): Promise<void> {
  const a = as(t.app, user, organizationId);
  const skill = (await a.post('/api/v1/skills').send({ name: `Mail skill ${Math.random().toString(36).slice(2, 8)}`, promptTemplate: 'Say {{text}} please.' }).expect(201)).body.id;
  const execution = (await a.post(`/api/v1/skills/${skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
  await t.admin.query(`update public.skill_executions set status = 'running', executed_at = now() where id = $1`, [execution]);
  await t.admin.query(`update public.skill_executions set status = 'completed', completed_at = now() where id = $1`, [execution]);
}

const hhmm = (at: Date) => at.toISOString().slice(11, 16);

beforeAll(async () => {
  // Sign-ups and sign-ins come from addresses of their own (X-Forwarded-For).
  t = await createIsolatedTestApp({}, { trustProxy: true });
  smtp = await startSmtpServer();
  owner = await newUser(t.app, 'mail-owner');
  org = await newOrganization(t.app, owner, 'Mail org');
}, 120_000);
afterAll(async () => {
  await smtp.close();
  await t.close();
});

test('an invitation arrives with its link, whose token accepts it; the token is kept only sealed, and dropped once sent', async () => {
  const invitee = await newUser(t.app, 'mail-invitee');
  const project = (await as(t.app, owner, org).post('/api/v1/projects').send({ name: 'Mail project', type: 'manual', privacy: 'private' }).expect(201)).body.id;
  const invited = await as(t.app, owner, org).post(`/api/v1/projects/${project}/invitations`).send({ emails: [invitee.email], role: 'developer', message: 'Join <us>!' }).expect(200);
  const shownToken: string = invited.body.results[0].token;

  const [queued] = await outboxFor(invitee.email, 'invitation');
  expect(queued!.sealed_secret).toMatch(/^enc:/);
  expect(queued!.sealed_secret).not.toContain(shownToken);

  await sendDue();
  const [mail] = smtp.to(invitee.email);
  expect(mail).toBeDefined();
  expect(mail!.subject).toContain('invited you to Mail project');
  expect(mail!.from?.text).toContain('no-reply@example.test');
  const link = mail!.text!.match(/https:\/\/app\.example\.test\/invitations\/accept\?token=(\S+)/);
  expect(link).not.toBeNull();
  const token = decodeURIComponent(link![1]!);
  expect(token).toBe(shownToken);
  expect(mail!.html).toContain('Join &lt;us&gt;!');
  expect(mail!.html).toContain(`href="${WEB_APP_URL}/invitations/accept?token=`);

  const [sent] = await outboxFor(invitee.email, 'invitation');
  expect(sent).toMatchObject({ sealed_secret: null, attempts: 1 });
  expect(sent!.sent_at).not.toBeNull();
  const accepted = await request(t.app).post('/api/v1/invitations/accept').set('Authorization', `Bearer ${invitee.token}`).send({ token });
  expect(accepted.status).toBe(200);
  expect(accepted.body).toMatchObject({ projectId: project, member: { role: 'developer' } });

  // A resend queues a new mail with the new token; the old one is spent.
  const other = await newUser(t.app, 'mail-resend');
  const second = await as(t.app, owner, org).post(`/api/v1/projects/${project}/invitations`).send({ emails: [other.email], role: 'viewer' }).expect(200);
  const resent = await as(t.app, owner, org).post(`/api/v1/projects/${project}/invitations/${second.body.results[0].invitation.id}/resend`).expect(200);
  await sendDue();
  const mails = smtp.to(other.email);
  expect(mails).toHaveLength(2);
  expect(mails[1]!.text).toContain(encodeURIComponent(resent.body.token));
});

test('a security alert arrives at once, with a plain-text and an HTML part', async () => {
  const admin = await newUser(t.app, 'mail-admin');
  await addMember(t, org, admin, 'admin');
  await as(t.app, admin, org).post('/api/v1/api-keys').send({ name: 'Mail key <b>', scopes: ['read'], expiration: 'never' }).expect(201);
  await sendDue();
  for (const person of [owner, admin]) {
    const alerts = smtp.to(person.email).filter((mail) => mail.subject === 'Security alert: A new API key was created');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain('The API key "Mail key <b>" was created');
    expect(alerts[0]!.html).toContain('Mail key &lt;b&gt;');
    expect(alerts[0]!.html).not.toContain('<b>"');
  }
});

test('a sign-in from a browser never used before raises an alert; the usual one does not', async () => {
  const account = newAccount('mail-device');
  await signUp(t.app, account);
  expect((await signIn(t.app, account)).status).toBe(200);
  expect((await signIn(t.app, account)).status).toBe(200);
  await sendDue();
  expect(smtp.to(account.email)).toHaveLength(0);
  expect((await signIn(t.app, account, { userAgent: SAFARI_ON_IPHONE })).status).toBe(200);
  await sendDue();
  const alerts = smtp.to(account.email);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]!.subject).toBe('Security alert: Sign-in from a new device');
  expect(alerts[0]!.text).toContain('iPhone');
});

test('a daily digest groups the unread notifications; quiet hours hold it until they end', async () => {
  const reader = await newUser(t.app, 'mail-reader');
  const readerOrg = await newOrganization(t.app, reader, 'Mail reader org');
  await finishedRun(reader, readerOrg);
  await finishedRun(reader, readerOrg);
  const joiner = await newUser(t.app, 'mail-joiner');
  await addMember(t, readerOrg, joiner, 'member');

  // Seen from two hours ahead: the digest moment passed half an hour ago, in quiet hours that end in an hour.
  const later = new Date(Date.now() + 120 * MINUTE);
  const quietEnds = new Date(later.getTime() + 60 * MINUTE);
  await as(t.app, reader)
    .patch('/api/v1/notifications/preferences')
    .send({
      frequency: { frequency: 'daily', digestTime: hhmm(new Date(later.getTime() - 30 * MINUTE)) },
      quietHours: { enabled: true, startTime: hhmm(new Date(later.getTime() - 60 * MINUTE)), endTime: hhmm(quietEnds) },
      timezone: 'UTC',
    })
    .expect(200);

  let woken = 0;
  const digests = digestTask({ pool: t.pool, statementTimeoutMs: 5000, intervalMs: 60_000, onQueued: () => (woken += 1), now: () => later });
  await digests.tick();
  await digests.tick(); // the same slot twice queues one digest
  expect(woken).toBe(1);
  expect(await outboxFor(reader.email, 'digest')).toHaveLength(1);

  await sendDue(later);
  expect(smtp.to(reader.email)).toHaveLength(0);
  const [held] = await outboxFor(reader.email, 'digest');
  expect(held).toMatchObject({ attempts: 0, sent_at: null });
  expect(Math.abs(Date.parse(held!.next_attempt_at) - quietEnds.getTime())).toBeLessThan(MINUTE);

  await sendDue(new Date(quietEnds.getTime() + MINUTE));
  const [digest] = smtp.to(reader.email);
  expect(digest!.subject).toBe('Your daily digest: 3 unread notifications');
  expect(digest!.text).toContain('Runs (2)');
  expect(digest!.text).toContain('Team (1)');
  expect(digest!.text).toContain(`${WEB_APP_URL}/notifications`);
  expect(digest!.html).toContain('<h3>Runs (2)</h3>');

  // Nothing unread since: the next day's slot sends nothing.
  await as(t.app, reader).post('/api/v1/notifications/read-all').expect(200);
  await digestTask({ pool: t.pool, statementTimeoutMs: 5000, intervalMs: 60_000, onQueued: () => undefined, now: () => new Date(later.getTime() + 24 * 60 * MINUTE) }).tick();
  expect(await outboxFor(reader.email, 'digest')).toHaveLength(1);
});

test('a refused mail is retried with back-off and arrives once; one leased by a sender that died goes out after its lease', async () => {
  const person = await newUser(t.app, 'mail-retry');
  const personOrg = await newOrganization(t.app, person, 'Mail retry org');
  await sendDue();
  smtp.refuseNext(1);
  await as(t.app, person, personOrg).post('/api/v1/api-keys').send({ name: 'Retry key', scopes: ['read'], expiration: 'never' }).expect(201);
  const now = new Date();
  await sendDue(now);
  expect(smtp.to(person.email)).toHaveLength(0);
  const [waiting] = await outboxFor(person.email, 'security_alert');
  expect(waiting).toMatchObject({ attempts: 1, sent_at: null });
  expect(waiting!.last_error).toMatch(/451|try again/);
  expect(Date.parse(waiting!.next_attempt_at)).toBeGreaterThan(now.getTime());

  await sendDue(new Date(now.getTime() + 2 * MINUTE));
  expect(smtp.to(person.email)).toHaveLength(1);
  expect((await outboxFor(person.email, 'security_alert'))[0]).toMatchObject({ attempts: 2, last_error: null });

  // A sender leases the next alert and dies before sending it.
  await as(t.app, person, personOrg).post('/api/v1/api-keys').send({ name: 'Crash key', scopes: ['read'], expiration: 'never' }).expect(201);
  const leased = await t.admin.query(`select id from app.claim_mail(now(), 100, 300) where to_address = $1`, [person.email]);
  expect(leased.rowCount).toBe(1);
  await sendDue();
  expect(smtp.to(person.email)).toHaveLength(1);
  await sendDue(new Date(Date.now() + 6 * MINUTE));
  expect(smtp.to(person.email)).toHaveLength(2);
});

test('without SMTP each mail is a readable .eml file in the outbox directory', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mail-outbox-'));
  try {
    const person = await newUser(t.app, 'mail-file');
    const personOrg = await newOrganization(t.app, person, 'Mail file org');
    await as(t.app, person, personOrg).post('/api/v1/api-keys').send({ name: 'File key', scopes: ['read'], expiration: 'never' }).expect(201);
    const files = sender(() => new Date(), createMailTransport({ smtpUrl: undefined, from: 'DevTools <no-reply@example.test>', outboxDir: dir }));
    while (await files.tick());
    const written = (await readdir(dir)).filter((name) => name.endsWith('.eml'));
    expect(written.length).toBeGreaterThanOrEqual(1);
    const parsed = await Promise.all(written.map(async (name) => simpleParser(await readFile(path.join(dir, name)))));
    const mine = parsed.filter((mail) => mail.text?.includes('The API key "File key" was created'));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.subject).toBe('Security alert: A new API key was created');
    expect(mine[0]!.html).toContain('File key');
    expect((await readdir(dir)).filter((name) => name.endsWith('.partial'))).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
