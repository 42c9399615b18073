import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import Stripe from 'stripe';
import { loadBillingConfig } from '../src/config';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

const SECRET_KEY = 'sk_test_local';
const WEBHOOK_SECRET = 'whsec_test_local';

/** A stand-in for api.stripe.com on localhost: records each request and answers like Checkout. */
interface FakeStripe {
  port: number;
  requests: Array<{ method: string; path: string; body: URLSearchParams; authorization: string | undefined; idempotencyKey: string | undefined }>;
  close(): Promise<void>;
}

async function fakeStripe(): Promise<FakeStripe> {
  const requests: FakeStripe['requests'] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      requests.push({
        method: req.method!,
        path: req.url!,
        body: new URLSearchParams(raw),
        authorization: req.headers.authorization,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'cs_test_123', object: 'checkout.session', url: 'https://checkout.stripe.com/c/pay/cs_test_123' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let plain: TestApp;
let paid: TestApp;
let fake: FakeStripe;
let stripe: Stripe;

beforeAll(async () => {
  fake = await fakeStripe();
  stripe = new Stripe(SECRET_KEY, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
  plain = createTestApp();
  paid = createTestApp({
    billing: {
      config: { ...loadBillingConfig({}), stripeSecretKey: SECRET_KEY, stripeWebhookSecret: WEBHOOK_SECRET, webAppUrl: 'https://app.example.test' },
      stripe,
    },
  });
});
afterAll(async () => {
  await plain.close();
  await paid.close();
  await fake.close();
});

interface Org {
  id: string;
  owner: TestUser;
  member: TestUser;
}

async function newOrg(t: TestApp): Promise<Org> {
  const owner = await newUser(t.app, 'stripe-owner');
  const member = await newUser(t.app, 'stripe-member');
  const id = await newOrganization(t.app, owner, 'Stripe');
  await addMember(t, id, member, 'member');
  return { id, owner, member };
}

describe('without Stripe configured', () => {
  test('checkout answers 503 "payments are not configured" to managers, 403 to members', async () => {
    const org = await newOrg(plain);
    const res = await as(plain.app, org.owner, org.id).post('/api/v1/billing/checkout').send({ planId: 'pro', billingInterval: 'monthly' });
    expectProblem(res, 503);
    expect(res.body.detail).toMatch(/Payments are not configured/);
    expectProblem(await as(plain.app, org.member, org.id).post('/api/v1/billing/checkout').send({ planId: 'pro', billingInterval: 'monthly' }), 403);
  });

  test('the webhook answers 503 and records nothing', async () => {
    const id = `evt_${randomUUID()}`;
    const payload = JSON.stringify({ id, type: 'invoice.paid', created: 1, data: { object: {} } });
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const res = await request(plain.app).post('/api/v1/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', header).send(payload);
    expectProblem(res, 503);
    expect((await plain.admin.query('select 1 from public.payment_provider_events where id = $1', [id])).rowCount).toBe(0);
  });
});

describe('checkout with Stripe configured', () => {
  test('sends Stripe a subscription session for the plan in whole cents, with card, iDEAL and SEPA', async () => {
    const org = await newOrg(paid);
    fake.requests.length = 0;
    const res = await as(paid.app, org.owner, org.id).post('/api/v1/billing/checkout').send({ planId: 'teams', billingInterval: 'annually' }).expect(201);
    expect(res.body).toEqual({ id: 'cs_test_123', url: 'https://checkout.stripe.com/c/pay/cs_test_123' });
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/checkout/sessions');
    expect(sent.authorization).toBe(`Bearer ${SECRET_KEY}`);
    const form = Object.fromEntries(sent.body.entries());
    expect(form).toMatchObject({
      mode: 'subscription',
      'allowed_payment_method_types[0]': 'card',
      'allowed_payment_method_types[1]': 'ideal',
      'allowed_payment_method_types[2]': 'sepa_debit',
      'line_items[0][quantity]': '1',
      'line_items[0][price_data][currency]': 'eur',
      'line_items[0][price_data][unit_amount]': '79200',
      'line_items[0][price_data][recurring][interval]': 'year',
      client_reference_id: org.id,
      'metadata[organizationId]': org.id,
      'metadata[planId]': 'teams',
      'subscription_data[metadata][organizationId]': org.id,
      'subscription_data[metadata][billingInterval]': 'annually',
    });
    expect(form.success_url).toMatch(/^https:\/\/app\.example\.test\/billing\?checkout=success/);
  });

  test('every call carries an Idempotency-Key derived from what it asks: the same checkout twice is one key, another plan another', async () => {
    const org = await newOrg(paid);
    fake.requests.length = 0;
    const owner = as(paid.app, org.owner, org.id);
    await owner.post('/api/v1/billing/checkout').send({ planId: 'pro', billingInterval: 'monthly' }).expect(201);
    await owner.post('/api/v1/billing/checkout').send({ planId: 'pro', billingInterval: 'monthly' }).expect(201);
    await owner.post('/api/v1/billing/checkout').send({ planId: 'teams', billingInterval: 'monthly' }).expect(201);
    const other = await newOrg(paid);
    await as(paid.app, other.owner, other.id).post('/api/v1/billing/checkout').send({ planId: 'pro', billingInterval: 'monthly' }).expect(201);
    const keys = fake.requests.map((sent) => sent.idempotencyKey);
    expect(keys).toHaveLength(4);
    for (const key of keys) expect(key).toMatch(/^checkout-session:[0-9a-f]{64}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(keys[3]).not.toBe(keys[0]);
  });

  test('enterprise and free cannot be bought; members may not start one', async () => {
    const org = await newOrg(paid);
    fake.requests.length = 0;
    expectProblem(await as(paid.app, org.owner, org.id).post('/api/v1/billing/checkout').send({ planId: 'enterprise', billingInterval: 'monthly' }), 422);
    expectProblem(await as(paid.app, org.owner, org.id).post('/api/v1/billing/checkout').send({ planId: 'free', billingInterval: 'monthly' }), 422);
    expectProblem(await as(paid.app, org.member, org.id).post('/api/v1/billing/checkout').send({ planId: 'pro', billingInterval: 'monthly' }), 403);
    expect(fake.requests).toHaveLength(0);
  });

  test('upgrades go through checkout, not the direct change', async () => {
    const org = await newOrg(paid);
    const res = await as(paid.app, org.owner, org.id).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' });
    expectProblem(res, 409);
    expect(res.body.detail).toMatch(/checkout/);
  });
});

describe('the Stripe webhook', () => {
  const NOW = () => Math.floor(Date.now() / 1000);

  function event(type: string, object: Record<string, unknown>, created = NOW(), id = `evt_${randomUUID().replace(/-/g, '')}`) {
    return { id, object: 'event', type, created, api_version: '2026-10-28.endive', data: { object } };
  }

  function deliver(body: object, options: { secret?: string; timestamp?: number; signature?: string | null } = {}) {
    const payload = JSON.stringify(body);
    const header =
      options.signature === undefined
        ? stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? WEBHOOK_SECRET, timestamp: options.timestamp })
        : options.signature;
    const req = request(paid.app).post('/api/v1/webhooks/stripe').set('Content-Type', 'application/json');
    if (header !== null) req.set('Stripe-Signature', header);
    return req.send(payload);
  }

  function subscriptionObject(orgId: string, overrides: Record<string, unknown> = {}) {
    const start = NOW() - 3600;
    return {
      id: `sub_${orgId.slice(0, 8)}`,
      object: 'subscription',
      customer: `cus_${orgId.slice(0, 8)}`,
      status: 'active',
      cancel_at_period_end: false,
      trial_end: null,
      metadata: { organizationId: orgId, planId: 'teams', billingInterval: 'monthly' },
      items: { data: [{ price: { recurring: { interval: 'month' } }, current_period_start: start, current_period_end: start + 30 * 86400 }] },
      ...overrides,
    };
  }

  const subscriptionRow = async (orgId: string) =>
    (
      await paid.admin.query(
        `select s.plan_id, s.status, s.provider_subscription_id, s.provider_customer_id, s.cancel_at_period_end, o.plan_tier
         from public.subscriptions s join public.organizations o on o.id = s.organization_id where s.organization_id = $1`,
        [orgId],
      )
    ).rows[0];

  test('a signed subscription event starts the plan; the same event again changes nothing', async () => {
    const org = await newOrg(paid);
    const created = event('customer.subscription.created', subscriptionObject(org.id));
    const first = await deliver(created).expect(200);
    expect(first.body).toEqual({ received: true, duplicate: false });
    expect(await subscriptionRow(org.id)).toMatchObject({
      plan_id: 'teams',
      plan_tier: 'teams',
      status: 'active',
      provider_subscription_id: `sub_${org.id.slice(0, 8)}`,
      provider_customer_id: `cus_${org.id.slice(0, 8)}`,
    });
    const visible = await as(paid.app, org.member, org.id).get('/api/v1/billing/subscription').expect(200);
    expect(visible.body.stripeSubscriptionId).toBe(`sub_${org.id.slice(0, 8)}`);

    // Something changes meanwhile; the re-delivered event must not undo it.
    await paid.admin.query("update public.subscriptions set status = 'past_due' where organization_id = $1", [org.id]);
    const again = await deliver(created).expect(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    expect((await subscriptionRow(org.id)).status).toBe('past_due');

    // A subscription billed by Stripe is changed there, not here.
    expectProblem(await as(paid.app, org.owner, org.id).post('/api/v1/billing/subscription/cancel'), 409);
  });

  test('bad, missing and stale signatures are 400 and change nothing', async () => {
    const org = await newOrg(paid);
    const body = event('customer.subscription.created', subscriptionObject(org.id));
    expectProblem(await deliver(body, { secret: 'whsec_wrong' }), 400);
    expectProblem(await deliver(body, { signature: null }), 400);
    expectProblem(await deliver(body, { signature: 't=1,v1=deadbeef' }), 400);
    // Signed correctly but an hour ago: a replay outside the tolerance.
    expectProblem(await deliver(body, { timestamp: NOW() - 3600 }), 400);
    // The body altered after signing.
    const payload = JSON.stringify(body);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const altered = payload.replace('"teams"', '"pro"');
    expectProblem(
      await request(paid.app).post('/api/v1/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', header).send(altered),
      400,
    );
    expect(await subscriptionRow(org.id)).toMatchObject({ plan_id: 'free', provider_subscription_id: null });
    const recorded = await paid.admin.query('select 1 from public.payment_provider_events where id = $1', [body.id]);
    expect(recorded.rowCount).toBe(0);
  });

  test('an older subscription event arriving late never overwrites a newer one', async () => {
    const org = await newOrg(paid);
    const t0 = NOW() - 100;
    await deliver(event('customer.subscription.created', subscriptionObject(org.id), t0)).expect(200);
    await deliver(event('customer.subscription.updated', subscriptionObject(org.id, { status: 'past_due', cancel_at_period_end: true }), t0 + 20)).expect(200);
    // Stripe retried an earlier update only now.
    const late = await deliver(event('customer.subscription.updated', subscriptionObject(org.id, { status: 'active' }), t0 + 10)).expect(200);
    expect(late.body.duplicate).toBe(false);
    expect(await subscriptionRow(org.id)).toMatchObject({ status: 'past_due', cancel_at_period_end: true, plan_id: 'teams' });

    await deliver(event('customer.subscription.deleted', subscriptionObject(org.id, { status: 'canceled' }), t0 + 30)).expect(200);
    expect(await subscriptionRow(org.id)).toMatchObject({ plan_id: 'free', plan_tier: 'free', status: 'active', provider_subscription_id: null });
    // An update from before the deletion changes nothing.
    await deliver(event('customer.subscription.updated', subscriptionObject(org.id), t0 + 25)).expect(200);
    expect(await subscriptionRow(org.id)).toMatchObject({ plan_id: 'free', provider_subscription_id: null });
  });

  test('invoice events: finalized, paid, payment_failed, in any order, with our numbers', async () => {
    const org = await newOrg(paid);
    const t0 = NOW() - 100;
    await deliver(event('customer.subscription.created', subscriptionObject(org.id), t0)).expect(200);
    const invoice = (overrides: Record<string, unknown> = {}) => ({
      id: `in_${org.id.slice(0, 8)}`,
      object: 'invoice',
      customer: `cus_${org.id.slice(0, 8)}`,
      number: 'STRIPE-0001',
      status: 'open',
      total: 9559,
      tax: 1659,
      amount_due: 9559,
      amount_paid: 0,
      hosted_invoice_url: 'https://invoice.stripe.com/i/test',
      period_start: t0,
      period_end: t0 + 30 * 86400,
      lines: { data: [{ description: 'Teams plan', amount: 7900 }] },
      parent: { subscription_details: { subscription: `sub_${org.id.slice(0, 8)}` } },
      ...overrides,
    });
    await deliver(event('invoice.finalized', invoice(), t0 + 1)).expect(200);
    const list = await as(paid.app, org.owner, org.id).get('/api/v1/billing/invoices').expect(200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({
      status: 'open',
      subtotal: '79.00',
      vatAmount: '16.59',
      total: '95.59',
      amountDue: 9559,
      amountDueEur: '95.59',
      stripeInvoiceId: `in_${org.id.slice(0, 8)}`,
      invoiceUrl: 'https://invoice.stripe.com/i/test',
    });
    expect(list.body.data[0].invoiceNumber).toMatch(/^INV-\d{4}-\d{6}$/);

    await deliver(event('invoice.payment_failed', invoice(), t0 + 2)).expect(200);
    expect((await subscriptionRow(org.id)).status).toBe('past_due');
    await deliver(event('invoice.paid', invoice({ status: 'paid', amount_paid: 9559, status_transitions: { paid_at: t0 + 3 } }), t0 + 3)).expect(200);
    expect((await subscriptionRow(org.id)).status).toBe('active');
    // A late payment_failed (older) or a re-sent finalized never makes a paid invoice open again.
    await deliver(event('invoice.payment_failed', invoice(), t0 + 2)).expect(200);
    await deliver(event('invoice.finalized', invoice(), t0 + 4)).expect(200);
    const after = await as(paid.app, org.owner, org.id).get('/api/v1/billing/invoices').expect(200);
    expect(after.body.data).toHaveLength(1);
    expect(after.body.data[0]).toMatchObject({ status: 'paid', amountPaid: 9559, amountPaidEur: '95.59' });
    expect((await subscriptionRow(org.id)).status).toBe('active');
  });

  test('payment methods attached and detached; a late attachment does not bring one back', async () => {
    const org = await newOrg(paid);
    const t0 = NOW() - 100;
    await deliver(event('customer.subscription.created', subscriptionObject(org.id), t0)).expect(200);
    const method = {
      id: `pm_${org.id.slice(0, 8)}`,
      object: 'payment_method',
      type: 'card',
      customer: `cus_${org.id.slice(0, 8)}`,
      card: { brand: 'mastercard', last4: '4444', exp_month: 3, exp_year: 2031, country: 'NL' },
    };
    const attached = event('payment_method.attached', method, t0 + 1);
    await deliver(attached).expect(200);
    const list = await as(paid.app, org.owner, org.id).get('/api/v1/billing/payment-methods').expect(200);
    expect(list.body.data).toEqual([
      expect.objectContaining({ type: 'card', cardBrand: 'mastercard', cardLast4: '4444', cardCountry: 'NL', sepaCountry: null, isDefault: true, stripePaymentMethodId: method.id }),
    ]);
    await deliver(event('payment_method.detached', { ...method, customer: null }, t0 + 5)).expect(200);
    // Stripe re-sends an attachment from before the detachment, as a new delivery of a different event.
    await deliver(event('payment_method.attached', method, t0 + 2)).expect(200);
    expect((await as(paid.app, org.owner, org.id).get('/api/v1/billing/payment-methods').expect(200)).body.data).toEqual([]);
  });

  test('events about unknown customers or of other types are acknowledged and ignored', async () => {
    const res = await deliver(event('customer.created', { id: 'cus_unknown' })).expect(200);
    expect(res.body.duplicate).toBe(false);
    await deliver(event('invoice.paid', { id: 'in_unknown', customer: 'cus_nobody', total: 100 })).expect(200);
    const stored = await paid.admin.query("select 1 from public.invoices where provider_invoice_id = 'in_unknown'");
    expect(stored.rowCount).toBe(0);
  });
});
