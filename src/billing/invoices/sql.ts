import type { components, operations } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import { money, toAmount } from '../money';
import type { BillingInterval, PlanId } from '../pricing';
import type { VatTreatment } from '../vat';

export type Invoice = components['schemas']['Invoice'];
export type InvoiceLine = components['schemas']['InvoiceLine'];
export type InvoiceDetail = components['schemas']['InvoiceDetail'];
export type InvoiceStatus = components['schemas']['InvoiceStatus'];

/** Who was billed, kept on the invoice as it was on the day of issue. */
export interface InvoiceCustomer {
  name: string;
  companyName: string | null;
  btwNumber: string | null;
  kvkNumber: string | null;
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  postalCode: string | null;
  country: string | null;
  email: string | null;
}

export interface InvoiceRow {
  id: string;
  organization_id: string;
  invoice_number: string;
  status: InvoiceStatus;
  currency: 'EUR';
  description: string;
  vat_treatment: VatTreatment;
  vat_rate: string;
  subtotal: string;
  vat_amount: string;
  total: string;
  amount_due: string;
  amount_paid: string;
  customer: InvoiceCustomer;
  plan_id: PlanId | null;
  billing_interval: BillingInterval | null;
  period_start: string | null;
  period_end: string | null;
  issued_at: string;
  due_date: string | null;
  paid_at: string | null;
  invoice_url: string | null;
  provider_invoice_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface InvoiceLineRow {
  id: string;
  position: number;
  description: string;
  quantity: number;
  unit_amount: string;
  amount: string;
  period_start: string | null;
  period_end: string | null;
}

export const INVOICE_COLUMNS = `i.id, i.organization_id, i.invoice_number, i.status, i.currency, i.description, i.vat_treatment,
  i.vat_rate, i.subtotal, i.vat_amount, i.total, i.amount_due, i.amount_paid, i.customer, i.plan_id, i.billing_interval,
  i.period_start, i.period_end, i.issued_at, i.due_date, i.paid_at, i.invoice_url, i.provider_invoice_id, i.created_at, i.updated_at`;

export const LINE_COLUMNS = 'l.id, l.position, l.description, l.quantity, l.unit_amount, l.amount, l.period_start, l.period_end';

export const invoicePdfPath = (id: string) => `/api/v1/billing/invoices/${id}/pdf`;

export function toInvoice(row: InvoiceRow): Invoice {
  return {
    id: row.id,
    organizationId: row.organization_id,
    invoiceNumber: row.invoice_number,
    status: row.status,
    currency: row.currency,
    description: row.description,
    vatTreatment: row.vat_treatment,
    vatRate: money(row.vat_rate).toFixed(2),
    subtotal: toAmount(money(row.subtotal)),
    vatAmount: toAmount(money(row.vat_amount)),
    total: toAmount(money(row.total)),
    amountDue: toAmount(money(row.amount_due)),
    amountPaid: toAmount(money(row.amount_paid)),
    planId: row.plan_id,
    billingInterval: row.billing_interval,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    issuedAt: row.issued_at,
    dueDate: row.due_date,
    paidAt: row.paid_at,
    invoiceUrl: row.invoice_url,
    pdfUrl: invoicePdfPath(row.id),
    providerInvoiceId: row.provider_invoice_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toInvoiceLine(row: InvoiceLineRow): InvoiceLine {
  return {
    id: row.id,
    position: row.position,
    description: row.description,
    quantity: row.quantity,
    unitAmount: toAmount(money(row.unit_amount)),
    amount: toAmount(money(row.amount)),
    periodStart: row.period_start,
    periodEnd: row.period_end,
  };
}

/** One invoice of one organization: another organization's id is as absent as an unknown one. */
export const INVOICE_BY_ID = `select ${INVOICE_COLUMNS} from public.invoices i where i.id = $1 and i.organization_id = $2`;
export const LINES_OF_INVOICE = `select ${LINE_COLUMNS} from public.invoice_lines l where l.invoice_id = $1 order by l.position`;

type ListFilters = Pick<NonNullable<operations['listInvoices']['parameters']['query']>, 'status'>;

/** Newest first; served by invoices_organization_idx / invoices_organization_status_idx. */
export function invoiceListQuery(organizationId: string, filters: ListFilters, page: PageRequest): PageQuery<InvoiceRow> {
  const params: unknown[] = [organizationId];
  let where = 'i.organization_id = $1';
  if (filters.status) {
    params.push(filters.status);
    where += ` and i.status = $${params.length}`;
  }
  return {
    select: INVOICE_COLUMNS,
    fromWhere: `public.invoices i where ${where}`,
    params,
    orderBy: 'i.issued_at desc, i.id desc',
    page,
  };
}
