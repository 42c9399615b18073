import request from 'supertest';
import { codeAt } from '../src/accounts/totp';
import { newAccount, signUp } from './accounts-support';
import { newApiKey, withKey, type TestKey } from './support/api-keys';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// A person's data rights: the export of everything held about them, and the
// erasure of their account, seen from everyone else's side afterwards.

let t: TestApp;
let alice: TestUser;
let aliceRefresh: string;
let bob: TestUser;
let carol: TestUser;
let shared: string;
let paid: string;
let carolsOrg: string;
let key: TestKey;
const ids: Record<string, string> = {};
const ALICE_NAME = 'Alice Erasable';

async function signedUpUser(label: string): Promise<{ user: TestUser; refresh: string }> {
  const session = await signUp(t.app, newAccount(label), { first_name: 'Alice', last_name: 'Erasable' });
  const me = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${session.access_token}`).expect(200);
  return {
    user: { email: me.body.email, token: session.access_token, userId: me.body.id, personalOrganizationId: me.body.defaultOrganizationId },
    refresh: session.refresh_token,
  };
}

beforeAll(async () => {
  // Each sign-up comes from an address of its own (X-Forwarded-For), as in the accounts suites: the
  // per-address sign-up limit counts every suite's sign-ups on the shared database.
  t = createTestApp({ trustProxy: true });
  ({ user: alice, refresh: aliceRefresh } = await signedUpUser('alice'));
  bob = await newUser(t.app, 'bob');
  carol = await newUser(t.app, 'carol');
  await t.admin.query('update public.profiles set full_name = $2 where id = $1', [alice.userId, ALICE_NAME]);

  // Shared: Alice owns it alone, Bob is its admin (the heir). Paid: Alice alone, with an invoice.
  shared = await newOrganization(t.app, alice, 'Shared');
  await addMember(t, shared, bob, 'admin');
  paid = await newOrganization(t.app, alice, 'Paid');
  carolsOrg = await newOrganization(t.app, carol, 'Carol');

  const a = as(t.app, alice, shared);
  ids.project = (await a.post('/api/v1/projects').send({ name: 'Alice project', type: 'manual', privacy: 'shared' }).expect(201)).body.id;
  ids.skill = (await a.post('/api/v1/skills').send({ name: 'Alice skill', promptTemplate: 'Summarize {{text}} for me.' }).expect(201)).body.id;
  ids.execution = (await a.post(`/api/v1/skills/${ids.skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
  const reflex = (await a.post('/api/v1/reflexes').send({ skillId: ids.skill, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201)).body;
  ids.reflex = reflex.id;
  ids.webhookSecret = reflex.secret;
  key = await newApiKey(t.app, alice, shared, ['write']);

  // Two-factor on: its TOTP secret is kept sealed, like the webhook secret.
  const setup = (await as(t.app, alice).post('/api/v1/auth/2fa/enroll').expect(200)).body;
  await as(t.app, alice).post('/api/v1/auth/2fa/confirm').send({ code: codeAt(setup.secret) }).expect(200);

  // An invoice, with the person's address among the billing details.
  await as(t.app, alice, paid).put('/api/v1/billing/details').send({ companyName: 'Alice Trading', country: 'NL' }).expect(200);
  await t.admin.query('update public.billing_details set email = $2 where organization_id = $1', [paid, alice.email]);
  await as(t.app, alice, paid).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
  await t.admin.query(`update public.invoices set customer = customer || jsonb_build_object('email', $2::text) where organization_id = $1`, [paid, alice.email]);

  // Carol's organization, which nothing of Alice's reaches.
  ids.carolProject = (await as(t.app, carol, carolsOrg).post('/api/v1/projects').send({ name: 'Carol project', type: 'manual' }).expect(201)).body.id;
});
afterAll(() => t.close());

describe('secrets at rest', () => {
  test('the webhook and TOTP secrets are stored sealed, never as the secret', async () => {
    const reflexSecret = (await t.admin.query('select secret from public.reflex_secrets where reflex_id = $1', [ids.reflex])).rows[0].secret;
    expect(reflexSecret).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(reflexSecret).not.toContain(ids.webhookSecret);
    const totp = (await t.admin.query('select secret from app.mfa_factors where user_id = $1', [alice.userId])).rows[0].secret;
    expect(totp).toMatch(/^enc:v1:[0-9a-f]{8}:/);
  });
});

describe('GET /me/export', () => {
  test('streams everything held about the person as a JSON attachment', async () => {
    const res = await as(t.app, alice).get('/api/v1/me/export').buffer(true).parse((r, done) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString()));
      r.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="my-data-\d{4}-\d{2}-\d{2}\.json"$/);
    const text = res.body as string;
    const doc = JSON.parse(text);
    expect(doc.format).toBe('devtools-personal-data/1');
    expect(doc.profile).toMatchObject({ id: alice.userId, email: alice.email, fullName: ALICE_NAME });
    expect(doc.account.password.email).toBe(alice.email);
    expect(doc.account.twoFactor.confirmedAt).toEqual(expect.any(String));
    expect(doc.account.memberships.map((m: { organizationId: string }) => m.organizationId).sort()).toEqual(
      [alice.personalOrganizationId, shared, paid].sort(),
    );
    const inShared = doc.organizations.find((o: { organizationId: string }) => o.organizationId === shared);
    expect(inShared.projects.map((p: { id: string }) => p.id)).toEqual([ids.project]);
    expect(inShared.skills.map((s: { id: string }) => s.id)).toEqual([ids.skill]);
    expect(inShared.reflexes.map((r: { id: string }) => r.id)).toEqual([ids.reflex]);
    expect(inShared.executionsStarted.map((e: { id: string }) => e.id)).toEqual([ids.execution]);
    expect(inShared.projects[0].userId).toBe(alice.userId);
    expect(doc.apiKeys.map((k: { id: string }) => k.id)).toEqual([key.id]);
    expect(doc.sessions.length).toBeGreaterThanOrEqual(1);
    expect(doc.sessions[0]).toMatchObject({ kind: 'local', endedAt: null });
    expect(doc.auditEntries.some((e: { eventType: string; role: string }) => e.eventType === 'context.created' && e.role === 'actor')).toBe(true);
    // Never a secret or a hash.
    expect(text).not.toContain(ids.webhookSecret);
    expect(text).not.toMatch(/secret_hash|secretHash|password_hash|passwordHash|tokenHash|enc:v1:/);
  });

  test('an API key or a service token cannot export its creator\'s data (403)', async () => {
    expectProblem(await withKey(t.app, key.key, shared).get('/api/v1/me/export'), 403);
  });

  test('isolation: another organization\'s person gets only their own data', async () => {
    const res = await as(t.app, carol).get('/api/v1/me/export').expect(200);
    const text = JSON.stringify(res.body);
    expect(text).toContain(ids.carolProject);
    for (const value of [alice.userId, alice.email, ids.project, ids.skill, ids.execution, shared, paid]) expect(text).not.toContain(value);
  });
});

