import { addMember, as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

/*
 * The web frontend's billing types (types/settings/billing.ts of the frontend
 * repository), field by field: every field each interface declares is in our
 * JSON under that name with the JSON type it reads (a `Date` arrives as an
 * ISO string it can parse; money as the number in the unit it declares). An
 * optional field (`?`) may be null where we have no value; a required one
 * must hold a value. Requests are built with the frontend's field names.
 */

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'array' | 'object';
/** `?` after the type: the frontend declares the field optional. */
type Shape = Record<string, JsonType | `${JsonType}?`>;

function matches(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && !Number.isNaN(new Date(value).getTime());
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

/** Every field of the shape present, with its type; the names of the fields that are not, to show in a failure. */
function mismatches(body: Record<string, unknown>, shape: Shape): string[] {
  return Object.entries(shape).flatMap(([field, declared]) => {
    const optional = declared.endsWith('?');
    const type = declared.replace('?', '') as JsonType;
    if (!(field in body)) return [`${field}: missing`];
    const value = body[field];
    if (optional && value === null) return [];
    return matches(value, type) ? [] : [`${field}: ${JSON.stringify(value)} is not ${type}`];
  });
}

const PLAN: Shape = {
  id: 'string',
  name: 'string',
  price: 'number',
  annualPrice: 'number?',
  description: 'string',
  features: 'array',
  limits: 'object',
  isPopular: 'boolean?',
};
const PLAN_LIMITS: Shape = { apiCalls: 'integer', ingestions: 'integer', storageGb: 'integer', seats: 'integer', oracleQueries: 'integer' };
const SUBSCRIPTION: Shape = {
  id: 'string',
  userId: 'string',
  planId: 'string',
  status: 'string',
  billingInterval: 'string',
  stripeSubscriptionId: 'string?',
  currentPeriodStart: 'date',
  currentPeriodEnd: 'date',
  cancelAtPeriodEnd: 'boolean',
  trialEnd: 'date?',
  createdAt: 'date',
  updatedAt: 'date',
};
const PAYMENT_METHOD: Shape = {
  id: 'string',
  userId: 'string',
  type: 'string',
  stripePaymentMethodId: 'string',
  isDefault: 'boolean',
  cardBrand: 'string?',
  cardLast4: 'string?',
  cardExpMonth: 'integer?',
  cardExpYear: 'integer?',
  sepaBankCode: 'string?',
  sepaLast4: 'string?',
  sepaCountry: 'string?',
  createdAt: 'date',
};
const INVOICE: Shape = {
  id: 'string',
  userId: 'string',
  // Required in the frontend's type; ours is null for an invoice Stripe did not issue (see the test below).
  stripeInvoiceId: 'string?',
  invoiceNumber: 'string',
  status: 'string',
  amountDue: 'integer',
  amountPaid: 'integer',
  currency: 'string',
  description: 'string?',
  invoiceUrl: 'string?',
  pdfUrl: 'string?',
  periodStart: 'date',
  periodEnd: 'date',
  dueDate: 'date?',
  paidAt: 'date?',
  createdAt: 'date',
};
const USAGE_METRIC: Shape = { type: 'string', current: 'number', limit: 'number', percentage: 'number', trend: 'array' };
const USAGE_DATA_POINT: Shape = { date: 'date', value: 'number' };
const BILLING_DETAILS: Shape = {
  userId: 'string',
  companyName: 'string?',
  btwNumber: 'string?',
  kvkNumber: 'string?',
  addressLine1: 'string?',
  addressLine2: 'string?',
  city: 'string?',
  postalCode: 'string?',
  country: 'string',
  updatedAt: 'date',
};
const BTW_VALIDATION_RESULT: Shape = { isValid: 'boolean', companyName: 'string?', address: 'string?', errorMessage: 'string?' };

/** The frontend's unit label of each metric (USAGE_METRIC_LABELS). */
const FRONTEND_UNITS: Record<string, string> = {
  api_calls: 'calls',
  ingestions: 'imports',
  storage: 'GB',
  seats: 'members',
  oracle_queries: 'queries/day',
};

let t: TestApp;
let owner: TestUser;
let organizationId: string;
beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'fe-billing-owner');
  organizationId = await newOrganization(t.app, owner, 'Frontend billing');
});
afterAll(() => t.close());

