import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { withServiceTransaction } from '../src/db/transaction';
import { billingPeriodsTask } from '../src/billing/background';
import { rollOverEndedPeriods } from '../src/billing/subscriptions/rollover';
import { loadBillingConfig } from '../src/config';
import { addMember, as, createIsolatedTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// Each test makes its own organization: owner, admin and plain member, plus an outsider.
// A database of its own: the roll-over below takes every subscription whose
// period ended, in any organization, so on the shared database it would roll
// over other suites' subscriptions (and theirs could be taken here).
let t: TestApp;
beforeAll(async () => {
  t = await createIsolatedTestApp();
});
afterAll(() => t.close());

interface Org {
  id: string;
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
}

async function newOrg(): Promise<Org> {
  const owner = await newUser(t.app, 'owner');
  const admin = await newUser(t.app, 'admin');
  const member = await newUser(t.app, 'member');
  const id = await newOrganization(t.app, owner, 'Billing');
  await addMember(t, id, admin, 'admin');
  await addMember(t, id, member, 'member');
  return { id, owner, admin, member };
}

const api = (user: TestUser, org: Org | string) => as(t.app, user, typeof org === 'string' ? org : org.id);

/** Puts the organization on a plan with a period around now, as if it had been there a while. */
async function arrangePlan(orgId: string, plan: string, interval: string, daysAgo: number, daysLeft: number): Promise<void> {
  await t.admin.query(
    `update public.subscriptions set plan_id = $2, billing_interval = $3,
       current_period_start = now() - make_interval(days => $4), current_period_end = now() + make_interval(days => $5)
     where organization_id = $1`,
    [orgId, plan, interval, daysAgo, daysLeft],
  );
}

const planTier = async (orgId: string) =>
  (await t.admin.query<{ plan_tier: string }>('select plan_tier from public.organizations where id = $1', [orgId])).rows[0]!.plan_tier;

describe('subscription', () => {
  test('a new organization starts on free, active, and every member may read it', async () => {
    const org = await newOrg();
    for (const user of [org.owner, org.admin, org.member]) {
      const res = await api(user, org).get('/api/v1/billing/subscription').expect(200);
      expect(res.body).toMatchObject({
        organizationId: org.id,
        planId: 'free',
        status: 'active',
        billingInterval: 'monthly',
        cancelAtPeriodEnd: false,
        scheduledChange: null,
        trialEnd: null,
        providerCustomerId: null,
        stripeSubscriptionId: null,
      });
      expect(new Date(res.body.currentPeriodEnd).getTime()).toBeGreaterThan(new Date(res.body.currentPeriodStart).getTime());
    }
  });

  test('personal organizations made at first sign-in have one too', async () => {
    const user = await newUser(t.app, 'personal');
    const res = await as(t.app, user).get('/api/v1/billing/subscription').expect(200);
    expect(res.body).toMatchObject({ organizationId: user.personalOrganizationId, planId: 'free' });
  });

  test('an upgrade applies now, issues a prorated invoice and moves organizations.plan_tier', async () => {
    const org = await newOrg();
    await arrangePlan(org.id, 'pro', 'monthly', 15, 15);
    const res = await api(org.admin, org).post('/api/v1/billing/subscription/change').send({ planId: 'teams', billingInterval: 'monthly' }).expect(200);
    expect(res.body.effective).toBe('now');
    expect(res.body.subscription).toMatchObject({ planId: 'teams', billingInterval: 'monthly', status: 'active', scheduledChange: null });
    const invoice = res.body.invoice;
    expect(invoice).toMatchObject({ status: 'open', currency: 'EUR', vatTreatment: 'domestic', vatRate: '21.00', planId: 'teams' });
    expect(invoice.invoiceNumber).toMatch(/^INV-\d{4}-\d{6}$/);
    expect(invoice.lines.map((line: { amount: string }) => line.amount)).toEqual(['79.00', '-14.50']);
    expect(invoice).toMatchObject({ subtotal: '64.50', vatAmount: '13.55', total: '78.05', amountDue: 7805, amountPaid: 0, amountDueEur: '78.05', amountPaidEur: '0.00' });
    expect(await planTier(org.id)).toBe('teams');
    // The new period starts now and runs a month.
    const { currentPeriodStart, currentPeriodEnd } = res.body.subscription;
    expect(new Date(currentPeriodStart).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(new Date(currentPeriodEnd).getTime() - new Date(currentPeriodStart).getTime()).toBeGreaterThanOrEqual(28 * 86_400_000);
  });

  test('from free to pro annually: the full year, nothing to credit', async () => {
    const org = await newOrg();
    const res = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'annually' }).expect(200);
    expect(res.body.invoice.lines).toHaveLength(1);
    expect(res.body.invoice).toMatchObject({ subtotal: '288.00', vatAmount: '60.48', total: '348.48' });
  });

  test('billing details decide the VAT: reverse charge in Germany with a VAT number, none outside the EU', async () => {
    const org = await newOrg();
    await api(org.owner, org).put('/api/v1/billing/details').send({ companyName: 'Muster GmbH', btwNumber: 'DE123456789', country: 'DE' }).expect(200);
    const german = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
    expect(german.body.invoice).toMatchObject({ vatTreatment: 'reverse_charge', vatRate: '0.00', vatAmount: '0.00', total: '29.00' });

    const other = await newOrg();
    await api(other.owner, other).put('/api/v1/billing/details').send({ companyName: 'Acme Inc.', country: 'US' }).expect(200);
    const american = await api(other.owner, other).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
    expect(american.body.invoice).toMatchObject({ vatTreatment: 'outside_scope', vatAmount: '0.00', total: '29.00' });
  });

  test('a downgrade waits for the end of the period; choosing the current plan again drops it', async () => {
    const org = await newOrg();
    await arrangePlan(org.id, 'teams', 'monthly', 5, 25);
    const res = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
    expect(res.body.effective).toBe('period_end');
    expect(res.body.invoice).toBeNull();
    expect(res.body.subscription.planId).toBe('teams');
    expect(res.body.subscription.scheduledChange).toEqual({
      planId: 'pro',
      billingInterval: 'monthly',
      effectiveAt: res.body.subscription.currentPeriodEnd,
    });
    expect(await planTier(org.id)).toBe('teams');

    const kept = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'teams', billingInterval: 'monthly' }).expect(200);
    expect(kept.body.subscription.scheduledChange).toBeNull();
    expectProblem(await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'teams', billingInterval: 'monthly' }), 409);
  });

  test('a downgrade the organization does not fit is refused with the reason', async () => {
    const org = await newOrg(); // three members
    await arrangePlan(org.id, 'pro', 'monthly', 5, 25);
    const res = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'free', billingInterval: 'monthly' });
    expectProblem(res, 409);
    expect(res.body.detail).toMatch(/1 seat\(s\) and the organization has 3 members/);

    // Storage counts too: 2 GB of files do not fit free's 1 GB (after the extra members leave).
    await t.admin.query('delete from public.organization_members where organization_id = $1 and role <> $2', [org.id, 'owner']);
    const project = await api(org.owner, org).post('/api/v1/projects').send({ name: `Big ${randomUUID().slice(0, 6)}`, type: 'files' }).expect(201);
    await api(org.owner, org)
      .post(`/api/v1/projects/${project.body.id}/files`)
      .send({ name: 'a.bin', path: 'a.bin', mimeType: 'application/octet-stream', sizeBytes: 2 * 1024 ** 3, checksum: 'a'.repeat(64), storageKey: 'k/a' })
      .expect(201);
    const storage = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'free', billingInterval: 'monthly' });
    expectProblem(storage, 409);
    expect(storage.body.detail).toMatch(/stores 1 GB/);
    const unchanged = await api(org.owner, org).get('/api/v1/billing/subscription').expect(200);
    expect(unchanged.body.scheduledChange).toBeNull();
  });

  test('enterprise cannot be chosen here, and free has no annual billing', async () => {
    const org = await newOrg();
    const enterprise = await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'enterprise', billingInterval: 'monthly' });
    expectProblem(enterprise, 422);
    expect(enterprise.body.detail).toMatch(/sales team/);
    expectProblem(await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'free', billingInterval: 'annually' }), 422);
    expectProblem(await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'gold', billingInterval: 'monthly' }), 400);
    expectProblem(await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro' }), 400);
  });

  test('cancel at period end, then resume', async () => {
    const org = await newOrg();
    expectProblem(await api(org.owner, org).post('/api/v1/billing/subscription/cancel'), 409);
    await arrangePlan(org.id, 'pro', 'monthly', 5, 25);
    await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'free', billingInterval: 'monthly' }).expect(409); // 3 members
    const cancelled = await api(org.admin, org).post('/api/v1/billing/subscription/cancel').expect(200);
    expect(cancelled.body).toMatchObject({ planId: 'pro', cancelAtPeriodEnd: true });
    expectProblem(await api(org.admin, org).post('/api/v1/billing/subscription/cancel'), 409);
    const resumed = await api(org.admin, org).post('/api/v1/billing/subscription/resume').expect(200);
    expect(resumed.body.cancelAtPeriodEnd).toBe(false);
    expectProblem(await api(org.admin, org).post('/api/v1/billing/subscription/resume'), 409);
  });

  test('plain members and outsiders cannot change the plan; nothing changes', async () => {
    const org = await newOrg();
    const outsider = await newUser(t.app, 'outsider');
    const change = { planId: 'pro', billingInterval: 'monthly' };
    const res = await api(org.member, org).post('/api/v1/billing/subscription/change').send(change);
    expectProblem(res, 403);
    expect(res.body.detail).toMatch(/owners and admins/);
    expectProblem(await api(org.member, org).post('/api/v1/billing/subscription/cancel'), 403);
    expectProblem(await api(org.member, org).post('/api/v1/billing/subscription/resume'), 403);
    for (const path of ['change', 'cancel', 'resume']) {
      expectProblem(await api(outsider, org).post(`/api/v1/billing/subscription/${path}`).send(change), 404);
    }
    expectProblem(await api(outsider, org).get('/api/v1/billing/subscription'), 404);
    expect(await planTier(org.id)).toBe('free');
    // The database says the same to anyone writing directly (as through Supabase's
    // Data API): a member reaches no subscription, and not even an owner may set the
    // plan or issue an invoice without the API's upgrade, which charges for it.
    const asDirectly = async (userId: string, sql: string) => {
      const direct = await t.pool.connect();
      try {
        await direct.query('begin');
        await direct.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: userId, role: 'authenticated' })]);
        await direct.query('set local role authenticated');
        await direct.query('select * from app.begin_request($1)', [org.id]);
        return await direct.query(sql, [org.id]);
      } finally {
        await direct.query('rollback');
        direct.release();
      }
    };
    const scheduled = await asDirectly(org.member.userId, 'update public.subscriptions set cancel_at_period_end = true where organization_id = $1');
    expect(scheduled.rowCount).toBe(0);
    for (const userId of [org.member.userId, org.owner.userId]) {
      await expect(asDirectly(userId, "update public.subscriptions set plan_id = 'teams' where organization_id = $1")).rejects.toThrow(/permission denied/);
      await expect(
        asDirectly(userId, "insert into public.invoices (organization_id, status, total, amount_due) values ($1, 'open', 0, 0)"),
      ).rejects.toThrow(/permission denied/);
    }
    expect(await planTier(org.id)).toBe('free');
  });

  test('service tokens are not users here', async () => {
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    const res = await request(t.app).get('/api/v1/billing/subscription').set('Authorization', `Bearer ${service}`);
    expectProblem(res, 403);
  });
});

