-- migrate:up

-- With Supabase Auth, sessions live in Supabase, not in app.auth_sessions, so
-- no trigger sees a sign-in (018): the API records those events itself, as
-- account_keeper, through app.record_audit_event. A failed sign-in names only
-- an email; this finds whose it is (account_keeper may not read profiles) and
-- records it for each of their organizations, or nothing when nobody has it.
-- It does the same work either way, so its timing tells nothing.
create function app.record_failed_sign_in(p_email text, p_reason text) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid;
begin
  if p_reason is null or p_reason !~ '^[a-z_]{1,40}$' then
    raise exception 'a reason is a short snake_case word' using errcode = '22023';
  end if;
  select p.id into v_user from public.profiles p where lower(p.email) = lower(p_email);
  return app.record_audit_event('security', 'security.login_failed', 'account', v_user, left(p_email, 320),
    jsonb_build_object('reason', p_reason), null, v_user);
end
$$;
revoke execute on function app.record_failed_sign_in(text, text) from public;
grant execute on function app.record_failed_sign_in(text, text) to account_keeper;

-- migrate:down

drop function app.record_failed_sign_in(text, text);
