import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import {
  ANY_INVOICE_BY_ID,
  END_PAST_DUE_WHEN_SETTLED,
  INVOICE_BY_ID,
  invoiceListQuery,
  LINES_OF_INVOICE,
  PAY_OPEN_INVOICE,
  toInvoice,
  toInvoiceLine,
  type Invoice,
  type InvoiceCustomer,
  type InvoiceDetail,
  type InvoiceLineRow,
  type InvoiceRow,
} from './sql';

const NOT_FOUND = 'There is no such invoice in this organization.';
const READ = "see the organization's invoices";

/** The invoice with its lines, and the customer it was issued to (kept on the row, shown only on the PDF). */
export interface InvoiceWithCustomer {
  detail: InvoiceDetail;
  customer: InvoiceCustomer;
}

async function loadInvoice(tx: RequestTransaction, invoiceId: string): Promise<InvoiceWithCustomer> {
  const organizationId = requireBillingManager(tx, READ);
  const found = await tx.query<InvoiceRow>(INVOICE_BY_ID, [invoiceId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  const row = found.rows[0]!;
  const lines = await tx.query<InvoiceLineRow>(LINES_OF_INVOICE, [invoiceId]);
  return { detail: { ...toInvoice(row), lines: lines.rows.map(toInvoiceLine) }, customer: row.customer };
}

export function listInvoices(tx: RequestTransaction, query: RequestQuery<'listInvoices'>): Promise<Page<Invoice>> {
  const organizationId = requireBillingManager(tx, READ);
  return paginate(tx, invoiceListQuery(organizationId, query, pageRequest(query)), toInvoice);
}

export async function getInvoice(tx: RequestTransaction, invoiceId: string): Promise<InvoiceDetail> {
  return (await loadInvoice(tx, invoiceId)).detail;
}

/** What the PDF shows; it is drawn after the transaction, so no connection waits on the rendering. */
export function invoiceForPdf(tx: RequestTransaction, invoiceId: string): Promise<InvoiceWithCustomer> {
  return loadInvoice(tx, invoiceId);
}

/** The file name a PDF is offered under: the invoice number, which is unique. */
export const pdfDisposition = (invoice: InvoiceDetail) => `inline; filename="${invoice.invoiceNumber}.pdf"`;

/** Service tokens skip row level security, so only they record payments, and find the invoice by its id alone. */
function requireBackOffice(tx: RequestTransaction): void {
  if (tx.identity.role !== 'service_role') {
    throw problems.forbidden('Payments are recorded by the back office (a service token), not by users.');
  }
}

/**
 * The answer for an invoice the payment did not change: a paid one is
 * answered as it is (recording a payment twice changes nothing); a missing,
 * void or uncollectible one is refused.
 */
export function alreadySettled(row: InvoiceRow | undefined): Invoice {
  if (!row) throw problems.notFound('There is no such invoice.');
  if (row.status !== 'paid') throw problems.conflict(`A ${row.status} invoice cannot be paid.`);
  return toInvoice(row);
}

/** Back office: a payment arrived by bank transfer. */
export async function markInvoicePaid(tx: RequestTransaction, invoiceId: string): Promise<Invoice> {
  requireBackOffice(tx);
  const paid = (await tx.query<InvoiceRow>(PAY_OPEN_INVOICE, [invoiceId])).rows[0];
  if (!paid) return alreadySettled((await tx.query<InvoiceRow>(ANY_INVOICE_BY_ID, [invoiceId])).rows[0]);
  await tx.query(END_PAST_DUE_WHEN_SETTLED, [paid.organization_id]);
  return toInvoice(paid);
}