describe('the end of a period', () => {
  async function endPeriodNow(orgId: string) {
    await t.admin.query(
      `update public.subscriptions set current_period_start = now() - interval '1 month' - interval '1 minute',
         current_period_end = now() - interval '1 minute' where organization_id = $1`,
      [orgId],
    );
    await withServiceTransaction(t.pool, 5000, (tx) => rollOverEndedPeriods(tx, 1000));
    return (await api((await orgOwner(orgId))!, orgId).get('/api/v1/billing/subscription').expect(200)).body;
  }
  const owners = new Map<string, TestUser>();
  const orgOwner = async (orgId: string) => owners.get(orgId);

  test('a scheduled downgrade applies, a renewal invoices the next period, a cancellation ends on free', async () => {
    const org = await newOrg();
    owners.set(org.id, org.owner);
    await arrangePlan(org.id, 'teams', 'monthly', 5, 25);
    await api(org.owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);

    const downgraded = await endPeriodNow(org.id);
    expect(downgraded).toMatchObject({ planId: 'pro', scheduledChange: null });
    expect(await planTier(org.id)).toBe('pro');
    const invoices = await api(org.owner, org).get('/api/v1/billing/invoices').expect(200);
    expect(invoices.body.data[0]).toMatchObject({ planId: 'pro', subtotal: '29.00', total: '35.09', status: 'open' });

    const renewed = await endPeriodNow(org.id);
    expect(renewed.planId).toBe('pro');
    expect((await api(org.owner, org).get('/api/v1/billing/invoices').expect(200)).body.total).toBe(2);

    await api(org.owner, org).post('/api/v1/billing/subscription/cancel').expect(200);
    const ended = await endPeriodNow(org.id);
    expect(ended).toMatchObject({ planId: 'free', cancelAtPeriodEnd: false, status: 'active' });
    expect(await planTier(org.id)).toBe('free');
    expect((await api(org.owner, org).get('/api/v1/billing/invoices').expect(200)).body.total).toBe(2);
  });
});

