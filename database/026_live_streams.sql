-- Live streams: what the Server-Sent Events of the API need beside the outbox
-- of 025 (public.activity_events).
--
-- 1. Stream tickets. A browser's EventSource cannot send an Authorization
--    header, so a signed-in caller first asks for a ticket (POST
--    /stream-tickets) and opens the stream with ?ticket=. A ticket is a random
--    secret of which only the sha256 is kept, lives a minute, names the
--    caller's claims and organization as the request that asked for it ran
--    them, and is redeemed once (a delete that returns it): any instance can
--    redeem what another issued, and a second redemption finds nothing. The
--    table is in schema app: no request role reads or writes it, only the two
--    functions below.
--
-- 2. Streamed output. While a model streams, the worker appends its text to the
--    execution every few hundred milliseconds (src/skills/live-output.ts).
--    Those writes are not events worth keeping: a trigger announces each with a
--    NOTIFY of its own on channel `execution_output` (payload: the execution
--    id), and a listener reads the text from the execution itself.

-- migrate:up

create table app.stream_tickets (
  token_hash bytea primary key check (octet_length(token_hash) = 32),
  -- The request's claims (request.jwt.claims) exactly as the API set them: a
  -- user's token claims, or an API key's (with its api_key claim).
  claims jsonb not null check (jsonb_typeof(claims) = 'object'),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index stream_tickets_expires_idx on app.stream_tickets (expires_at);

-- Issues a ticket for the caller in the organization the request acts in; the
-- API hashes the secret it hands out. Returns when the ticket expires. Expired
-- tickets are swept a few at a time here, so the table stays small without a
-- loop of its own.
create function app.issue_stream_ticket(p_token_hash bytea, p_ttl_seconds integer)
  returns timestamptz
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := (select auth.uid());
  v_organization uuid := app.current_organization_id();
  v_expires timestamptz := now() + make_interval(secs => least(greatest(coalesce(p_ttl_seconds, 60), 1), 300));
begin
  if v_user is null or v_organization is null or app.current_organization_role() is null then
    raise exception 'a stream ticket is issued to a signed-in member of the organization the request acts in'
      using errcode = '42501';
  end if;
  delete from app.stream_tickets t
  where t.token_hash in (select o.token_hash from app.stream_tickets o where o.expires_at < now() limit 100);
  insert into app.stream_tickets (token_hash, claims, organization_id, user_id, expires_at)
  values (p_token_hash, current_setting('request.jwt.claims', true)::jsonb, v_organization, v_user, v_expires);
  return v_expires;
end;
$$;
revoke all on function app.issue_stream_ticket(bytea, integer) from public;
grant execute on function app.issue_stream_ticket(bytea, integer) to authenticated;

-- Redeems a ticket once: the row goes whether or not it has expired, and only
-- an unexpired one answers. Back office only (the API redeems it before it
-- knows who calls); the stream's own request then runs as the claims returned,
-- so membership and row level security are checked again there.
create function app.redeem_stream_ticket(p_token_hash bytea)
  returns table (claims jsonb, organization_id uuid)
  language sql volatile security definer
  set search_path = ''
  as $$
  with redeemed as (
    delete from app.stream_tickets t where t.token_hash = p_token_hash
    returning t.claims, t.organization_id, t.expires_at
  )
  select r.claims, r.organization_id from redeemed r where r.expires_at > now()
$$;
revoke all on function app.redeem_stream_ticket(bytea) from public;
grant execute on function app.redeem_stream_ticket(bytea) to service_role;

-- Streamed text of a running execution: announced, not recorded.
create function app.execution_output_notify() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  perform pg_notify('execution_output', new.id::text);
  return null;
end;
$$;
revoke all on function app.execution_output_notify() from public;
create trigger skill_executions_output_notify after update of output on public.skill_executions
  for each row when (new.status = 'running' and new.output is distinct from old.output)
  execute function app.execution_output_notify();

-- migrate:down

drop trigger skill_executions_output_notify on public.skill_executions;
drop function app.execution_output_notify();
drop function app.redeem_stream_ticket(bytea);
drop function app.issue_stream_ticket(bytea, integer);
drop table app.stream_tickets;
