-- migrate:up

-- The plan catalogue and the enums billing shares. Subscriptions, payment
-- methods and invoices follow in 006; usage metering and quotas in 007.
-- organizations.plan_tier (001) is the plan in force; billing keeps it in step
-- with the organization's subscription.

create type public.billing_interval as enum ('monthly', 'annually');
create type public.subscription_status as enum ('active', 'canceled', 'past_due', 'trialing', 'incomplete');
create type public.payment_method_type as enum ('card', 'sepa_debit');
create type public.card_brand as enum ('visa', 'mastercard', 'amex', 'discover', 'unknown');
create type public.invoice_status as enum ('draft', 'open', 'paid', 'void', 'uncollectible');
create type public.usage_metric_type as enum ('api_calls', 'ingestions', 'storage', 'seats', 'oracle_queries');

create table public.plans (
  id public.plan_tier primary key,
  name text not null check (char_length(name) between 1 and 50),
  description text not null default '' check (char_length(description) <= 500),
  -- EUR, exact. -1 means priced on request (enterprise), as the frontend expects;
  -- a null annual price means the plan has no annual billing.
  monthly_price numeric(10, 2) not null check (monthly_price >= 0 or monthly_price = -1),
  annual_monthly_price numeric(10, 2) check (annual_monthly_price >= 0),
  -- Limits: -1 means unlimited. api_calls and ingestions per billing month,
  -- oracle_queries per day, storage_gb over all project files, seats = members.
  api_calls integer not null check (api_calls >= -1),
  ingestions integer not null check (ingestions >= -1),
  storage_gb integer not null check (storage_gb >= -1),
  seats integer not null check (seats >= -1),
  oracle_queries integer not null check (oracle_queries >= -1),
  features jsonb not null default '[]'::jsonb check (jsonb_typeof(features) = 'array'),
  is_popular boolean not null default false,
  sort_order integer not null unique
);

insert into public.plans (id, name, description, monthly_price, annual_monthly_price,
                          api_calls, ingestions, storage_gb, seats, oracle_queries, features, is_popular, sort_order)
values
  ('free', 'Free', 'For trying things out on your own.', 0, null,
   1000, 50, 1, 1, 10,
   '["Projects and ingestion", "Skills, habits and reflexes", "Community support"]', false, 1),
  ('pro', 'Pro', 'For professionals and small teams.', 29, 24,
   10000, 500, 25, 3, 100,
   '["Everything in Free", "Priority ingestion", "Email support"]', true, 2),
  ('teams', 'Teams', 'For growing teams that run skills all day.', 79, 66,
   50000, 2500, 100, 10, -1,
   '["Everything in Pro", "Unlimited oracle queries", "Role-based access", "Priority support"]', false, 3),
  ('enterprise', 'Enterprise', 'Custom limits, contracts and support.', -1, null,
   -1, -1, -1, -1, -1,
   '["Everything in Teams", "Unlimited usage", "Dedicated support", "Custom contract and invoicing"]', false, 4);

-- A catalogue, not tenant data: everyone may read it, only migrations change it.
alter table public.plans enable row level security;
alter table public.plans force row level security;
create policy plans_select on public.plans for select to anon, authenticated using (true);
grant select on public.plans to anon, authenticated;
grant select, insert, update, delete on public.plans to service_role;

-- migrate:down

drop table if exists public.plans;
drop type if exists public.usage_metric_type;
drop type if exists public.invoice_status;
drop type if exists public.card_brand;
drop type if exists public.payment_method_type;
drop type if exists public.subscription_status;
drop type if exists public.billing_interval;
