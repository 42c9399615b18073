import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { renderInvoicePdf, type Seller } from './pdf';
import {
  INVOICE_BY_ID,
  INVOICE_COLUMNS,
  invoiceListQuery,
  LINES_OF_INVOICE,
  toInvoice,
  toInvoiceLine,
  type InvoiceDetail,
  type InvoiceLineRow,
  type InvoiceRow,
} from './sql';
import type { RequestTransaction } from '../../db/transaction';

type ListQuery = NonNullable<operations['listInvoices']['parameters']['query']>;

const NOT_FOUND = 'There is no such invoice in this organization.';
const READ = "see the organization's invoices";

async function loadInvoice(tx: RequestTransaction, invoiceId: string, organizationId: string): Promise<{ row: InvoiceRow; detail: InvoiceDetail }> {
  const found = await tx.query<InvoiceRow>(INVOICE_BY_ID, [invoiceId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  const row = found.rows[0]!;
  const lines = await tx.query<InvoiceLineRow>(LINES_OF_INVOICE, [invoiceId]);
  return { row, detail: { ...toInvoice(row), lines: lines.rows.map(toInvoiceLine) } };
}

export function invoicesRouter(inTransaction: RunInTransaction, seller: Seller): Router {
  const router = express.Router();

  router.get('/billing/invoices', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) => {
      const organizationId = requireBillingManager(tx, READ);
      return paginate(tx, invoiceListQuery(organizationId, query, pageRequest(query)), toInvoice);
    });
    res.json(page);
  });

  router.get('/billing/invoices/:invoiceId', async (req, res) => {
    const invoice = await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, READ);
      return (await loadInvoice(tx, req.params.invoiceId!, organizationId)).detail;
    });
    res.json(invoice);
  });

  router.get('/billing/invoices/:invoiceId/pdf', async (req, res) => {
    const { row, detail } = await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, READ);
      return loadInvoice(tx, req.params.invoiceId!, organizationId);
    });
    const pdf = await renderInvoicePdf(detail, row.customer, seller);
    res
      .status(200)
      .type('application/pdf')
      .setHeader('Content-Disposition', `inline; filename="${detail.invoiceNumber}.pdf"`)
      .send(pdf);
  });

  // Back office: a payment arrived by bank transfer. Service tokens skip row
  // level security, so the invoice is found by its id alone.
  router.post('/billing/invoices/:invoiceId/mark-paid', async (req, res) => {
    const invoice = await inTransaction(
      req,
      async (tx) => {
        if (tx.identity.role !== 'service_role') {
          throw problems.forbidden('Payments are recorded by the back office (a service token), not by users.');
        }
        const paid = await tx.query<InvoiceRow>(
          `update public.invoices i set status = 'paid', amount_paid = i.amount_due, paid_at = now()
           where i.id = $1 and i.status = 'open'
           returning ${INVOICE_COLUMNS}`,
          [req.params.invoiceId],
        );
        let row = paid.rows[0];
        if (!row) {
          const found = await tx.query<InvoiceRow>(`select ${INVOICE_COLUMNS} from public.invoices i where i.id = $1`, [req.params.invoiceId]);
          row = found.rows[0];
          if (!row) throw problems.notFound('There is no such invoice.');
          if (row.status !== 'paid') throw problems.conflict(`A ${row.status} invoice cannot be paid.`);
          return toInvoice(row);
        }
        // Paying what was owed ends a past_due state.
        await tx.query(
          `update public.subscriptions s set status = 'active'
           where s.organization_id = $1 and s.status = 'past_due'
             and not exists (select 1 from public.invoices i where i.organization_id = $1 and i.status = 'open')`,
          [row.organization_id],
        );
        return toInvoice(row);
      },
      { allowServiceRole: true },
    );
    res.json(invoice);
  });

  return router;
}
