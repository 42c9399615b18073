import type { components } from '../../generated/openapi';
import { billingOwnerColumn } from '../owner';
import type { CleanDetails } from './rules';

export type BillingDetails = components['schemas']['BillingDetails'];

export interface DetailsRow {
  billing_owner_id: string;
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

/** An organization that never saved details has them all empty (the row's columns come back null). */
export function toBillingDetails(organizationId: string, row: DetailsRow): BillingDetails {
  return {
    organizationId,
    userId: row.billing_owner_id,
    ...storedDetails(row),
    updatedAt: row.updated_at,
  };
}

export function storedDetails(row: DetailsRow): CleanDetails {
  return {
    companyName: row.company_name,
    btwNumber: row.btw_number,
    kvkNumber: row.kvk_number,
    addressLine1: row.address_line1,
    addressLine2: row.address_line2,
    city: row.city,
    postalCode: row.postal_code,
    country: row.country,
    email: row.email,
  };
}

/** $1 organization: always one row, its details null when none were saved. */
export const DETAILS_OF_ORGANIZATION = `select ${DETAILS_COLUMNS}, ${billingOwnerColumn('$1::uuid')}
  from (values (1)) as one left join public.billing_details d on d.organization_id = $1`;

/** $1 organization: a row to change in place, so two partial changes take turns instead of one losing the other's fields. */
export const ENSURE_DETAILS_ROW = `insert into public.billing_details as d (organization_id) values ($1) on conflict (organization_id) do nothing`;

/** $1 organization. */
export const DETAILS_FOR_UPDATE = `select ${DETAILS_COLUMNS}, ${billingOwnerColumn('d.organization_id')}
  from public.billing_details d where d.organization_id = $1 for update`;

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
  returning ${DETAILS_COLUMNS}, ${billingOwnerColumn('d.organization_id')}`;
