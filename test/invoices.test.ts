import request from 'supertest';
import pg from 'pg';
import { mintToken } from '../src/auth/demo-users';
import { issueInvoice } from '../src/billing/invoices/issue';
import { money } from '../src/billing/money';
import { withServiceTransaction } from '../src/db/transaction';
import { addMember, appDatabaseUrl, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

let t: TestApp;
let owner: TestUser;
let member: TestUser;
let orgId: string;
let serviceToken: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'inv-owner');
  member = await newUser(t.app, 'inv-member');
  orgId = await newOrganization(t.app, owner, 'Invoices');
  await addMember(t, orgId, member, 'member');
  serviceToken = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgId) => as(t.app, user, org);

/** An upgrade from free to pro monthly: one open invoice of 29.00 net. */
async function upgradeInvoice(user: TestUser, org: string) {
  const res = await api(user, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
  return res.body.invoice;
}

const binary = (res: request.Response, callback: (error: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
};

/** The text a PDF shows: pdfkit writes it as hex strings inside TJ arrays, one array per run of text. */
function pdfText(pdf: Buffer): string[] {
  const source = pdf.toString('latin1');
  return [...source.matchAll(/\[([^\]]*)\] TJ/g)].map((match) =>
    [...match[1]!.matchAll(/<([0-9a-f]+)>/g)].map((hex) => Buffer.from(hex[1]!, 'hex').toString('latin1')).join(''),
  );
}

describe('invoices', () => {
  let invoice: { id: string; invoiceNumber: string };

  beforeAll(async () => {
    await api(owner).put('/api/v1/billing/details').send({ companyName: 'Acme B.V.', btwNumber: 'NL123456782B01', kvkNumber: '12345678', addressLine1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 AA', country: 'NL' }).expect(200);
    invoice = await upgradeInvoice(owner, orgId);
  });

  test('list (page envelope, newest first, status filter) and one invoice with its lines', async () => {
    const list = await api(owner).get('/api/v1/billing/invoices').expect(200);
    expect(list.body).toMatchObject({ total: 1, page: 1, pageSize: 20, hasMore: false, totalExact: true });
    expect(list.body.data[0]).toMatchObject({
      id: invoice.id,
      status: 'open',
      subtotal: '29.00',
      vatAmount: '6.09',
      total: '35.09',
      pdfUrl: `/api/v1/billing/invoices/${invoice.id}/pdf`,
      invoiceUrl: null,
      stripeInvoiceId: null,
    });
    expect(list.body.data[0].lines).toBeUndefined();
    expect(list.body.data[0].dueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((await api(owner).get('/api/v1/billing/invoices?status=paid').expect(200)).body.total).toBe(0);
    expect((await api(owner).get('/api/v1/billing/invoices?status=open').expect(200)).body.total).toBe(1);
    expectProblem(await api(owner).get('/api/v1/billing/invoices?status=late'), 400);

    const one = await api(owner).get(`/api/v1/billing/invoices/${invoice.id}`).expect(200);
    expect(one.body.lines).toEqual([
      expect.objectContaining({ position: 1, description: 'Pro plan (monthly)', quantity: 1, unitAmount: '29.00', amount: '29.00' }),
    ]);
  });

  test('the PDF opens and shows the number, the customer, the lines, VAT and totals', async () => {
    const res = await api(owner).get(`/api/v1/billing/invoices/${invoice.id}/pdf`).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toBe(`inline; filename="${invoice.invoiceNumber}.pdf"`);
    const pdf = res.body as Buffer;
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.toString('latin1').trimEnd().endsWith('%%EOF')).toBe(true);
    // The cross-reference table points at real objects: the document is whole.
    const source = pdf.toString('latin1');
    const startxref = Number(/startxref\s+(\d+)/.exec(source)![1]);
    expect(source.slice(startxref, startxref + 4)).toBe('xref');
    const text = pdfText(pdf).join('\n');
    expect(text).toContain(`Invoice number: ${invoice.invoiceNumber}`);
    expect(text).toContain('Acme B.V.');
    expect(text).toContain('VAT NL123456782B01');
    expect(text).toContain('Pro plan (monthly)');
    expect(text).toContain('VAT 21.00%');
    expect(text).toContain('EUR 6.09');
    expect(text).toContain('EUR 35.09');
    expect(text).toContain('DevTools B.V.');
  });

  test('a reverse-charge invoice says so on the PDF', async () => {
    const germanOwner = await newUser(t.app, 'de');
    const german = await newOrganization(t.app, germanOwner, 'GmbH');
    await api(germanOwner, german).put('/api/v1/billing/details').send({ companyName: 'Muster GmbH', btwNumber: 'DE123456789', country: 'DE' }).expect(200);
    const reverse = await upgradeInvoice(germanOwner, german);
    const res = await api(germanOwner, german).get(`/api/v1/billing/invoices/${reverse.id}/pdf`).buffer(true).parse(binary).expect(200);
    const text = pdfText(res.body).join(' ');
    expect(text).toMatch(/reverse-charged/);
    expect(text).toContain('VAT 0.00%');
  });

  test('mark-paid: service tokens only; open becomes paid once; a past_due subscription is active again', async () => {
    const other = await newUser(t.app, 'mp');
    const org = await newOrganization(t.app, other, 'Paid');
    const open = await upgradeInvoice(other, org);
    await t.admin.query("update public.subscriptions set status = 'past_due' where organization_id = $1", [org]);

    expectProblem(await api(other, org).post(`/api/v1/billing/invoices/${open.id}/mark-paid`), 403);
    const paid = await request(t.app).post(`/api/v1/billing/invoices/${open.id}/mark-paid`).set('Authorization', `Bearer ${serviceToken}`).expect(200);
    expect(paid.body).toMatchObject({ id: open.id, status: 'paid', amountPaid: 3509, amountDue: 3509, amountPaidEur: '35.09', amountDueEur: '35.09' });
    expect(paid.body.paidAt).toEqual(expect.any(String));
    const again = await request(t.app).post(`/api/v1/billing/invoices/${open.id}/mark-paid`).set('Authorization', `Bearer ${serviceToken}`).expect(200);
    expect(again.body.paidAt).toBe(paid.body.paidAt);
    expect((await api(other, org).get('/api/v1/billing/subscription').expect(200)).body.status).toBe('active');

    await t.admin.query("update public.invoices set status = 'void', paid_at = null where id = $1", [open.id]);
    expectProblem(await request(t.app).post(`/api/v1/billing/invoices/${open.id}/mark-paid`).set('Authorization', `Bearer ${serviceToken}`), 409);
    expectProblem(
      await request(t.app).post('/api/v1/billing/invoices/00000000-0000-4000-8000-000000000000/mark-paid').set('Authorization', `Bearer ${serviceToken}`),
      404,
    );
  });

  test('members, outsiders and other organizations see no invoice', async () => {
    const outsider = await newUser(t.app, 'inv-outsider');
    for (const path of ['', `/${invoice.id}`, `/${invoice.id}/pdf`]) {
      expectProblem(await api(member).get(`/api/v1/billing/invoices${path}`), 403);
      // Naming the organization does not help someone outside it.
      expectProblem(await api(outsider).get(`/api/v1/billing/invoices${path}`), 404);
    }
    // In their own organization the invoice simply does not exist.
    const own = outsider.personalOrganizationId;
    expect((await api(outsider, own).get('/api/v1/billing/invoices').expect(200)).body.data).toEqual([]);
    expectProblem(await api(outsider, own).get(`/api/v1/billing/invoices/${invoice.id}`), 404);
    expectProblem(await api(outsider, own).get(`/api/v1/billing/invoices/${invoice.id}/pdf`), 404);
  });
});

describe('invoice numbers', () => {
  /** Every number of the year, in order, and the year's counter, read in one snapshot. */
  async function numbersOfYear(year: number) {
    const { rows } = await t.admin.query<{ numbers: string[]; last: number }>(
      `select coalesce(array_agg(invoice_number order by invoice_number), '{}') as numbers,
              (select last_number from public.invoice_number_counters where year = $1) as last
       from public.invoices where invoice_number like $2`,
      [year, `INV-${year}-%`],
    );
    return rows[0]!;
  }

  function expectGapless(numbers: string[], last: number, year: number) {
    expect(numbers).toHaveLength(last);
    numbers.forEach((number, index) => expect(number).toBe(`INV-${year}-${String(index + 1).padStart(6, '0')}`));
  }

  test('many invoices issued at once get consecutive numbers; rolled-back ones leave no gap', async () => {
    const year = new Date().getUTCFullYear();
    // Its own pool, so the issuing transactions really overlap.
    const pool = new pg.Pool({ connectionString: appDatabaseUrl(), max: 12 });
    try {
      const before = await numbersOfYear(year);
      const attempts = 60;
      const results = await Promise.allSettled(
        Array.from({ length: attempts }, (_, i) =>
          withServiceTransaction(pool, 10_000, async (tx) => {
            const issued = await issueInvoice(tx, {
              organizationId: orgId,
              description: `Concurrent ${i}`,
              lines: [{ description: 'Item', quantity: 1, unitAmount: money('1.00'), amount: money('1.00'), periodStart: null, periodEnd: null }],
              planId: null,
              billingInterval: null,
              periodStart: null,
              periodEnd: null,
            });
            // Every fifth transaction fails after taking its number.
            if (i % 5 === 4) throw new Error('rolled back on purpose');
            return issued.invoiceNumber;
          }),
        ),
      );
      const committed = results.filter((r) => r.status === 'fulfilled');
      expect(committed).toHaveLength(attempts - attempts / 5);
      const after = await numbersOfYear(year);
      expectGapless(after.numbers, after.last, year);
      expect(after.last - (before.last ?? 0)).toBeGreaterThanOrEqual(committed.length);
    } finally {
      await pool.end();
    }
  });

  test('concurrent upgrades through the API are numbered without gaps too', async () => {
    const year = new Date().getUTCFullYear();
    const owners = await Promise.all(Array.from({ length: 8 }, (_, i) => newUser(t.app, `conc${i}`)));
    const invoices = await Promise.all(owners.map((user) => upgradeInvoice(user, user.personalOrganizationId)));
    expect(new Set(invoices.map((invoice) => invoice.invoiceNumber)).size).toBe(8);
    const after = await numbersOfYear(year);
    expectGapless(after.numbers, after.last, year);
  });
});
