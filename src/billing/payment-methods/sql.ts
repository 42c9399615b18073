import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import { billingOwnerColumn } from '../owner';

export type PaymentMethod = components['schemas']['PaymentMethod'];
export type PaymentMethodCreate = components['schemas']['PaymentMethodCreate'];

export interface PaymentMethodRow {
  id: string;
  organization_id: string;
  billing_owner_id: string;
  type: PaymentMethod['type'];
  is_default: boolean;
  card_brand: PaymentMethod['cardBrand'];
  last4: string;
  exp_month: number | null;
  exp_year: number | null;
  bank_code: string | null;
  country: string | null;
  provider_payment_method_id: string | null;
  created_at: string;
  updated_at: string;
}

export const PAYMENT_METHOD_COLUMNS = `pm.id, pm.organization_id, pm.type, pm.is_default, pm.card_brand, pm.last4, pm.exp_month,
  pm.exp_year, pm.bank_code, pm.country, pm.provider_payment_method_id, pm.created_at, pm.updated_at,
  ${billingOwnerColumn('pm.organization_id')}`;

/** One table holds both kinds; the frontend names each kind's fields apart, so the other kind's are null. */
export function toPaymentMethod(row: PaymentMethodRow): PaymentMethod {
  const card = row.type === 'card';
  return {
    id: row.id,
    organizationId: row.organization_id,
    userId: row.billing_owner_id,
    type: row.type,
    isDefault: row.is_default,
    stripePaymentMethodId: row.provider_payment_method_id,
    cardBrand: card ? row.card_brand : null,
    cardLast4: card ? row.last4 : null,
    cardExpMonth: card ? row.exp_month : null,
    cardExpYear: card ? row.exp_year : null,
    cardCountry: card ? row.country : null,
    sepaBankCode: card ? null : row.bank_code,
    sepaLast4: card ? null : row.last4,
    sepaCountry: card ? null : row.country,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** $1 organization, $2 type, $3 is_default, $4 brand, $5 last4, $6 exp month, $7 exp year, $8 bank code, $9 country, $10 provider id. */
export const INSERT_PAYMENT_METHOD = `insert into public.payment_methods as pm
    (organization_id, type, is_default, card_brand, last4, exp_month, exp_year, bank_code, country, provider_payment_method_id)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  returning ${PAYMENT_METHOD_COLUMNS}`;

export const PAYMENT_METHOD_BY_ID = `select ${PAYMENT_METHOD_COLUMNS} from public.payment_methods pm where pm.id = $1 and pm.organization_id = $2`;

/** $1 organization: the default first, then the newest. */
export function paymentMethodListQuery(organizationId: string, page: PageRequest): PageQuery<PaymentMethodRow> {
  return {
    select: PAYMENT_METHOD_COLUMNS,
    fromWhere: 'public.payment_methods pm where pm.organization_id = $1',
    params: [organizationId],
    orderBy: 'pm.is_default desc, pm.created_at desc, pm.id desc',
    page,
  };
}

/** $1 method, $2 organization: locked, so a concurrent removal waits for this one. */
export const PAYMENT_METHOD_FOR_UPDATE = `${PAYMENT_METHOD_BY_ID} for update`;

/** $1 organization, $2 the method about to go: is there any other? */
export const OTHER_PAYMENT_METHOD = 'select 1 from public.payment_methods pm where pm.organization_id = $1 and pm.id <> $2 limit 1';

/** $1 method, $2 organization. */
export const DELETE_PAYMENT_METHOD = 'delete from public.payment_methods pm where pm.id = $1 and pm.organization_id = $2';

/** $1 method, $2 organization. A trigger unsets the previous default. */
export const SET_DEFAULT_PAYMENT_METHOD = `update public.payment_methods pm set is_default = true where pm.id = $1 and pm.organization_id = $2
  returning ${PAYMENT_METHOD_COLUMNS}`;
