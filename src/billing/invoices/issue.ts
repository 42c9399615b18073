import type { RequestTransaction } from '../../db/transaction';
import { toAmount } from '../money';
import { invoiceTotals, type BillingInterval, type LineDraft, type PlanId } from '../pricing';
import { vatFor } from '../vat';
import {
  CURRENT_CUSTOMER,
  INSERT_INVOICE,
  INSERT_INVOICE_LINES,
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
  const found = await tx.query<InvoiceCustomer>(CURRENT_CUSTOMER, [organizationId]);
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
  const inserted = await tx.query<InvoiceRow>(INSERT_INVOICE, [
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
  ]);
  const invoice = inserted.rows[0]!;
  const lines = await tx.query<InvoiceLineRow>(INSERT_INVOICE_LINES, [
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
  ]);
  return { ...toInvoice(invoice), lines: lines.rows.sort((a, b) => a.position - b.position).map(toInvoiceLine) };
}
