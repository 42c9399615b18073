-- migrate:up

-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): what the API
-- remembers of a creating request sent with a key, so that a retry replays the
-- first answer instead of doing the work twice. One row per organization,
-- caller and key. A row is first a reservation (in flight: `reservation` and
-- `locked_until` set), taken in a short transaction of its own so that a
-- concurrent duplicate sees it before the work commits; then it holds the
-- response, or it is deleted when the work failed in a way a retry may
-- repeat. Rows older than 24 hours mean nothing and are purged.
--
-- Neither the key nor the response is kept in the clear: the key as its
-- SHA-256, the body encrypted with a key derived from the Idempotency-Key
-- itself (a response may show a secret once, such as an invitation token).

create table public.idempotency_keys (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid references public.organizations (id) on delete cascade,
  -- The caller (auth.uid()); null for the back office (service_role).
  user_id uuid,
  key_hash bytea not null check (octet_length(key_hash) = 32),
  -- SHA-256 of the request: method, path, query and canonical JSON body.
  fingerprint bytea not null check (octet_length(fingerprint) = 32),
  reservation uuid,
  locked_until timestamptz,
  response_status smallint check (response_status between 200 and 499),
  response_headers jsonb check (jsonb_typeof(response_headers) = 'object'),
  response_body bytea,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  -- In flight (a reservation with its lease) or completed (a response), never both.
  constraint idempotency_keys_in_flight_or_completed check (
    (reservation is not null and locked_until is not null and response_status is null and completed_at is null)
    or (reservation is null and locked_until is null and response_status is not null and response_headers is not null
        and response_body is not null and completed_at is not null)
  )
);

-- One key per organization and caller; the back office's rows (no user) and a
-- caller without an organization share the same rule.
create unique index idempotency_keys_scope_key on public.idempotency_keys (organization_id, user_id, key_hash) nulls not distinct;
create unique index idempotency_keys_reservation_key on public.idempotency_keys (reservation);
-- The purge deletes the oldest first.
create index idempotency_keys_created_idx on public.idempotency_keys (created_at);

alter table public.idempotency_keys enable row level security;
alter table public.idempotency_keys force row level security;

-- A caller reads its own records, in organizations it is an active member of.
-- Nobody writes them through a request role: reservations go through
-- app.claim_idempotency_key (signed-in callers) and
-- app.claim_back_office_idempotency_key (service_role); responses are
-- recorded, and old rows purged, by the API as service_role.
create policy idempotency_keys_select_own on public.idempotency_keys
  for select to authenticated
  using (user_id = (select auth.uid()) and (organization_id is null or app.is_organization_member(organization_id)));

revoke all on public.idempotency_keys from anon, authenticated, service_role;
grant select on public.idempotency_keys to authenticated;
grant select, update (reservation, locked_until, response_status, response_headers, response_body, completed_at), delete
  on public.idempotency_keys to service_role;

-- Reserves the key for a request of p_user (null: the back office) in
-- organization p_org (null: none), or says why not. Internal: the two
-- functions below call it for the caller, each executable by one request role
-- only, so that grants, not a claim naming a role, decide who is who.
-- outcome:
--   reserved   the request may run; `reservation` names it (a new key, one
--              that expired after 24 hours, or one whose holder stopped
--              answering: its lease ran out)
--   replay     a completed request with the same fingerprint: its response
--   mismatch   the key was used for another request within 24 hours
--   in_use     the same request is still running under this key
-- A concurrent insert of the same key waits for the other reservation's short
-- transaction, then sees its row: two identical requests never both run.
create function app.claim_idempotency_key_for(p_org uuid, p_user uuid, p_key_hash bytea, p_fingerprint bytea, p_lease_seconds integer)
  returns table (outcome text, reservation uuid, response_status smallint, response_headers jsonb, response_body bytea)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_reservation uuid := gen_random_uuid();
  v_row public.idempotency_keys;