describe('payment methods', () => {
  const card = (cardLast4 = '4242') => ({ type: 'card', cardBrand: 'visa', cardLast4, cardExpMonth: 12, cardExpYear: 2030 });
  const sepa = { type: 'sepa_debit', sepaBankCode: 'ABNANL2A', sepaLast4: '4300', sepaCountry: 'NL' };

  test('the first becomes the default; a new default takes over; removing the default promotes another', async () => {
    const org = await newOrg();
    const first = await api(org.owner, org).post('/api/v1/billing/payment-methods').send(card()).expect(201);
    expect(first.body).toMatchObject({ type: 'card', cardBrand: 'visa', cardLast4: '4242', isDefault: true, sepaBankCode: null, sepaLast4: null });
    expect(first.headers.location).toBe(`/api/v1/billing/payment-methods/${first.body.id}`);
    const second = await api(org.admin, org).post('/api/v1/billing/payment-methods').send(sepa).expect(201);
    expect(second.body).toMatchObject({ type: 'sepa_debit', isDefault: false, sepaBankCode: 'ABNANL2A', sepaLast4: '4300', sepaCountry: 'NL', cardBrand: null, cardLast4: null });
    const third = await api(org.owner, org).post('/api/v1/billing/payment-methods').send({ ...card('1111'), isDefault: true }).expect(201);
    expect(third.body.isDefault).toBe(true);

    let list = await api(org.owner, org).get('/api/v1/billing/payment-methods').expect(200);
    expect(list.body.total).toBe(3);
    expect(list.body.data.filter((m: { isDefault: boolean }) => m.isDefault).map((m: { id: string }) => m.id)).toEqual([third.body.id]);

    const made = await api(org.owner, org).post(`/api/v1/billing/payment-methods/${second.body.id}/default`).expect(200);
    expect(made.body.isDefault).toBe(true);
    list = await api(org.owner, org).get('/api/v1/billing/payment-methods').expect(200);
    expect(list.body.data[0].id).toBe(second.body.id);
    expect(list.body.data.filter((m: { isDefault: boolean }) => m.isDefault)).toHaveLength(1);

    await api(org.owner, org).delete(`/api/v1/billing/payment-methods/${second.body.id}`).expect(204);
    list = await api(org.owner, org).get('/api/v1/billing/payment-methods').expect(200);
    expect(list.body.data.filter((m: { isDefault: boolean }) => m.isDefault).map((m: { id: string }) => m.id)).toEqual([third.body.id]);
  });

  test('the database keeps exactly one default, whoever writes', async () => {
    const org = await newOrg();
    await api(org.owner, org).post('/api/v1/billing/payment-methods').send(card()).expect(201);
    await api(org.owner, org).post('/api/v1/billing/payment-methods').send(card('1234')).expect(201);
    await expect(t.admin.query('update public.payment_methods set is_default = false where organization_id = $1 and is_default', [org.id])).rejects.toMatchObject({ code: '55000' });
    await expect(
      t.admin.query('update public.payment_methods set is_default = true where organization_id = $1', [org.id]),
    ).resolves.toBeDefined();
    const defaults = await t.admin.query('select count(*)::int as n from public.payment_methods where organization_id = $1 and is_default', [org.id]);
    expect(defaults.rows[0].n).toBe(1);
  });

  test('a full card number or IBAN in any field is refused with 422 and never stored', async () => {
    const org = await newOrg();
    const bodies = [
      { ...card(), cardLast4: '4242424242424242' },
      { ...card(), stripePaymentMethodId: '4111 1111 1111 1111' },
      { ...sepa, sepaBankCode: 'NL91ABNA0417164300' },
      { ...sepa, sepaCountry: 'NL91 ABNA 0417 1643 00' },
      { ...card(), unexpected: '5555-5555-5555-4444' },
    ];
    for (const body of bodies) {
      const res = await api(org.owner, org).post('/api/v1/billing/payment-methods').send(body);
      expectProblem(res, 422);
      expect(JSON.stringify(res.body)).not.toMatch(/4242424242424242|4111|NL91|5555/);
    }
    // Billing details too.
    expectProblem(await api(org.owner, org).put('/api/v1/billing/details').send({ addressLine2: 'IBAN NL91ABNA0417164300' }), 422);
    const stored = await t.admin.query('select count(*)::int as n from public.payment_methods where organization_id = $1', [org.id]);
    expect(stored.rows[0].n).toBe(0);
  });

  test('incomplete or mixed methods are 422; unknown fields 400', async () => {
    const org = await newOrg();
    expectProblem(await api(org.owner, org).post('/api/v1/billing/payment-methods').send({ type: 'card', cardLast4: '4242' }), 422);
    expectProblem(await api(org.owner, org).post('/api/v1/billing/payment-methods').send({ ...sepa, cardExpMonth: 1 }), 422);
    expectProblem(await api(org.owner, org).post('/api/v1/billing/payment-methods').send({ ...card(), cardLast4: '42' }), 422);
    expectProblem(await api(org.owner, org).post('/api/v1/billing/payment-methods').send({ ...card(), cvc: '123' }), 400);
  });

  test('the last method of a paid plan stays; on free it may go', async () => {
    const org = await newOrg();
    const only = await api(org.owner, org).post('/api/v1/billing/payment-methods').send(card()).expect(201);
    await arrangePlan(org.id, 'pro', 'monthly', 1, 29);
    const res = await api(org.owner, org).delete(`/api/v1/billing/payment-methods/${only.body.id}`);
    expectProblem(res, 409);
    expect(res.body.detail).toMatch(/last payment method/);
    await arrangePlan(org.id, 'free', 'monthly', 1, 29);
    await api(org.owner, org).delete(`/api/v1/billing/payment-methods/${only.body.id}`).expect(204);
    expectProblem(await api(org.owner, org).delete(`/api/v1/billing/payment-methods/${only.body.id}`), 404);
  });

  test('members see and change nothing; another organization cannot read, list, change or delete', async () => {
    const org = await newOrg();
    const other = await newOrg();
    const method = await api(org.owner, org).post('/api/v1/billing/payment-methods').send(card()).expect(201);
    expectProblem(await api(org.member, org).get('/api/v1/billing/payment-methods'), 403);
    expectProblem(await api(org.member, org).post('/api/v1/billing/payment-methods').send(card()), 403);
    expectProblem(await api(org.member, org).delete(`/api/v1/billing/payment-methods/${method.body.id}`), 403);
    expectProblem(await api(org.member, org).post(`/api/v1/billing/payment-methods/${method.body.id}/default`), 403);

    const list = await api(other.owner, other).get('/api/v1/billing/payment-methods').expect(200);
    expect(list.body.data).toEqual([]);
    expectProblem(await api(other.owner, other).delete(`/api/v1/billing/payment-methods/${method.body.id}`), 404);
    expectProblem(await api(other.owner, other).post(`/api/v1/billing/payment-methods/${method.body.id}/default`), 404);
    expectProblem(await api(other.owner, org).get('/api/v1/billing/payment-methods'), 404);
    const still = await t.admin.query('select is_default from public.payment_methods where id = $1', [method.body.id]);
    expect(still.rows).toEqual([{ is_default: true }]);
  });
});

