import type { RequestTransaction } from '../../db/transaction';
import { toAmount } from '../money';
import { invoiceTotals, type BillingInterval, type LineDraft, type PlanId } from '../pricing';
import { vatFor } from '../vat';
import {
  INVOICE_COLUMNS,
  LINE_COLUMNS,
  toInvoice,
  toInvoiceLine,
  type InvoiceCustomer,
  type InvoiceDetail,
  type InvoiceLineRow,
  type InvoiceRow,
} from './sql';

/** Days a customer has to pay an invoice issued for manual payment. */
export const PAYMENT_TERM_DAYS = 14;

export interface InvoiceDraft {
  organizationId: string;
  description: string;
  lines: LineDraft[];
  planId: PlanId | null;
  billingInterval: BillingInterval | null;
  periodStart: Date | null;
  periodEnd: Date | null;
}

/** The organization's billing details as they are now, for the invoice to keep. */
async function currentCustomer(tx: RequestTransaction, organizationId: string): Promise<InvoiceCustomer> {
  const found = await tx.query<InvoiceCustomer>(
    `select o.name, d.company_name as "companyName", d.btw_number as "btwNumber", d.kvk_number as "kvkNumber",
            d.address_line1 as "addressLine1", d.address_line2 as "addressLine2", d.city, d.postal_code as "postalCode",
            d.country, d.email
     from public.organizations o left join public.billing_details d on d.organization_id = o.id
     where o.id = $1`,
    [organizationId],
  );
  const customer = found.rows[0];
  if (!customer) throw new Error(`organization ${organizationId} is not visible here`);
  return customer;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/**
 * Issues an invoice, open for payment: net lines, VAT by where the customer
 * is, gross; the number comes from the database (per year, no gaps) in this
 * same transaction.
 */
export async function issueInvoice(tx: RequestTransaction, draft: InvoiceDraft): Promise<InvoiceDetail> {
  const customer = await currentCustomer(tx, draft.organizationId);
  const vat = vatFor(customer);
  const totals = invoiceTotals(draft.lines, vat.ratePercent);
  const inserted = await tx.query<InvoiceRow>(
    `insert into public.invoices as i
       (organization_id, status, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due, customer,
        plan_id, billing_interval, period_start, period_end, due_date)
     values ($1, 'open', $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, (now() at time zone 'UTC')::date + $13::integer)
     returning ${INVOICE_COLUMNS}`,
    [
      draft.organizationId,
      draft.description,
      vat.treatment,
      vat.ratePercent.toFixed(2),
      toAmount(totals.subtotal),
      toAmount(totals.vatAmount),
      toAmount(totals.total),
      JSON.stringify(customer),
      draft.planId,
      draft.billingInterval,
      iso(draft.periodStart),
      iso(draft.periodEnd),
      PAYMENT_TERM_DAYS,
    ],
  );
  const invoice = inserted.rows[0]!;
  const lines = await tx.query<InvoiceLineRow>(
    `insert into public.invoice_lines as l
       (invoice_id, organization_id, position, description, quantity, unit_amount, amount, period_start, period_end)
     select $1, $2, t.position, t.description, t.quantity, t.unit_amount, t.amount, t.period_start, t.period_end
     from jsonb_to_recordset($3::jsonb) as t(position smallint, description text, quantity integer, unit_amount numeric,
                                             amount numeric, period_start timestamptz, period_end timestamptz)
     returning ${LINE_COLUMNS}`,
    [
      invoice.id,
      draft.organizationId,
      JSON.stringify(
        draft.lines.map((line, index) => ({
          position: index + 1,
          description: line.description,
          quantity: line.quantity,
          // As strings: the JSON carries the exact decimal, never a float.
          unit_amount: toAmount(line.unitAmount),
          amount: toAmount(line.amount),
          period_start: iso(line.periodStart),
          period_end: iso(line.periodEnd),
        })),
      ),
    ],
  );
  return { ...toInvoice(invoice), lines: lines.rows.sort((a, b) => a.position - b.position).map(toInvoiceLine) };
}
