-- migrate:up

-- Sign-ins, sign-outs, ended sessions, two-factor changes and API keys reach
-- the audit log the way every other change does (017_audit_log.sql): from
-- triggers, in the transaction of the change itself, so that a change that
-- rolls back leaves no entry and one that commits always has one. The
-- request's address and user agent come from the transaction's settings
-- (app.client_ip, app.user_agent), which the API sets for account work too.

-- A session of a local account (014_local_accounts.sql) is a sign-in when it
-- starts; when it ends, a sign-out (logout), or a session terminated (ended
-- by its owner from another session, or by a reused refresh token). The
-- entries go to every organization the person is an active member of.
create function app.audit_auth_session() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform app.record_audit_event('user', 'user.login', 'session', new.id, null,
      jsonb_build_object('aal', new.aal, 'methods', (select coalesce(jsonb_agg(m ->> 'method'), '[]'::jsonb) from jsonb_array_elements(new.amr) m)),
      null, new.user_id);
  elsif old.revoked_at is null and new.revoked_at is not null then
    if new.revoked_reason = 'logout' then
      perform app.record_audit_event('user', 'user.logout', 'session', new.id, null, '{}'::jsonb, null, new.user_id);
    else
      perform app.record_audit_event('security', 'security.session_terminated', 'session', new.id, null,
        jsonb_build_object('reason', new.revoked_reason), null, new.user_id);
    end if;
  end if;
  return null;
end
$$;
create trigger auth_sessions_audit after insert or update of revoked_at on app.auth_sessions
  for each row execute function app.audit_auth_session();

-- Two-factor: enabled when enrolment is confirmed, disabled when a confirmed
-- factor goes (an unconfirmed enrolment that is dropped was never enabled).
create function app.audit_mfa_factor() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'UPDATE' and old.confirmed_at is null and new.confirmed_at is not null then
    perform app.record_audit_event('user', 'user.2fa_enabled', 'account', new.user_id, null, '{}'::jsonb, null, new.user_id);
  elsif tg_op = 'DELETE' and old.confirmed_at is not null then
    perform app.record_audit_event('user', 'user.2fa_disabled', 'account', old.user_id, null, '{}'::jsonb, null, old.user_id);
  end if;
  return null;
end
$$;
create trigger mfa_factors_audit after update of confirmed_at or delete on app.mfa_factors
  for each row execute function app.audit_mfa_factor();

-- API keys (015_api_keys.sql): created, and revoked (once: the guard makes
-- revocation final). Never the secret or its hash; the scopes and expiry are
-- what an owner reviewing the log needs.
create function app.audit_api_key() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    perform app.write_audit_entry(new.organization_id, 'security.api_key_created', 'api_key', new.id, new.name, '{}'::jsonb,
      jsonb_build_object('scopes', to_jsonb(new.scopes), 'expiresAt', new.expires_at, 'keyPrefix', 'dtk_live_' || new.public_id),
      new.created_by);
  elsif old.revoked_at is null and new.revoked_at is not null then
    perform app.write_audit_entry(new.organization_id, 'security.api_key_revoked', 'api_key', new.id, new.name, '{}'::jsonb,
      jsonb_build_object('keyPrefix', 'dtk_live_' || new.public_id), null);
  end if;
  return null;
end
$$;
create trigger api_keys_audit after insert or update of revoked_at on public.api_keys
  for each row execute function app.audit_api_key();

-- Trigger functions run by the database alone: no role calls them.
revoke execute on function app.audit_auth_session(), app.audit_mfa_factor(), app.audit_api_key() from public;

-- A failed sign-in changes no row the database could watch (the brute-force
-- window counts every attempt and gives successes back), so the API records it
-- itself, as account_keeper, once the password check failed.
grant execute on function app.record_audit_event(public.audit_event_category, text, text, uuid, text, jsonb, uuid, uuid) to account_keeper;

-- migrate:down

revoke execute on function app.record_audit_event(public.audit_event_category, text, text, uuid, text, jsonb, uuid, uuid) from account_keeper;
drop trigger api_keys_audit on public.api_keys;
drop function app.audit_api_key();
drop trigger mfa_factors_audit on app.mfa_factors;
drop function app.audit_mfa_factor();
drop trigger auth_sessions_audit on app.auth_sessions;
drop function app.audit_auth_session();