describe('billing details', () => {
  test('empty until saved, then replaced as a whole', async () => {
    const org = await newOrg();
    const empty = await api(org.owner, org).get('/api/v1/billing/details').expect(200);
    expect(empty.body).toEqual({
      organizationId: org.id,
      userId: org.owner.userId,
      companyName: null,
      btwNumber: null,
      kvkNumber: null,
      addressLine1: null,
      addressLine2: null,
      city: null,
      postalCode: null,
      country: null,
      email: null,
      updatedAt: null,
    });
    const saved = await api(org.admin, org)
      .put('/api/v1/billing/details')
      .send({ companyName: 'Acme B.V.', btwNumber: 'nl 1234.56782 b01', kvkNumber: '12345678', addressLine1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 AA', country: 'nl', email: 'Billing@Acme.test' })
      .expect(200);
    expect(saved.body).toMatchObject({ btwNumber: 'NL123456782B01', country: 'NL', email: 'billing@acme.test', kvkNumber: '12345678' });
    expect(saved.body.updatedAt).toEqual(expect.any(String));
    const replaced = await api(org.owner, org).put('/api/v1/billing/details').send({ companyName: 'Acme Holding B.V.' }).expect(200);
    expect(replaced.body).toMatchObject({ companyName: 'Acme Holding B.V.', btwNumber: null, city: null });
  });

  test('a VAT number that does not check out is 422 with the reason; a bad KvK number 400', async () => {
    const org = await newOrg();
    const res = await api(org.owner, org).put('/api/v1/billing/details').send({ btwNumber: 'NL123456789B01', country: 'NL' });
    expectProblem(res, 422);
    expect(res.body.detail).toMatch(/check digits/);
    expectProblem(await api(org.owner, org).put('/api/v1/billing/details').send({ btwNumber: 'DE123456789', country: 'NL' }), 422);
    expectProblem(await api(org.owner, org).put('/api/v1/billing/details').send({ btwNumber: 'DE123456789' }), 422);
    expectProblem(await api(org.owner, org).put('/api/v1/billing/details').send({ kvkNumber: '1234567' }), 400);
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body.updatedAt).toBeNull();
  });

  test('members and other organizations see nothing', async () => {
    const org = await newOrg();
    const other = await newOrg();
    await api(org.owner, org).put('/api/v1/billing/details').send({ companyName: 'Secret B.V.' }).expect(200);
    expectProblem(await api(org.member, org).get('/api/v1/billing/details'), 403);
    expectProblem(await api(org.member, org).put('/api/v1/billing/details').send({ companyName: 'Mine' }), 403);
    expect((await api(other.owner, other).get('/api/v1/billing/details').expect(200)).body.companyName).toBeNull();
    expectProblem(await api(other.owner, org).get('/api/v1/billing/details'), 404);
    await api(other.owner, other).put('/api/v1/billing/details').send({ companyName: 'Other B.V.' }).expect(200);
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body.companyName).toBe('Secret B.V.');
  });
});

