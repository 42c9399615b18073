-- migrate:up

-- The billing account of an organization: its subscription (the plan in
-- force), payment methods, invoices with their lines, billing details, and
-- the bookkeeping of signed payment-provider webhooks.
--
-- Who may do what: every member reads the subscription; owners and admins
-- read and change everything else. Invoice numbers are handed out by a
-- trigger from a per-year counter row, in the transaction that inserts the
-- invoice, so they have no gaps. organizations.plan_tier follows
-- subscriptions.plan_id through a trigger.

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------

-- Owners and admins manage billing; plain members only look.
create function app.is_billing_manager(p_organization_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$ select coalesce(app.organization_role(p_organization_id) in ('owner', 'admin'), false) $$;

-- ---------------------------------------------------------------------------
-- Subscriptions
-- ---------------------------------------------------------------------------

create table public.subscriptions (
  id uuid primary key default gen_random_uuid(),
  -- One current subscription per organization.
  organization_id uuid not null unique references public.organizations (id) on delete cascade,
  plan_id public.plan_tier not null references public.plans (id),
  status public.subscription_status not null default 'active',
  billing_interval public.billing_interval not null default 'monthly',
  current_period_start timestamptz not null default now(),
  current_period_end timestamptz not null default now() + interval '1 month',
  cancel_at_period_end boolean not null default false,
  -- A downgrade waits for the end of the period.
  scheduled_plan_id public.plan_tier references public.plans (id),
  scheduled_interval public.billing_interval,
  trial_end timestamptz,
  provider_customer_id text check (char_length(provider_customer_id) <= 255),
  provider_subscription_id text unique check (char_length(provider_subscription_id) <= 255),
  -- When the provider last told us about this subscription (its event's
  -- creation time): an older event must never overwrite newer state.
  provider_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (current_period_end > current_period_start),
  check ((scheduled_plan_id is null) = (scheduled_interval is null)),
  check (not (cancel_at_period_end and scheduled_plan_id is not null))
);
-- Serves the period roll-over: subscriptions whose period has ended.
create index subscriptions_period_end_idx on public.subscriptions (current_period_end);
create index subscriptions_provider_customer_idx on public.subscriptions (provider_customer_id) where provider_customer_id is not null;

create trigger subscriptions_updated_at before update on public.subscriptions
  for each row execute function app.set_updated_at();

-- The plan in force lives on the organization too (quotas read it there).
create function app.sync_organization_plan() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  update public.organizations o set plan_tier = new.plan_id
  where o.id = new.organization_id and o.plan_tier is distinct from new.plan_id;
  return null;
end
$$;

create trigger subscriptions_sync_plan after insert or update of plan_id on public.subscriptions
  for each row execute function app.sync_organization_plan();

-- Every organization starts on its plan (free unless said otherwise), active.
create function app.start_subscription() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  insert into public.subscriptions (organization_id, plan_id) values (new.id, new.plan_tier)
  on conflict (organization_id) do nothing;
  return null;
end
$$;

create trigger organizations_start_subscription after insert on public.organizations
  for each row execute function app.start_subscription();

insert into public.subscriptions (organization_id, plan_id)
select o.id, o.plan_tier from public.organizations o
on conflict (organization_id) do nothing;

-- What a smaller plan must fit: the members and the stored bytes. Counted
-- past row level security (a private project's files count too), for members
-- of the organization and back-office work only.
create function app.billing_usage(p_organization_id uuid)
  returns table (seats integer, storage_bytes bigint)
  language sql stable security definer
  set search_path = ''
  as $$
    select
      (select count(*)::integer from public.organization_members m where m.organization_id = p_organization_id),
      (select coalesce(sum(f.size_bytes), 0)::bigint from public.project_files f where f.organization_id = p_organization_id)
    where app.is_organization_member(p_organization_id) or (select auth.role()) = 'service_role'
  $$;

-- ---------------------------------------------------------------------------
-- Payment methods
-- ---------------------------------------------------------------------------

create table public.payment_methods (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  type public.payment_method_type not null,
  is_default boolean not null default false,
  -- Never a full card number or IBAN: only what identifies the method to a person.
  card_brand public.card_brand,
  last4 text not null check (last4 ~ '^[0-9]{4}$'),
  exp_month smallint check (exp_month between 1 and 12),
  exp_year smallint check (exp_year between 2000 and 2200),
  bank_code text check (bank_code ~ '^[A-Za-z0-9]{1,11}$'),
  country text check (country ~ '^[A-Z]{2}$'),
  provider_payment_method_id text unique check (provider_payment_method_id ~ '^[A-Za-z0-9_]{3,255}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (
    (type = 'card' and card_brand is not null and exp_month is not null and exp_year is not null
       and bank_code is null)
    or (type = 'sepa_debit' and card_brand is null and exp_month is null and exp_year is null
       and country is not null)
  )
);
-- At most one default per organization; the triggers below keep at least one.
create unique index payment_methods_one_default_key on public.payment_methods (organization_id) where is_default;
create index payment_methods_organization_idx on public.payment_methods (organization_id, created_at, id);

create trigger payment_methods_updated_at before update on public.payment_methods
  for each row execute function app.set_updated_at();

-- The first method becomes the default; a new default takes over from the old one.
-- One organization's methods change one at a time (a transaction-scoped lock),
-- so two first methods added at once cannot both become the default.
create function app.payment_method_before_insert() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('payment_methods:' || new.organization_id::text, 0));
  if not exists (select 1 from public.payment_methods p where p.organization_id = new.organization_id) then
    new.is_default := true;
  elsif new.is_default then
    update public.payment_methods p set is_default = false
    where p.organization_id = new.organization_id and p.is_default;
  end if;
  return new;
end
$$;

create function app.payment_method_before_update() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if new.is_default and not old.is_default then
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('payment_methods:' || new.organization_id::text, 0));
    update public.payment_methods p set is_default = false
    where p.organization_id = new.organization_id and p.is_default and p.id <> new.id;
  elsif old.is_default and not new.is_default and pg_catalog.pg_trigger_depth() = 1 then
    -- Only a new default (the update above, one level down) may take the flag away.
    raise exception 'Make another payment method the default instead.' using errcode = '55000';
  end if;
  return new;
