import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { getInvoice, invoiceForPdf, listInvoices, markInvoicePaid, pdfDisposition } from './operations';
import { renderInvoicePdf, type Seller } from './pdf';

export function invoicesRouter(inTransaction: RunInTransaction, seller: Seller): Router {
  const router = express.Router();

  route(router, 'listInvoices', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listInvoices(tx, query)));
  });

  route(router, 'getInvoice', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getInvoice(tx, params.invoiceId)));
  });

  route(router, 'getInvoicePdf', async ({ params, req, res }) => {
    const { detail, customer } = await inTransaction(req, (tx) => invoiceForPdf(tx, params.invoiceId));
    const pdf = await renderInvoicePdf(detail, customer, seller);
    res.status(200).type('application/pdf').setHeader('Content-Disposition', pdfDisposition(detail)).send(pdf);
  });

  route(router, 'markInvoicePaid', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => markInvoicePaid(tx, params.invoiceId), { allowServiceRole: true }));
  });

  return router;
}
