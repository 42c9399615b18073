import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { getInvoice, invoiceForPdf, listInvoices, markInvoicePaid, pdfDisposition } from './operations';
import { renderInvoicePdf, type Seller } from './pdf';

export function invoicesRoutes(inTransaction: RunInTransaction, seller: Seller): Operations {
  const routes = new Operations();

  route(routes, 'listInvoices', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listInvoices(tx, query)));
  });

  route(routes, 'getInvoice', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getInvoice(tx, params.invoiceId)));
  });

  route(routes, 'getInvoicePdf', async ({ params, req, res }) => {
    const { detail, customer } = await inTransaction(req, (tx) => invoiceForPdf(tx, params.invoiceId));
    const pdf = await renderInvoicePdf(detail, customer, seller);
    res.status(200).type('application/pdf').setHeader('Content-Disposition', pdfDisposition(detail)).send(pdf);
  });

  route(routes, 'markInvoicePaid', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => markInvoicePaid(tx, params.invoiceId), { allowServiceRole: true }));
  });

  return routes;
}
