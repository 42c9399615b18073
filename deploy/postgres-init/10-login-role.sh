#!/bin/sh
# Run once by the postgres image when it initializes an empty volume, as the
# superuser: the API's login role (see SECURITY.md, "Setting up the login role"),
# made before the first migration so that the instances can connect as soon as one
# of them has migrated. The request roles are made here too, with the attributes
# migrations 000, 008 and 014 would give them (those create only what is missing).
set -eu
: "${API_DB_PASSWORD:?set API_DB_PASSWORD, the password of the API's login role}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v api_password="$API_DB_PASSWORD" <<'SQL'
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
  if not exists (select 1 from pg_roles where rolname = 'account_keeper') then create role account_keeper nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator noinherit nologin; end if;
end $$;
alter role authenticator with login noinherit password :'api_password';
grant authenticated, service_role, account_keeper to authenticator;
SQL