end
$$;

-- Removing the default promotes the most recently added of the others.
create function app.payment_method_after_delete() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if old.is_default then
    update public.payment_methods p set is_default = true
    where p.id = (
      select p2.id from public.payment_methods p2
      where p2.organization_id = old.organization_id
      order by p2.created_at desc, p2.id desc
      limit 1
    );
  end if;
  return null;
end
$$;

create trigger payment_methods_before_insert before insert on public.payment_methods
  for each row execute function app.payment_method_before_insert();
create trigger payment_methods_before_update before update of is_default on public.payment_methods
  for each row execute function app.payment_method_before_update();
create trigger payment_methods_after_delete after delete on public.payment_methods
  for each row execute function app.payment_method_after_delete();

-- ---------------------------------------------------------------------------
-- Billing details
-- ---------------------------------------------------------------------------

create table public.billing_details (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  company_name text check (char_length(company_name) between 1 and 200),
  btw_number text check (btw_number ~ '^[A-Z]{2}[0-9A-Z+*]{2,12}$'),
  kvk_number text check (kvk_number ~ '^[0-9]{8}$'),
  address_line1 text check (char_length(address_line1) between 1 and 200),
  address_line2 text check (char_length(address_line2) between 1 and 200),
  city text check (char_length(city) between 1 and 100),
  postal_code text check (char_length(postal_code) between 1 and 20),
  country text check (country ~ '^[A-Z]{2}$'),
  email text check (email ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$' and char_length(email) <= 320),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger billing_details_updated_at before update on public.billing_details
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------
-- Invoices
-- ---------------------------------------------------------------------------

-- The last invoice number of each year. Updating the row locks it until the
-- transaction ends, so numbers are handed out one transaction at a time, and
-- a rolled-back invoice gives its number back.
create table public.invoice_number_counters (
  year integer primary key check (year between 2000 and 9999),
  last_number integer not null check (last_number >= 0)
);

create table public.invoices (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  invoice_number text not null unique check (invoice_number ~ '^INV-[0-9]{4}-[0-9]{6,}$'),
  status public.invoice_status not null default 'open',
  currency text not null default 'EUR' check (currency = 'EUR'),
  description text not null check (char_length(description) between 1 and 500),
  -- domestic: Dutch VAT; reverse_charge: an EU business elsewhere accounts for
  -- the VAT itself; outside_scope: a customer outside the EU.
  vat_treatment text not null check (vat_treatment in ('domestic', 'reverse_charge', 'outside_scope')),
  vat_rate numeric(5, 2) not null check (vat_rate >= 0 and vat_rate < 100),
  subtotal numeric(12, 2) not null check (subtotal >= 0),
  vat_amount numeric(12, 2) not null check (vat_amount >= 0),
  total numeric(12, 2) not null,
  amount_due numeric(12, 2) not null check (amount_due >= 0),
  amount_paid numeric(12, 2) not null default 0 check (amount_paid >= 0),
  -- Who was billed, as they were on the day of issue (billing details change later).
  customer jsonb not null default '{}'::jsonb check (jsonb_typeof(customer) = 'object'),
  plan_id public.plan_tier references public.plans (id),
  billing_interval public.billing_interval,
  period_start timestamptz,
  period_end timestamptz,
  issued_at timestamptz not null default now(),
  due_date date,
  paid_at timestamptz,
  invoice_url text check (invoice_url ~* '^https://' and char_length(invoice_url) <= 1000),
  provider_invoice_id text unique check (char_length(provider_invoice_id) <= 255),
  -- Creation time of the provider event that last changed this invoice.
  provider_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (total = subtotal + vat_amount),
  check (vat_treatment = 'domestic' or vat_amount = 0),
  check (period_end is null or period_start is null or period_end >= period_start),
  check ((status = 'paid') = (paid_at is not null))
);
create index invoices_organization_idx on public.invoices (organization_id, issued_at desc, id desc);
create index invoices_organization_status_idx on public.invoices (organization_id, status, issued_at desc, id desc);

create table public.invoice_lines (
  id uuid primary key default gen_random_uuid(),
  invoice_id uuid not null references public.invoices (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  position smallint not null check (position >= 1),
  description text not null check (char_length(description) between 1 and 500),
  quantity integer not null default 1 check (quantity >= 1),
  -- Negative for a credit (the unused part of a plan that was left).
  unit_amount numeric(12, 2) not null,
  amount numeric(12, 2) not null,
  period_start timestamptz,
  period_end timestamptz,
  unique (invoice_id, position),
  check (amount = unit_amount * quantity)
);
create index invoice_lines_organization_idx on public.invoice_lines (organization_id);

create trigger invoices_updated_at before update on public.invoices
  for each row execute function app.set_updated_at();

-- The next number of the invoice's year (UTC), INV-2026-000001 onwards.
create function app.number_invoice() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_year integer := extract(year from new.issued_at at time zone 'UTC')::integer;
  v_number integer;
begin
  insert into public.invoice_number_counters as c (year, last_number) values (v_year, 1)
  on conflict (year) do update set last_number = c.last_number + 1
  returning c.last_number into v_number;
  new.invoice_number := 'INV-' || v_year::text || '-' || lpad(v_number::text, 6, '0');
  return new;
end
$$;

create trigger invoices_number before insert on public.invoices
  for each row execute function app.number_invoice();

-- ---------------------------------------------------------------------------
-- Payment-provider webhooks already applied (keyed by the provider's event id)
-- ---------------------------------------------------------------------------

create table public.payment_provider_events (
  id text primary key check (char_length(id) between 1 and 255),
  type text not null check (char_length(type) between 1 and 255),
  -- The id of the object the event is about (sub_..., in_..., pm_...), so a
  -- late event can ask whether a newer one about the same object came first.
  object_id text check (char_length(object_id) <= 255),
  event_created_at timestamptz not null,
  processed_at timestamptz not null default now()
);
create index payment_provider_events_object_idx on public.payment_provider_events (object_id, event_created_at) where object_id is not null;

-- ---------------------------------------------------------------------------
-- Row level security and grants
-- ---------------------------------------------------------------------------

alter table public.subscriptions enable row level security;
alter table public.subscriptions force row level security;
alter table public.payment_methods enable row level security;
alter table public.payment_methods force row level security;
alter table public.billing_details enable row level security;
alter table public.billing_details force row level security;
alter table public.invoices enable row level security;
alter table public.invoices force row level security;
alter table public.invoice_lines enable row level security;
alter table public.invoice_lines force row level security;
alter table public.invoice_number_counters enable row level security;
alter table public.invoice_number_counters force row level security;
alter table public.payment_provider_events enable row level security;
alter table public.payment_provider_events force row level security;

create policy subscriptions_select on public.subscriptions for select to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_organization_member(organization_id));
create policy subscriptions_update on public.subscriptions for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id))
  with check (organization_id = (select app.current_organization_id()));

create policy payment_methods_select on public.payment_methods for select to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));
create policy payment_methods_insert on public.payment_methods for insert to authenticated
  with check (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));