describe('POST /me/erase', () => {
  test('refuses an API key (403), a wrong confirmation (422) and unknown fields (400), erasing nothing', async () => {
    expectProblem(await withKey(t.app, key.key, shared).post('/api/v1/me/erase').send({ confirmEmail: alice.email }), 403);
    const wrong = await as(t.app, alice).post('/api/v1/me/erase').send({ confirmEmail: carol.email });
    expectProblem(wrong, 422);
    expect(wrong.body.errors[0].path).toBe('/body/confirmEmail');
    expectProblem(await as(t.app, alice).post('/api/v1/me/erase').send({ confirmEmail: alice.email, force: true }), 400);
    expectProblem(await as(t.app, alice).post('/api/v1/me/erase').send({}), 400);
    await as(t.app, alice).get('/api/v1/me').expect(200);
  });

  test('erases the account: nothing another member reads identifies the person, invoices still add up', async () => {
    const carolAuditBefore = (await t.admin.query('select to_jsonb(a) as row from public.audit_log a where organization_id = $1 order by id', [carolsOrg])).rows;
    await as(t.app, alice).post('/api/v1/me/erase').send({ confirmEmail: alice.email.toUpperCase() }).expect(204);

    // The person, their sessions and keys are gone; their token cannot bring the account back.
    expectProblem(await as(t.app, alice).get('/api/v1/me'), 401);
    expectProblem(await withKey(t.app, key.key, shared).get('/api/v1/projects'), 401);
    expectProblem(await request(t.app).post('/api/v1/auth/refresh').send({ refresh_token: aliceRefresh }), 401);

    // Shared was handed over to Bob, its admin; he sees no trace of who Alice was.
    const b = as(t.app, bob, shared);
    const members = (await b.get(`/api/v1/organizations/${shared}/members`).expect(200)).body;
    expect(members.data.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([[bob.userId, 'owner']]);
    const seen = [
      members,
      (await b.get('/api/v1/audit-log?pageSize=100').expect(200)).body,
      (await b.get(`/api/v1/projects/${ids.project}`).expect(200)).body,
      (await b.get('/api/v1/projects').expect(200)).body,
      (await b.get(`/api/v1/skills/${ids.skill}`).expect(200)).body,
      (await b.get(`/api/v1/executions/${ids.execution}`).expect(200)).body,
      (await b.get(`/api/v1/reflexes/${ids.reflex}`).expect(200)).body,
      (await b.get('/api/v1/api-keys').expect(200)).body,
    ];
    const text = JSON.stringify(seen);
    for (const value of [alice.userId, alice.email, alice.email.split('@')[0]!, ALICE_NAME]) expect(text).not.toContain(value);
    // The facts stay: the project was created, and Alice's membership ended.
    const audit = seen[1] as { data: Array<{ eventType: string }> };
    expect(audit.data.map((e) => e.eventType)).toEqual(expect.arrayContaining(['context.created', 'team.member_removed']));

    // Her personal workspace is gone; Paid stays for its invoices, with only her identifying fields replaced.
    expect((await t.admin.query('select count(*)::int as n from public.organizations where id = $1', [alice.personalOrganizationId])).rows[0].n).toBe(0);
    const invoices = await t.admin.query(
      `select i.subtotal, i.vat_amount, i.total, i.customer, (select sum(l.amount) from public.invoice_lines l where l.invoice_id = i.id) as lines
       from public.invoices i where i.organization_id = $1`,
      [paid],
    );
    expect(invoices.rows.length).toBeGreaterThanOrEqual(1);
    for (const invoice of invoices.rows) {
      expect(Number(invoice.total)).toBeCloseTo(Number(invoice.subtotal) + Number(invoice.vat_amount), 2);
      expect(invoice.lines).toBe(invoice.subtotal);
      expect(JSON.stringify(invoice.customer)).not.toContain(alice.email);
      expect(invoice.customer.companyName).toBe('Alice Trading');
    }
    expect((await t.admin.query('select email from public.billing_details where organization_id = $1', [paid])).rows[0].email).toBeNull();
    expect((await t.admin.query('select count(*)::int as n from public.organization_members where organization_id = $1', [paid])).rows[0].n).toBe(0);

    // Nothing anywhere in the database names her any more, but the id that stops her account coming back.
    const anywhere = await t.admin.query(
      `select count(*)::int as n from public.audit_log a
       where a.actor_user_id = $1 or a.target_id = $1 or a.actor_email = $2 or a::text ilike '%' || $2 || '%' or a::text like '%' || $1::text || '%'`,
      [alice.userId, alice.email],
    );
    expect(anywhere.rows[0].n).toBe(0);
    expect((await t.admin.query('select count(*)::int as n from public.profiles where id = $1 or email = $2', [alice.userId, alice.email])).rows[0].n).toBe(0);
    expect((await t.admin.query('select count(*)::int as n from auth.users where id = $1', [alice.userId])).rows[0].n).toBe(0);
    expect((await t.admin.query('select count(*)::int as n from app.auth_sessions where user_id = $1', [alice.userId])).rows[0].n).toBe(0);

    // Isolation: Carol's organization is exactly as it was.
    const carolAuditAfter = (await t.admin.query('select to_jsonb(a) as row from public.audit_log a where organization_id = $1 order by id', [carolsOrg])).rows;
    expect(carolAuditAfter).toEqual(carolAuditBefore);
    await as(t.app, carol, carolsOrg).get(`/api/v1/projects/${ids.carolProject}`).expect(200);
  });
});
