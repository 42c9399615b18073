// The frontend's billing records (Subscription, PaymentMethod, Invoice,
// BillingDetails) carry the userId of the person billed; here the billing
// account is the organization's, and the person answerable for it is its
// longest-standing owner. A trigger keeps an owner in every organization, so
// the value is never missing. Served by organization_members_organization_created_idx.

/** A select-list item naming the billing owner of the organization in `organizationIdSql` (a column or a parameter). */
export function billingOwnerColumn(organizationIdSql: string): string {
  return `(select m.user_id from public.organization_members m
     where m.organization_id = ${organizationIdSql} and m.role = 'owner'
     order by m.created_at, m.user_id limit 1) as billing_owner_id`;
}