describe('PATCH /billing/details', () => {
  const full = {
    companyName: 'Acme B.V.',
    btwNumber: 'NL123456782B01',
    kvkNumber: '12345678',
    addressLine1: 'Keizersgracht 1',
    addressLine2: '2nd floor',
    city: 'Amsterdam',
    postalCode: '1015 AA',
    country: 'NL',
    email: 'billing@acme.test',
  };

  test('changes only the fields sent; null clears one; nothing sent changes nothing', async () => {
    const org = await newOrg();
    await api(org.owner, org).put('/api/v1/billing/details').send(full).expect(200);
    const patched = await api(org.admin, org).patch('/api/v1/billing/details').send({ city: 'Utrecht', addressLine2: null }).expect(200);
    expect(patched.body).toEqual({ ...full, organizationId: org.id, userId: org.owner.userId, city: 'Utrecht', addressLine2: null, updatedAt: expect.any(String) });
    const again = await api(org.owner, org).patch('/api/v1/billing/details').send({}).expect(200);
    expect(again.body).toMatchObject({ ...full, city: 'Utrecht', addressLine2: null });
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body).toMatchObject({ city: 'Utrecht', addressLine2: null, btwNumber: full.btwNumber });
  });

  test("the frontend's saves, one field at a time, build the details up from nothing", async () => {
    const org = await newOrg();
    await api(org.owner, org).patch('/api/v1/billing/details').send({ companyName: 'Step B.V.' }).expect(200);
    await api(org.owner, org).patch('/api/v1/billing/details').send({ country: 'NL' }).expect(200);
    const last = await api(org.owner, org).patch('/api/v1/billing/details').send({ btwNumber: 'nl123456782b01' }).expect(200);
    expect(last.body).toMatchObject({ companyName: 'Step B.V.', country: 'NL', btwNumber: 'NL123456782B01', city: null });
  });

  test('the result is checked whole: a country that no longer fits the kept VAT number is 422 and changes nothing', async () => {
    const org = await newOrg();
    await api(org.owner, org).put('/api/v1/billing/details').send(full).expect(200);
    const res = await api(org.owner, org).patch('/api/v1/billing/details').send({ country: 'DE', city: 'Berlin' });
    expectProblem(res, 422);
    expectProblem(await api(org.owner, org).patch('/api/v1/billing/details').send({ btwNumber: 'NL123456789B01' }), 422);
    expectProblem(await api(org.owner, org).patch('/api/v1/billing/details').send({ kvkNumber: '1234567' }), 400);
    expectProblem(await api(org.owner, org).patch('/api/v1/billing/details').send({ unknownField: 'x' }), 400);
    expectProblem(await api(org.owner, org).patch('/api/v1/billing/details').send({ addressLine2: 'IBAN NL91ABNA0417164300' }), 422);
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body).toMatchObject({ country: 'NL', city: 'Amsterdam', addressLine2: '2nd floor' });
  });

  test('a failed first save leaves no details behind', async () => {
    const org = await newOrg();
    expectProblem(await api(org.owner, org).patch('/api/v1/billing/details').send({ btwNumber: 'NL123456782B01' }), 422);
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body.updatedAt).toBeNull();
  });

  test('members may not, and another organization changes only its own', async () => {
    const org = await newOrg();
    const other = await newOrg();
    await api(org.owner, org).put('/api/v1/billing/details').send(full).expect(200);
    expectProblem(await api(org.member, org).patch('/api/v1/billing/details').send({ city: 'Mine' }), 403);
    expectProblem(await api(other.owner, org).patch('/api/v1/billing/details').send({ city: 'Theirs' }), 404);
    const theirs = await api(other.owner, other).patch('/api/v1/billing/details').send({ city: 'Rotterdam' }).expect(200);
    expect(theirs.body).toMatchObject({ organizationId: other.id, userId: other.owner.userId, city: 'Rotterdam', companyName: null });
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body).toMatchObject({ city: 'Amsterdam', companyName: 'Acme B.V.' });
  });

  test('two partial changes at once both land', async () => {
    const org = await newOrg();
    await Promise.all([
      api(org.owner, org).patch('/api/v1/billing/details').send({ companyName: 'Race B.V.' }).expect(200),
      api(org.admin, org).patch('/api/v1/billing/details').send({ city: 'Delft' }).expect(200),
    ]);
    expect((await api(org.owner, org).get('/api/v1/billing/details').expect(200)).body).toMatchObject({ companyName: 'Race B.V.', city: 'Delft' });
  });
});

