import type { components, operations } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import { money, toAmount, toCents } from '../money';
import { billingOwnerColumn } from '../owner';
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
  billing_owner_id: string;
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
  i.period_start, i.period_end, i.issued_at, i.due_date, i.paid_at, i.invoice_url, i.provider_invoice_id, i.created_at, i.updated_at,
  ${billingOwnerColumn('i.organization_id')}`;

export const LINE_COLUMNS = 'l.id, l.position, l.description, l.quantity, l.unit_amount, l.amount, l.period_start, l.period_end';

export const invoicePdfPath = (id: string) => `/api/v1/billing/invoices/${id}/pdf`;

export function toInvoice(row: InvoiceRow): Invoice {
  return {
    id: row.id,
    organizationId: row.organization_id,
    userId: row.billing_owner_id,
    invoiceNumber: row.invoice_number,
    status: row.status,
    currency: row.currency,
    description: row.description,
    vatTreatment: row.vat_treatment,
    vatRate: money(row.vat_rate).toFixed(2),
    subtotal: toAmount(money(row.subtotal)),
    vatAmount: toAmount(money(row.vat_amount)),
    total: toAmount(money(row.total)),
    amountDue: toCents(money(row.amount_due)),
    amountPaid: toCents(money(row.amount_paid)),
    amountDueEur: toAmount(money(row.amount_due)),
    amountPaidEur: toAmount(money(row.amount_paid)),
    planId: row.plan_id,
    billingInterval: row.billing_interval,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    issuedAt: row.issued_at,
    dueDate: row.due_date,
    paidAt: row.paid_at,
    invoiceUrl: row.invoice_url,
    pdfUrl: invoicePdfPath(row.id),
    stripeInvoiceId: row.provider_invoice_id,
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

/** $1 organization: its billing details as they are now, for a new invoice to keep. */
export const CURRENT_CUSTOMER = `select o.name, d.company_name as "companyName", d.btw_number as "btwNumber", d.kvk_number as "kvkNumber",
       d.address_line1 as "addressLine1", d.address_line2 as "addressLine2", d.city, d.postal_code as "postalCode",
       d.country, d.email
  from public.organizations o left join public.billing_details d on d.organization_id = o.id
  where o.id = $1`;

/**
 * $1 organization, $2 description, $3 VAT treatment, $4 VAT rate, $5 subtotal,
 * $6 VAT, $7 total (all of it due), $8 customer, $9 plan, $10 interval,
 * $11 and $12 the period, $13 days to pay. The number comes from the database.
 */
export const INSERT_INVOICE = `insert into public.invoices as i
    (organization_id, status, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due, customer,
     plan_id, billing_interval, period_start, period_end, due_date)
  values ($1, 'open', $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, (now() at time zone 'UTC')::date + $13::integer)
  returning ${INVOICE_COLUMNS}`;

/** $1 invoice, $2 organization, $3 the lines as a JSON array, inserted in one statement. */
export const INSERT_INVOICE_LINES = `insert into public.invoice_lines as l
    (invoice_id, organization_id, position, description, quantity, unit_amount, amount, period_start, period_end)
  select $1, $2, t.position, t.description, t.quantity, t.unit_amount, t.amount, t.period_start, t.period_end
  from jsonb_to_recordset($3::jsonb) as t(position smallint, description text, quantity integer, unit_amount numeric,
                                          amount numeric, period_start timestamptz, period_end timestamptz)
  returning ${LINE_COLUMNS}`;

/** $1 invoice, of any organization (the back office is not scoped by row level security); only an open one is paid. */
export const PAY_OPEN_INVOICE = `update public.invoices i set status = 'paid', amount_paid = i.amount_due, paid_at = now()
  where i.id = $1 and i.status = 'open'
  returning ${INVOICE_COLUMNS}`;

/** $1 invoice, of any organization. */
export const ANY_INVOICE_BY_ID = `select ${INVOICE_COLUMNS} from public.invoices i where i.id = $1`;

/** $1 organization: paying what was owed ends a past_due state, once no invoice is left open. */
export const END_PAST_DUE_WHEN_SETTLED = `update public.subscriptions s set status = 'active'
  where s.organization_id = $1 and s.status = 'past_due'
    and not exists (select 1 from public.invoices i where i.organization_id = $1 and i.status = 'open')`;

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
