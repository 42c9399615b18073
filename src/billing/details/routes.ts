import express, { type Router } from 'express';
import type { components, operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { checkDutchVatNumber, normalizeVatNumber, vatNumberProblems } from '../vat';
import { viesCheck, type ViesOptions } from './vies';

type BillingDetails = components['schemas']['BillingDetails'];
type UpdateBody = operations['putBillingDetails']['requestBody']['content']['application/json'];
type BtwBody = operations['validateBtwNumber']['requestBody']['content']['application/json'];

interface DetailsRow {
  company_name: string | null;
  btw_number: string | null;
  kvk_number: string | null;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  postal_code: string | null;
  country: string | null;
  email: string | null;
  updated_at: string | null;
}

const DETAILS_COLUMNS = `d.company_name, d.btw_number, d.kvk_number, d.address_line1, d.address_line2, d.city, d.postal_code,
  d.country, d.email, d.updated_at`;

function toBillingDetails(organizationId: string, row: DetailsRow | undefined): BillingDetails {
  return {
    organizationId,
    companyName: row?.company_name ?? null,
    btwNumber: row?.btw_number ?? null,
    kvkNumber: row?.kvk_number ?? null,
    addressLine1: row?.address_line1 ?? null,
    addressLine2: row?.address_line2 ?? null,
    city: row?.city ?? null,
    postalCode: row?.postal_code ?? null,
    country: row?.country ?? null,
    email: row?.email ?? null,
    updatedAt: row?.updated_at ?? null,
  };
}

const MANAGE = 'see and change its billing details';

/** Trimmed text, with an all-blank value the same as none. */
const clean = (value: string | null | undefined) => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
};

export function detailsRouter(inTransaction: RunInTransaction, vies: ViesOptions): Router {
  const router = express.Router();

  router.get('/billing/details', async (req, res) => {
    const details = await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, MANAGE);
      const found = await tx.query<DetailsRow>(`select ${DETAILS_COLUMNS} from public.billing_details d where d.organization_id = $1`, [
        organizationId,
      ]);
      return toBillingDetails(organizationId, found.rows[0]);
    });
    res.json(details);
  });

  router.put('/billing/details', async (req, res) => {
    const body = req.body as UpdateBody;
    const country = clean(body.country)?.toUpperCase() ?? null;
    const btwNumber = clean(body.btwNumber) === null ? null : normalizeVatNumber(body.btwNumber!);
    if (btwNumber !== null) {
      const reasons = vatNumberProblems(btwNumber, country);
      if (reasons.length > 0) {
        throw problems.unprocessable(`The VAT number is not valid: ${reasons.join(' ')}`, reasons.map((message) => ({ path: '/body/btwNumber', message })));
      }
    }
    const details = await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, MANAGE);
      const saved = await tx.query<DetailsRow>(
        `insert into public.billing_details as d
           (organization_id, company_name, btw_number, kvk_number, address_line1, address_line2, city, postal_code, country, email)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (organization_id) do update set
           company_name = excluded.company_name, btw_number = excluded.btw_number, kvk_number = excluded.kvk_number,
           address_line1 = excluded.address_line1, address_line2 = excluded.address_line2, city = excluded.city,
           postal_code = excluded.postal_code, country = excluded.country, email = excluded.email
         returning ${DETAILS_COLUMNS}`,
        [
          organizationId,
          clean(body.companyName),
          btwNumber,
          clean(body.kvkNumber),
          clean(body.addressLine1),
          clean(body.addressLine2),
          clean(body.city),
          clean(body.postalCode),
          country,
          clean(body.email)?.toLowerCase() ?? null,
        ],
      );
      return toBillingDetails(organizationId, saved.rows[0]);
    });
    res.json(details);
  });

  // A pure check: it reads nothing of any organization, so any signed-in caller may use it.
  router.post('/billing/validate-btw', async (req, res) => {
    const body = req.body as BtwBody;
    const number = normalizeVatNumber(body.btwNumber);
    const verdict = checkDutchVatNumber(number);
    const online = verdict.valid ? await viesCheck(number, vies) : 'not_checked';
    const reasons = online === 'invalid' ? [...verdict.reasons, 'VIES does not know this number as an active VAT number.'] : verdict.reasons;
    res.json({ btwNumber: number, valid: verdict.valid && online !== 'invalid', scheme: verdict.scheme, reasons, vies: online });
  });

  return router;
}
