// The statements that apply Stripe's events. They run as the back office
// (no row level security): every one names its organization or provider id.

/** $1 event id, $2 type, $3 the object's id, $4 created (seconds): no row when the event was recorded before. */
export const RECORD_EVENT = `insert into public.payment_provider_events (id, type, object_id, event_created_at)
  values ($1, $2, $3, to_timestamp($4)) on conflict (id) do nothing`;

/** $1 an organization id taken from metadata, checked to exist. */
export const ORGANIZATION_EXISTS = 'select o.id from public.organizations o where o.id = $1';

/** $1 provider subscription, $2 provider customer (either may be null): the subscription id wins over the customer. */
export const ORGANIZATION_OF_PROVIDER_IDS = `select s.organization_id from public.subscriptions s
  where ($1::text is not null and s.provider_subscription_id = $1) or ($2::text is not null and s.provider_customer_id = $2)
  order by (s.provider_subscription_id = $1) desc nulls last
  limit 1`;

/** $1 organization, $2 the event's time: locked, and whether a newer event already changed it. */
export const SUBSCRIPTION_SYNC_STATE = `select coalesce(s.provider_synced_at > $2::timestamptz, false) as newer
  from public.subscriptions s where s.organization_id = $1 for update`;

/** $1 organization, $2 the event's time: the paid subscription is over, the organization is on free again. */
export const BACK_TO_FREE = `update public.subscriptions s
  set plan_id = 'free', status = 'active', billing_interval = 'monthly', cancel_at_period_end = false,
      scheduled_plan_id = null, scheduled_interval = null, trial_end = null, provider_subscription_id = null,
      current_period_start = now(), current_period_end = now() + interval '1 month', provider_synced_at = $2
  where s.organization_id = $1`;

/**
 * $1 organization, $2 status, $3 whether the plan is granted, $4 plan, $5
 * interval, $6 and $7 the period, $8 cancel at period end, $9 trial end,
 * $10 provider customer, $11 provider subscription, $12 the event's time.
 * Unknown values keep what is stored.
 */
export const SYNC_SUBSCRIPTION = `update public.subscriptions s
  set status = $2,
      plan_id = case when $3 and $4::public.plan_tier is not null then $4 else s.plan_id end,
      billing_interval = case when $3 and $5::public.billing_interval is not null then $5 else s.billing_interval end,
      current_period_start = coalesce($6, s.current_period_start),
      current_period_end = coalesce($7, s.current_period_end),
      cancel_at_period_end = $8, scheduled_plan_id = null, scheduled_interval = null,
      trial_end = $9, provider_customer_id = coalesce($10, s.provider_customer_id), provider_subscription_id = $11,
      provider_synced_at = $12
  where s.organization_id = $1`;

/** $1 provider invoice, $2 the event's time: locked, with its status and whether a newer event already changed it. */
export const INVOICE_SYNC_STATE = `select i.status, coalesce(i.provider_synced_at > $2::timestamptz, false) as newer
  from public.invoices i where i.provider_invoice_id = $1 for update`;

/** $1 organization: what decides the VAT treatment when Stripe charged none. */
export const VAT_DETAILS = 'select d.country, d.btw_number from public.billing_details d where d.organization_id = $1';

/**
 * $1 organization, $2 status, $3 description, $4 VAT treatment, $5 VAT rate,
 * $6 subtotal, $7 VAT, $8 total, $9 due, $10 paid, $11 and $12 the period,
 * $13 due date, $14 paid at, $15 hosted page, $16 provider invoice, $17 the
 * event's time. The customer is only the organization's name: Stripe holds the rest.
 */
export const INSERT_PROVIDER_INVOICE = `insert into public.invoices as i
    (organization_id, status, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due, amount_paid,
     customer, period_start, period_end, due_date, paid_at, invoice_url, provider_invoice_id, provider_synced_at)
  select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
         jsonb_build_object('name', o.name), $11, $12, $13::timestamptz::date, $14, $15, $16, $17
  from public.organizations o where o.id = $1
  returning i.id`;

/** $1 invoice, $2 organization, $3 position, $4 description, $5 amount (one of each). */
export const INSERT_PROVIDER_INVOICE_LINE = `insert into public.invoice_lines
    (invoice_id, organization_id, position, description, quantity, unit_amount, amount)
  values ($1, $2, $3, $4, 1, $5, $5)`;

/** $1 provider invoice, $2 status, $3 paid, $4 paid at, $5 the event's time, $6 hosted page (null keeps the stored one). */
export const SYNC_PROVIDER_INVOICE = `update public.invoices i
  set status = $2, amount_paid = $3, paid_at = $4, provider_synced_at = $5,
      invoice_url = coalesce($6, i.invoice_url)
  where i.provider_invoice_id = $1`;

/** $1 organization: a failed payment puts an active subscription behind. */
export const SUBSCRIPTION_PAST_DUE = `update public.subscriptions s set status = 'past_due' where s.organization_id = $1 and s.status = 'active'`;

/** $1 organization: a paid invoice ends a past_due state. */
export const SUBSCRIPTION_ACTIVE_AGAIN = `update public.subscriptions s set status = 'active' where s.organization_id = $1 and s.status = 'past_due'`;

/** $1 provider payment method. */
export const DELETE_PROVIDER_PAYMENT_METHOD = 'delete from public.payment_methods pm where pm.provider_payment_method_id = $1';

/** $1 provider payment method, $2 the attachment's created (seconds): was it detached by a later (or the same) moment? */
export const DETACHED_SINCE = `select 1 from public.payment_provider_events e
  where e.object_id = $1 and e.type = 'payment_method.detached' and e.event_created_at >= to_timestamp($2) limit 1`;

/** $1 organization, $2 brand, $3 last four, $4 and $5 expiry, $6 country, $7 provider payment method. */
export const INSERT_PROVIDER_CARD = `insert into public.payment_methods
    (organization_id, type, card_brand, last4, exp_month, exp_year, country, provider_payment_method_id)
  values ($1, 'card', $2, $3, $4, $5, $6, $7) on conflict (provider_payment_method_id) do nothing`;

/** $1 organization, $2 bank code, $3 last four, $4 country, $5 provider payment method. */
export const INSERT_PROVIDER_SEPA_DEBIT = `insert into public.payment_methods
    (organization_id, type, bank_code, last4, country, provider_payment_method_id)
  values ($1, 'sepa_debit', $2, $3, $4, $5) on conflict (provider_payment_method_id) do nothing`;