create policy payment_methods_update on public.payment_methods for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id))
  with check (organization_id = (select app.current_organization_id()));
create policy payment_methods_delete on public.payment_methods for delete to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));

create policy billing_details_select on public.billing_details for select to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));
create policy billing_details_insert on public.billing_details for insert to authenticated
  with check (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));
create policy billing_details_update on public.billing_details for update to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id))
  with check (organization_id = (select app.current_organization_id()));

create policy invoices_select on public.invoices for select to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));
-- A manager's plan change issues an invoice to pay; only back-office work marks one paid.
-- Invoices are issued by the API's own code (as service_role) and by back-office work, never
-- written by signed-in users: through Supabase's Data API they could otherwise skip a charge.

create policy invoice_lines_select on public.invoice_lines for select to authenticated
  using (organization_id = (select app.current_organization_id()) and app.is_billing_manager(organization_id));
-- Back-office tables: service_role only (it bypasses row level security; the
-- policies state the intent and keep every table's rules explicit).
create policy invoice_number_counters_select on public.invoice_number_counters for select to service_role using (true);
create policy payment_provider_events_select on public.payment_provider_events for select to service_role using (true);
create policy payment_provider_events_insert on public.payment_provider_events for insert to service_role with check (true);

grant select, insert, update, delete on public.subscriptions, public.payment_methods, public.billing_details,
  public.invoices, public.invoice_lines, public.invoice_number_counters, public.payment_provider_events to service_role;

grant select on public.subscriptions, public.payment_methods, public.billing_details, public.invoices, public.invoice_lines
  to authenticated;
-- Only what a manager may decide alone: cancel, resume, schedule a change for the period end.
-- The plan in force and the period move with an invoice, as service_role.
grant update (cancel_at_period_end, scheduled_plan_id, scheduled_interval)
  on public.subscriptions to authenticated;
grant insert (organization_id, type, is_default, card_brand, last4, exp_month, exp_year, bank_code, country,
              provider_payment_method_id),
      update (is_default),
      delete
  on public.payment_methods to authenticated;
grant insert (organization_id, company_name, btw_number, kvk_number, address_line1, address_line2, city, postal_code,
              country, email),
      update (company_name, btw_number, kvk_number, address_line1, address_line2, city, postal_code, country, email)
  on public.billing_details to authenticated;
-- Functions are executable by PUBLIC by default; only the API roles may call these.
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to authenticated, service_role;

-- migrate:down

drop table if exists public.payment_provider_events;
drop table if exists public.invoice_lines;
drop table if exists public.invoices;
drop table if exists public.invoice_number_counters;
drop table if exists public.billing_details;
drop table if exists public.payment_methods;
drop trigger if exists organizations_start_subscription on public.organizations;
drop table if exists public.subscriptions;
drop function if exists app.number_invoice();
drop function if exists app.payment_method_after_delete();
drop function if exists app.payment_method_before_update();
drop function if exists app.payment_method_before_insert();
drop function if exists app.billing_usage(uuid);
drop function if exists app.start_subscription();
drop function if exists app.sync_organization_plan();
drop function if exists app.is_billing_manager(uuid);