const api = () => as(t.app, owner, organizationId);

/** "35.09" -> 3509, by the digits alone (no float in between). */
const centsOf = (amount: string) => Number(amount.replace('.', ''));

test('Plan: price and annualPrice are EUR per month as numbers (24 for Pro billed annually), with every other field', async () => {
  const res = await api().get('/api/v1/plans').expect(200);
  expect(res.body.data).toHaveLength(4);
  for (const plan of res.body.data) {
    expect(mismatches(plan, PLAN)).toEqual([]);
    expect(mismatches(plan.limits, PLAN_LIMITS)).toEqual([]);
    expect(plan.features.every((feature: unknown) => typeof feature === 'string')).toBe(true);
    // The number and our exact string are the same amount.
    expect(plan.price).toBe(Number(plan.monthlyPrice));
    expect(plan.annualPrice).toBe(plan.annualMonthlyPrice === null ? null : Number(plan.annualMonthlyPrice));
  }
  const byId = Object.fromEntries(res.body.data.map((plan: { id: string }) => [plan.id, plan]));
  expect(byId.pro).toMatchObject({ price: 29, annualPrice: 24, annualTotalPrice: '288.00', isPopular: true });
  expect(byId.teams).toMatchObject({ price: 79, annualPrice: 66 });
  expect(byId.free).toMatchObject({ price: 0, annualPrice: null });
  expect(byId.enterprise).toMatchObject({ price: -1, annualPrice: null });
});

test("Subscription: every field, stripeSubscriptionId instead of a provider id, userId the organization's owner", async () => {
  const res = await api().get('/api/v1/billing/subscription').expect(200);
  expect(mismatches(res.body, SUBSCRIPTION)).toEqual([]);
  expect(res.body).toMatchObject({ userId: owner.userId, stripeSubscriptionId: null });
  expect(res.body).not.toHaveProperty('providerSubscriptionId');
});

test("PaymentMethod: a card and a SEPA mandate added with the frontend's names come back under them", async () => {
  // What the frontend's PaymentMethod holds, less what the server assigns (id, userId, createdAt).
  const card = {
    type: 'card',
    stripePaymentMethodId: 'pm_frontend_card',
    isDefault: true,
    cardBrand: 'visa',
    cardLast4: '4242',
    cardExpMonth: 12,
    cardExpYear: 2027,
  };
  const sepa = {
    type: 'sepa_debit',
    stripePaymentMethodId: 'pm_frontend_sepa',
    isDefault: false,
    sepaBankCode: 'INGBNL2A',
    sepaLast4: '3456',
    sepaCountry: 'NL',
  };
  const addedCard = await api().post('/api/v1/billing/payment-methods').send(card).expect(201);
  const addedSepa = await api().post('/api/v1/billing/payment-methods').send(sepa).expect(201);
  for (const added of [addedCard.body, addedSepa.body]) {
    expect(mismatches(added, PAYMENT_METHOD)).toEqual([]);
    expect(added.userId).toBe(owner.userId);
  }
  expect(addedCard.body).toMatchObject({ ...card, sepaBankCode: null, sepaLast4: null, sepaCountry: null });
  expect(addedSepa.body).toMatchObject({ ...sepa, cardBrand: null, cardLast4: null, cardExpMonth: null, cardExpYear: null });
  const list = await api().get('/api/v1/billing/payment-methods').expect(200);
  expect(list.body.data.map((method: { stripePaymentMethodId: string }) => method.stripePaymentMethodId)).toEqual(['pm_frontend_card', 'pm_frontend_sepa']);
  for (const method of list.body.data) expect(mismatches(method, PAYMENT_METHOD)).toEqual([]);
});