describe('POST /billing/validate-btw', () => {
  test('says whether a Dutch VAT number is valid, by which scheme, or why not', async () => {
    const user = await newUser(t.app, 'btw');
    const valid = await as(t.app, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }).expect(200);
    expect(valid.body).toEqual({
      btwNumber: 'NL123456782B01',
      isValid: true,
      errorMessage: null,
      companyName: null,
      address: null,
      scheme: 'mod11',
      reasons: [],
      vies: 'not_checked',
    });
    const soleProprietor = await as(t.app, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL 0000.99998 B57' }).expect(200);
    expect(soleProprietor.body).toMatchObject({ btwNumber: 'NL000099998B57', isValid: true, scheme: 'mod97' });
    const wrong = await as(t.app, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456789B01' }).expect(200);
    expect(wrong.body).toMatchObject({ isValid: false, scheme: null, companyName: null, address: null });
    expect(wrong.body.reasons[0]).toMatch(/check digits/);
    expect(wrong.body.errorMessage).toBe(wrong.body.reasons.join(' '));
    const form = await as(t.app, user).post('/api/v1/billing/validate-btw').send({ btwNumber: '123' }).expect(200);
    expect(form.body.reasons.length).toBeGreaterThan(0);
    expectProblem(await as(t.app, user).post('/api/v1/billing/validate-btw').send({}), 400);
    expectProblem(await request(t.app).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }), 401);
  });
});

