import type { components } from '../../generated/openapi';

export type BillingDetails = components['schemas']['BillingDetails'];

export interface DetailsRow {
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

/** An organization that never saved details has them all empty. */
export function toBillingDetails(organizationId: string, row: DetailsRow | undefined): BillingDetails {
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

/** $1 organization. */
export const DETAILS_OF_ORGANIZATION = `select ${DETAILS_COLUMNS} from public.billing_details d where d.organization_id = $1`;

/**
 * $1 organization, $2 company name, $3 VAT number, $4 KvK number, $5 and $6
 * address lines, $7 city, $8 postal code, $9 country, $10 email: the whole
 * set is replaced.
 */
export const SAVE_DETAILS = `insert into public.billing_details as d
    (organization_id, company_name, btw_number, kvk_number, address_line1, address_line2, city, postal_code, country, email)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  on conflict (organization_id) do update set
    company_name = excluded.company_name, btw_number = excluded.btw_number, kvk_number = excluded.kvk_number,
    address_line1 = excluded.address_line1, address_line2 = excluded.address_line2, city = excluded.city,
    postal_code = excluded.postal_code, country = excluded.country, email = excluded.email
  returning ${DETAILS_COLUMNS}`;