begin
  if p_lease_seconds is null or p_lease_seconds < 1 or p_lease_seconds > 3600 then
    raise exception 'a lease is 1 to 3600 seconds' using errcode = '22023';
  end if;

  insert into public.idempotency_keys (organization_id, user_id, key_hash, fingerprint, reservation, locked_until)
    values (p_org, p_user, p_key_hash, p_fingerprint, v_reservation, now() + make_interval(secs => p_lease_seconds))
    on conflict (organization_id, user_id, key_hash) do nothing;
  if found then
    return query select 'reserved'::text, v_reservation, null::smallint, null::jsonb, null::bytea;
    return;
  end if;

  select * into v_row from public.idempotency_keys k
  where k.organization_id is not distinct from p_org and k.user_id is not distinct from p_user and k.key_hash = p_key_hash
  for update;
  if not found then
    -- Purged between the two statements: the key is free again.
    insert into public.idempotency_keys (organization_id, user_id, key_hash, fingerprint, reservation, locked_until)
      values (p_org, p_user, p_key_hash, p_fingerprint, v_reservation, now() + make_interval(secs => p_lease_seconds));
    return query select 'reserved'::text, v_reservation, null::smallint, null::jsonb, null::bytea;
    return;
  end if;

  if v_row.created_at < now() - interval '24 hours'
     or (v_row.response_status is null and v_row.locked_until < now() and v_row.fingerprint = p_fingerprint) then
    update public.idempotency_keys k
      set fingerprint = p_fingerprint, reservation = v_reservation,
          locked_until = now() + make_interval(secs => p_lease_seconds),
          response_status = null, response_headers = null, response_body = null,
          created_at = now(), completed_at = null
      where k.id = v_row.id;
    return query select 'reserved'::text, v_reservation, null::smallint, null::jsonb, null::bytea;
  elsif v_row.fingerprint <> p_fingerprint then
    return query select 'mismatch'::text, null::uuid, null::smallint, null::jsonb, null::bytea;
  elsif v_row.response_status is null then
    return query select 'in_use'::text, null::uuid, null::smallint, null::jsonb, null::bytea;
  else
    return query select 'replay'::text, null::uuid, v_row.response_status, v_row.response_headers, v_row.response_body;
  end if;
end
$$;

-- A signed-in caller's key: as themselves (auth.uid()), in the request's
-- organization, where they are an active member (checked again here: the
-- setting alone proves nothing).
create function app.claim_idempotency_key(p_key_hash bytea, p_fingerprint bytea, p_lease_seconds integer)
  returns table (outcome text, reservation uuid, response_status smallint, response_headers jsonb, response_body bytea)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := (select auth.uid());
  v_org uuid := app.current_organization_id();
begin
  if v_user is null then
    raise exception 'a signed-in caller records keys as themselves' using errcode = '42501';
  end if;
  if v_org is not null and not app.is_organization_member(v_org) then
    raise exception 'not a member of the selected organization' using errcode = '42501';
  end if;
  return query select * from app.claim_idempotency_key_for(v_org, v_user, p_key_hash, p_fingerprint, p_lease_seconds);
end
$$;

-- The back office's key: no user, in the organization it named (or none).
create function app.claim_back_office_idempotency_key(p_key_hash bytea, p_fingerprint bytea, p_lease_seconds integer)
  returns table (outcome text, reservation uuid, response_status smallint, response_headers jsonb, response_body bytea)
  language sql volatile security definer
  set search_path = ''
  as $$
    select * from app.claim_idempotency_key_for(app.current_organization_id(), null, p_key_hash, p_fingerprint, p_lease_seconds)
  $$;

revoke execute on function app.claim_idempotency_key_for(uuid, uuid, bytea, bytea, integer) from public, anon, authenticated, service_role;
-- service_role may call it too, as it may every function of the request roles, and is refused: it has no user.
revoke execute on function app.claim_idempotency_key(bytea, bytea, integer) from public, anon;
grant execute on function app.claim_idempotency_key(bytea, bytea, integer) to authenticated, service_role;
revoke execute on function app.claim_back_office_idempotency_key(bytea, bytea, integer) from public, anon, authenticated;
grant execute on function app.claim_back_office_idempotency_key(bytea, bytea, integer) to service_role;

-- migrate:down

drop function if exists app.claim_back_office_idempotency_key(bytea, bytea, integer);
drop function if exists app.claim_idempotency_key(bytea, bytea, integer);
drop function if exists app.claim_idempotency_key_for(uuid, uuid, bytea, bytea, integer);
drop table if exists public.idempotency_keys;