test('Invoice: amountDue and amountPaid in integer euro cents, exactly our decimal amounts, with every other field', async () => {
  const change = await api().post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
  const issued = change.body.invoice;
  expect(issued).not.toBeNull();
  const list = await api().get('/api/v1/billing/invoices').expect(200);
  const invoice = list.body.data.find((item: { id: string }) => item.id === issued.id);
  expect(mismatches(invoice, INVOICE)).toEqual([]);
  expect(invoice.userId).toBe(owner.userId);
  // Pro is 29.00 a month, 35.09 with Dutch VAT: 3509 cents due, nothing paid yet.
  expect(invoice).toMatchObject({ amountDue: 3509, amountDueEur: '35.09', amountPaid: 0, amountPaidEur: '0.00', stripeInvoiceId: null });
  expect(invoice.amountDue).toBe(centsOf(invoice.amountDueEur));
  expect(invoice.amountDue).toBe(centsOf(invoice.total));
  expect(invoice).not.toHaveProperty('providerInvoiceId');
  const one = await api().get(`/api/v1/billing/invoices/${invoice.id}`).expect(200);
  expect(mismatches(one.body, INVOICE)).toEqual([]);
  expect(one.body.amountDue).toBe(3509);
});

test("UsageMetric: the list the frontend renders is `metrics`, each with its fields and the frontend's unit label", async () => {
  const res = await api().get('/api/v1/billing/usage').expect(200);
  expect(Array.isArray(res.body.metrics)).toBe(true);
  expect(res.body.metrics.map((metric: { type: string }) => metric.type)).toEqual(Object.keys(FRONTEND_UNITS));
  for (const metric of res.body.metrics) {
    expect(mismatches(metric, USAGE_METRIC)).toEqual([]);
    expect(metric.unit).toBe(FRONTEND_UNITS[metric.type]);
    expect(metric.trend.length).toBeGreaterThan(0);
    for (const point of metric.trend) expect(mismatches(point, USAGE_DATA_POINT)).toEqual([]);
  }
});

test("BillingDetails: the frontend's partial saves (one field at a time) are accepted, and the result has every field", async () => {
  const admin = await newUser(t.app, 'fe-billing-admin');
  await addMember(t, organizationId, admin, 'admin');
  // As the frontend's form saves: `onSave({ [field]: value })`, field by field.
  const saves: Array<Record<string, string>> = [
    { companyName: 'Hypervisa B.V.' },
    { country: 'NL' },
    { btwNumber: 'NL123456782B01' },
    { kvkNumber: '12345678' },
    { addressLine1: 'Herengracht 100' },
    { addressLine2: '' },
    { city: 'Amsterdam' },
    { postalCode: '1015 BS' },
  ];
  for (const save of saves) await as(t.app, admin, organizationId).patch('/api/v1/billing/details').send(save).expect(200);
  const res = await api().get('/api/v1/billing/details').expect(200);
  expect(mismatches(res.body, BILLING_DETAILS)).toEqual([]);
  expect(res.body).toMatchObject({
    userId: owner.userId,
    companyName: 'Hypervisa B.V.',
    btwNumber: 'NL123456782B01',
    kvkNumber: '12345678',
    addressLine1: 'Herengracht 100',
    addressLine2: null,
    city: 'Amsterdam',
    postalCode: '1015 BS',
    country: 'NL',
  });
});

test('BtwValidationResult: isValid and errorMessage (companyName and address null without VIES)', async () => {
  const valid = await api().post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456782B01' }).expect(200);
  expect(mismatches(valid.body, BTW_VALIDATION_RESULT)).toEqual([]);
  expect(valid.body).toMatchObject({ isValid: true, errorMessage: null, companyName: null, address: null });
  const invalid = await api().post('/api/v1/billing/validate-btw').send({ btwNumber: 'NL123456789B01' }).expect(200);
  expect(mismatches(invalid.body, BTW_VALIDATION_RESULT)).toEqual([]);
  expect(invalid.body.isValid).toBe(false);
  expect(invalid.body.errorMessage).toEqual(expect.stringMatching(/check digits/));
  expect(valid.body).not.toHaveProperty('valid');
});
