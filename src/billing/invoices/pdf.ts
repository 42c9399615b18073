import PDFDocument from 'pdfkit';
import type { BillingConfig } from '../../config';
import { money, toAmount } from '../money';
import type { InvoiceCustomer, InvoiceDetail } from './sql';

/** The seller as configured (BILLING_SELLER_*). */
export type Seller = Pick<BillingConfig, 'sellerName' | 'sellerAddress' | 'sellerBtw' | 'sellerKvk'>;

const VAT_STATEMENTS: Record<InvoiceDetail['vatTreatment'], string | null> = {
  domestic: null,
  reverse_charge: 'VAT reverse-charged: the customer accounts for the VAT (Article 196, Council Directive 2006/112/EC). BTW verlegd.',
  outside_scope: 'No Dutch VAT: the service is supplied to a customer outside the EU and is outside the scope of Dutch VAT.',
};

const euro = (amount: string) => `EUR ${toAmount(money(amount))}`;
const day = (timestamp: string | null) => (timestamp ? timestamp.slice(0, 10) : '-');

function customerLines(customer: InvoiceCustomer): string[] {
  const place = [customer.postalCode, customer.city].filter(Boolean).join(' ');
  return [
    customer.companyName ?? customer.name,
    customer.addressLine1,
    customer.addressLine2,
    place || null,
    customer.country,
    customer.btwNumber ? `VAT ${customer.btwNumber}` : null,
    customer.kvkNumber ? `KvK ${customer.kvkNumber}` : null,
  ].filter((line): line is string => Boolean(line));
}

/**
 * The invoice as a PDF: seller, customer, number and dates, the lines, VAT
 * (or why there is none) and the totals. Streams are left uncompressed: the
 * files are small and their text stays searchable.
 */
export function renderInvoicePdf(invoice: InvoiceDetail, customer: InvoiceCustomer, seller: Seller): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    compress: false,
    info: { Title: `Invoice ${invoice.invoiceNumber}`, Author: seller.sellerName, Subject: invoice.description },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  doc.fontSize(20).text('Invoice', { align: 'right' });
  doc.fontSize(10).text(invoice.invoiceNumber, { align: 'right' });
  doc.moveDown();

  doc.fontSize(10).font('Helvetica-Bold').text(seller.sellerName);
  doc.font('Helvetica').text(seller.sellerAddress);
  if (seller.sellerBtw) doc.text(`VAT ${seller.sellerBtw}`);
  if (seller.sellerKvk) doc.text(`KvK ${seller.sellerKvk}`);
  doc.moveDown();

  doc.font('Helvetica-Bold').text('Billed to');
  doc.font('Helvetica');
  for (const line of customerLines(customer)) doc.text(line);
  doc.moveDown();

  doc.text(`Invoice number: ${invoice.invoiceNumber}`);
  doc.text(`Issued: ${day(invoice.issuedAt)}`);
  doc.text(`Due: ${invoice.dueDate ?? '-'}`);
  if (invoice.periodStart || invoice.periodEnd) doc.text(`Period: ${day(invoice.periodStart)} to ${day(invoice.periodEnd)}`);
  doc.text(`Status: ${invoice.status}${invoice.paidAt ? ` (paid ${day(invoice.paidAt)})` : ''}`);
  doc.moveDown();

  const left = doc.page.margins.left;
  const amountX = 420;
  doc.font('Helvetica-Bold');
  const headerY = doc.y;
  doc.text('Description', left, headerY);
  doc.text('Amount', amountX, headerY, { width: 125, align: 'right' });
  doc.font('Helvetica');
  for (const line of invoice.lines) {
    const y = doc.y + 4;
    const period = line.periodStart || line.periodEnd ? ` (${day(line.periodStart)} to ${day(line.periodEnd)})` : '';
    const quantity = line.quantity > 1 ? `${line.quantity} x ${euro(line.unitAmount)} ` : '';
    doc.text(`${quantity}${line.description}${period}`, left, y, { width: 360 });
    doc.text(euro(line.amount), amountX, y, { width: 125, align: 'right' });
  }
  doc.moveDown();

  const totals: Array<[string, string]> = [
    ['Subtotal (net)', euro(invoice.subtotal)],
    [`VAT ${invoice.vatRate}%`, euro(invoice.vatAmount)],
    ['Total', euro(invoice.total)],
    ['Paid', euro(invoice.amountPaidEur)],
  ];
  for (const [label, amount] of totals) {
    const y = doc.y;
    doc.font(label === 'Total' ? 'Helvetica-Bold' : 'Helvetica');
    doc.text(label, 300, y, { width: 120 });
    doc.text(amount, amountX, y, { width: 125, align: 'right' });
  }
  doc.font('Helvetica').moveDown();
  const statement = VAT_STATEMENTS[invoice.vatTreatment];
  if (statement) doc.text(statement, left, doc.y, { width: 495 });
  doc.moveDown();
  doc.fontSize(8).text(`All amounts in ${invoice.currency}.`, left, doc.y);

  doc.end();
  return done;
}