describe('the optional VIES check', () => {
  test('when enabled, VIES can reject a well-formed number; a slow VIES leaves the local verdict', async () => {
    let answer: 'valid' | 'invalid' | 'hang' = 'invalid';
    // What VIES says about the trader: Dutch numbers get "---" (the tax office shares nothing), others a name and address.
    let trader: { name: string; address: string } = { name: '---', address: '---' };
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        asked.push(raw);
        if (answer === 'hang') return; // never answers: the time limit must end the wait
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ valid: answer === 'valid', ...(answer === 'valid' ? trader : {}) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const vies = t.variant({
      billing: { config: { ...loadBillingConfig({}), viesCheck: true }, viesUrl: `http://127.0.0.1:${port}/check`, viesTimeoutMs: 300 },
    });
    try {
      const user = await newUser(vies, 'vies');
      const rejected = await as(vies, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }).expect(200);
      expect(rejected.body).toMatchObject({ isValid: false, scheme: 'mod11', vies: 'invalid', companyName: null });
      expect(JSON.parse(asked[0]!)).toEqual({ countryCode: 'NL', vatNumber: '123456782B01' });
      answer = 'valid';
      expect((await as(vies, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }).expect(200)).body).toMatchObject({
        isValid: true,
        vies: 'valid',
        errorMessage: null,
        companyName: null,
        address: null,
      });
      trader = { name: 'ACME B.V.', address: 'KEIZERSGRACHT 00001\n1015AA AMSTERDAM\n' };
      expect((await as(vies, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }).expect(200)).body).toMatchObject({
        isValid: true,
        companyName: 'ACME B.V.',
        address: 'KEIZERSGRACHT 00001, 1015AA AMSTERDAM',
      });
      answer = 'hang';
      expect((await as(vies, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }).expect(200)).body).toMatchObject({ isValid: true, vies: 'unavailable', companyName: null, address: null });
      // A number that fails locally is not sent anywhere.
      const before = asked.length;
      await as(vies, user).post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456789B01' }).expect(200);
      expect(asked.length).toBe(before);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the background task', () => {
  test('is registered under its name and rolls periods over like the function', async () => {
    const org = await newOrg();
    await t.admin.query(
      `update public.subscriptions set plan_id = 'pro', current_period_start = now() - interval '1 month' - interval '1 minute',
         current_period_end = now() - interval '1 minute' where organization_id = $1`,
      [org.id],
    );
    const task = billingPeriodsTask(t.pool, 5000);
    expect(task.name).toBe('billing-periods');
    while (await task.tick()) {
      // a full batch: there may be more
    }
    const res = await api(org.owner, org).get('/api/v1/billing/subscription').expect(200);
    expect(new Date(res.body.currentPeriodEnd).getTime()).toBeGreaterThan(Date.now());
    expect((await api(org.owner, org).get('/api/v1/billing/invoices').expect(200)).body.data[0]).toMatchObject({ planId: 'pro', subtotal: '29.00' });
  });
});
