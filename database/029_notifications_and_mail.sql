-- Notifications and email.
--
-- In-app notifications are made from the activity events of 025 by a trigger
-- on public.activity_events, in the transaction that made the change: each
-- goes to the people who should know and may see its subject (the person who
-- started a run; a habit's or reflex's owner; a project's creator and members
-- who asked for ingestion or error news; billing managers for invoices;
-- owners and admins when someone joins), unless their preferences turn that
-- category off. Security alerts (a new API key, two-factor turned off, a
-- password changed) come from the audit log of 017/018 the same way.
--
-- Mail is queued durably in app.mail_outbox (private: only the SECURITY
-- DEFINER functions below touch it) and sent by a background loop that leases
-- a batch, sends, and records the outcome; a process that dies mid-send leaves
-- a lease that runs out, and the mail is sent again (at least once, never
-- lost). An invitation's token is kept only sealed by the application's secret
-- box (never in plain text) and dropped once the mail has gone.

-- migrate:up

-- Preferences ------------------------------------------------------------------

-- One row per person, made on their first change; absent, the defaults below hold.
create table public.notification_preferences (
  user_id uuid primary key references public.profiles (id) on delete cascade,
  email_product_updates boolean not null default true,
  email_security_alerts boolean not null default true,
  email_billing_reminders boolean not null default true,
  -- Digest mails at all; `frequency` says daily or weekly (realtime: no digest).
  email_weekly_digest boolean not null default true,
  in_app_new_leads boolean not null default true,
  in_app_task_completions boolean not null default true,
  in_app_system_updates boolean not null default true,
  in_app_context_updates boolean not null default true,
  in_app_team_activity boolean not null default true,
  frequency text not null default 'realtime' check (frequency in ('realtime', 'daily', 'weekly')),
  digest_time time not null default '09:00',
  -- 0 Sunday .. 6 Saturday, for weekly digests.
  digest_day smallint not null default 1 check (digest_day between 0 and 6),
  quiet_hours_enabled boolean not null default false,
  quiet_hours_start time not null default '22:00',
  quiet_hours_end time not null default '07:00',
  quiet_hours_days text not null default 'all' check (quiet_hours_days in ('all', 'weekdays', 'weekends', 'custom')),
  quiet_hours_custom_days smallint[] not null default '{}'
    check (quiet_hours_custom_days <@ array[0, 1, 2, 3, 4, 5, 6]::smallint[] and cardinality(quiet_hours_custom_days) <= 7),
  -- IANA name; checked by the API, and an unknown one reads as UTC in the background loops.
  time_zone text not null default 'UTC' check (char_length(time_zone) between 1 and 64),
  -- The digest slot last handled (sent, or found empty): a slot is handled once.
  last_digest_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create trigger notification_preferences_updated_at before update on public.notification_preferences
  for each row execute function app.set_updated_at();

alter table public.notification_preferences enable row level security;
alter table public.notification_preferences force row level security;
create policy notification_preferences_own on public.notification_preferences for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
-- A person reads and sets their own; they never delete the row (the defaults are a PATCH away).
grant select, insert on public.notification_preferences to authenticated;
grant update (
  email_product_updates, email_security_alerts, email_billing_reminders, email_weekly_digest,
  in_app_new_leads, in_app_task_completions, in_app_system_updates, in_app_context_updates, in_app_team_activity,
  frequency, digest_time, digest_day, quiet_hours_enabled, quiet_hours_start, quiet_hours_end, quiet_hours_days,
  quiet_hours_custom_days, time_zone
) on public.notification_preferences to authenticated;
-- The digest loop reads who wants digests; it writes through app.queue_digest only.
grant select on public.notification_preferences to service_role;
create policy notification_preferences_back_office on public.notification_preferences for select to service_role using (true);

-- Notifications ----------------------------------------------------------------

create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  -- The organization it is about; null for alerts about the person's own account.
  organization_id uuid references public.organizations (id) on delete cascade,
  type text not null check (type in ('new_lead', 'task_completion', 'system_update', 'context_update', 'team_activity', 'security_alert')),
  title text not null check (char_length(title) between 1 and 200),
  message text check (char_length(message) <= 2000),
  data jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  -- A path in the web app.
  link text check (char_length(link) <= 500),
  is_urgent boolean not null default false,
  read_at timestamptz,
  -- What made it (an activity event, an audit entry): one notification per source and person.
  source_key text not null check (char_length(source_key) <= 200),
  created_at timestamptz not null default now()
);
create unique index notifications_source_key on public.notifications (user_id, source_key);
-- The feed, newest first, and its unread part (the bell's count).
create index notifications_feed_idx on public.notifications (user_id, created_at desc, id desc);
create index notifications_unread_idx on public.notifications (user_id, created_at desc, id desc) where read_at is null;
create index notifications_organization_idx on public.notifications (organization_id, user_id);

alter table public.notifications enable row level security;
alter table public.notifications force row level security;
create policy notifications_own on public.notifications for all to authenticated
  using (user_id = (select auth.uid()));
-- Made only by the triggers below; a person marks theirs read or deletes them.
grant select, delete on public.notifications to authenticated;
grant update (read_at) on public.notifications to authenticated;
grant select on public.notifications to service_role;
create policy notifications_back_office on public.notifications for select to service_role using (true);

-- Whether a person's preferences let a category of in-app notification through.
create function app.wants_in_app(p_user uuid, p_preference text) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
  select coalesce((select (to_jsonb(p) ->> p_preference)::boolean from public.notification_preferences p where p.user_id = p_user), true)
$$;
revoke all on function app.wants_in_app(uuid, text) from public;

-- Mail outbox ------------------------------------------------------------------

create table app.mail_outbox (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('invitation', 'security_alert', 'digest')),
  -- The recipient when they have an account (their quiet hours apply); an invitee may have none.
  user_id uuid references public.profiles (id) on delete cascade,
  to_address text not null check (char_length(to_address) between 3 and 320),
  -- The template's values (never a secret).
  params jsonb not null default '{}' check (jsonb_typeof(params) = 'object'),
  -- An invitation's token, sealed by the application (enc:v1:...); cleared once sent.
  sealed_secret text,
  -- Security alerts go at once; the rest waits out the recipient's quiet hours.
  urgent boolean not null default false,
  dedupe_key text not null unique check (char_length(dedupe_key) <= 300),
  attempts integer not null default 0,
  -- When it may next be tried: now, after a failure's back-off, after quiet hours, or when a sender's lease runs out.
  next_attempt_at timestamptz not null default now(),
  last_error text check (char_length(last_error) <= 1000),
  sent_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now()
);
create index mail_outbox_due_idx on app.mail_outbox (next_attempt_at) where sent_at is null and failed_at is null;
create index mail_outbox_user_idx on app.mail_outbox (user_id);
create index mail_outbox_address_idx on app.mail_outbox (lower(to_address));

-- Queues a mail once per dedupe key.
create function app.queue_mail(
  p_kind text, p_user uuid, p_to text, p_params jsonb, p_urgent boolean, p_dedupe_key text, p_sealed_secret text default null
) returns void
  language sql volatile security definer
  set search_path = ''
  as $$
  insert into app.mail_outbox (kind, user_id, to_address, params, urgent, dedupe_key, sealed_secret)
  values (p_kind, p_user, p_to, p_params, p_urgent, p_dedupe_key, p_sealed_secret)
  on conflict (dedupe_key) do nothing
$$;
revoke all on function app.queue_mail(text, uuid, text, jsonb, boolean, text, text) from public;

-- The invitation mail for one invitation and its current token (sealed by the
-- API): called as the back office from the request that invited or resent.
create function app.queue_invitation_mail(p_invitation_id uuid, p_sealed_token text) returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v record;
begin
  select i.id, i.email, i.role, i.message, i.expires_at, encode(i.token_hash, 'hex') as token_hash,
         p.name as project_name, o.name as organization_name, coalesce(nullif(inviter.full_name, ''), inviter.email) as inviter_name
    into v
  from public.project_invitations i
  join public.projects p on p.id = i.project_id
  join public.organizations o on o.id = i.organization_id
  left join public.profiles inviter on inviter.id = i.invited_by
  where i.id = p_invitation_id and i.status = 'pending';
  if not found then
    return;
  end if;
  perform app.queue_mail('invitation',
    (select pr.id from public.profiles pr where lower(pr.email) = lower(v.email)),
    v.email,
    jsonb_build_object(
      'invitationId', v.id, 'projectName', v.project_name, 'organizationName', v.organization_name,
      'inviterName', v.inviter_name, 'role', v.role, 'message', v.message, 'expiresAt', app.iso_utc(v.expires_at)
    ),
    -- Not held by quiet hours: the inviter is waiting for it.
    true,
    'invitation:' || v.id || ':' || v.token_hash,
    p_sealed_token);
end;
$$;
revoke all on function app.queue_invitation_mail(uuid, text) from public;
grant execute on function app.queue_invitation_mail(uuid, text) to service_role;

-- A batch of mail due at p_now, leased for p_lease_seconds (counted as an
-- attempt); with the recipient's quiet hours, so the sender can hold what is not urgent.
create function app.claim_mail(p_now timestamptz, p_limit integer, p_lease_seconds integer)
  returns table (
    id uuid, kind text, user_id uuid, to_address text, params jsonb, sealed_secret text, urgent boolean, attempts integer,
    quiet_hours_enabled boolean, quiet_hours_start text, quiet_hours_end text, quiet_hours_days text,
    quiet_hours_custom_days smallint[], time_zone text
  )
  language sql volatile security definer
  set search_path = ''
  as $$
  with due as (
    select m.id from app.mail_outbox m
    where m.sent_at is null and m.failed_at is null and m.next_attempt_at <= p_now
    order by m.next_attempt_at, m.id
    limit least(greatest(p_limit, 1), 500)
    for update skip locked
  ), leased as (
    update app.mail_outbox m
    set attempts = m.attempts + 1, next_attempt_at = p_now + make_interval(secs => greatest(p_lease_seconds, 1))
    from due where m.id = due.id
    returning m.*
  )
  select l.id, l.kind, l.user_id, l.to_address, l.params, l.sealed_secret, l.urgent, l.attempts,
         coalesce(p.quiet_hours_enabled, false), to_char(p.quiet_hours_start, 'HH24:MI'), to_char(p.quiet_hours_end, 'HH24:MI'),
         p.quiet_hours_days, coalesce(p.quiet_hours_custom_days, '{}'), coalesce(p.time_zone, 'UTC')
  from leased l left join public.notification_preferences p on p.user_id = l.user_id
$$;
revoke all on function app.claim_mail(timestamptz, integer, integer) from public;
grant execute on function app.claim_mail(timestamptz, integer, integer) to service_role;

-- The outcome of a leased mail: sent; held (quiet hours: not an attempt); retry at p_next; or failed for good.
create function app.finish_mail(p_id uuid, p_outcome text, p_next timestamptz, p_error text) returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if p_outcome = 'sent' then
    update app.mail_outbox set sent_at = now(), sealed_secret = null, last_error = null where id = p_id;
  elsif p_outcome = 'held' then
    update app.mail_outbox set attempts = greatest(attempts - 1, 0), next_attempt_at = p_next where id = p_id;
  elsif p_outcome = 'retry' then
    update app.mail_outbox set next_attempt_at = p_next, last_error = left(p_error, 1000) where id = p_id;
  elsif p_outcome = 'failed' then
    update app.mail_outbox set failed_at = now(), sealed_secret = null, last_error = left(p_error, 1000) where id = p_id;
  else
    raise exception 'unknown mail outcome %', p_outcome using errcode = '22023';
  end if;
end;
$$;
revoke all on function app.finish_mail(uuid, text, timestamptz, text) from public;
grant execute on function app.finish_mail(uuid, text, timestamptz, text) to service_role;

-- The digest of one person's unread notifications for one slot (a daily or
-- weekly moment in their time zone, computed by the digest loop): queued once
-- per slot, and only when something is unread since the last one.
create function app.queue_digest(p_user uuid, p_slot timestamptz, p_frequency text) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_prefs public.notification_preferences;
  v_email text;
  v_items jsonb;
  v_count integer;
begin
  select * into v_prefs from public.notification_preferences p where p.user_id = p_user for update skip locked;
  if not found or (v_prefs.last_digest_at is not null and v_prefs.last_digest_at >= p_slot) then
    return 0;
  end if;
  select count(*)::int, coalesce(jsonb_agg(to_jsonb(x) order by x."createdAt" desc) filter (where x.rank <= 50), '[]')
    into v_count, v_items
  from (
    select n.type, n.title, n.message, n.link, n.is_urgent as "isUrgent", app.iso_utc(n.created_at) as "createdAt",
           row_number() over (order by n.created_at desc, n.id desc) as rank
    from public.notifications n
    where n.user_id = p_user and n.read_at is null
      and n.created_at > coalesce(v_prefs.last_digest_at, '-infinity') and n.created_at <= p_slot
  ) x;
  update public.notification_preferences set last_digest_at = p_slot where user_id = p_user;
  if v_count = 0 then
    return 0;
  end if;
  select p.email into v_email from public.profiles p where p.id = p_user;
  perform app.queue_mail('digest', p_user, v_email,
    jsonb_build_object('frequency', p_frequency, 'slot', app.iso_utc(p_slot), 'total', v_count,
                       'items', (select jsonb_agg(i - 'rank') from jsonb_array_elements(v_items) i)),
    false, 'digest:' || p_user || ':' || app.iso_utc(p_slot));
  return v_count;
end;
$$;
revoke all on function app.queue_digest(uuid, timestamptz, text) from public;
grant execute on function app.queue_digest(uuid, timestamptz, text) to service_role;

-- In-app notifications from activity events ------------------------------------

create function app.notify_from_activity() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_recipients uuid[];
  v_type text;
  v_preference text;
  v_title text;
  v_message text;
  v_link text;
  v_urgent boolean := false;
  v_name text;
begin
  if new.type in ('execution.completed', 'execution.failed') then
    -- The person who started it (a habit's or reflex's run: its owner, who is the execution's user).
    select array_remove(array[e.user_id], null), s.name into v_recipients, v_name
    from public.skill_executions e left join public.skills s on s.id = e.skill_id where e.id = new.subject_id;
    v_type := 'task_completion';
    v_preference := 'in_app_task_completions';
    v_urgent := new.type = 'execution.failed';
    v_title := case when v_urgent then 'Run failed' else 'Run completed' end;
    v_message := format('%s %s.', coalesce('"' || v_name || '"', 'A skill run'), case when v_urgent then 'failed' else 'completed' end);
    v_link := '/executions/' || new.subject_id;
  elsif new.type in ('ingestion.completed', 'ingestion.failed') then
    -- The project's creator, and its members who asked for this news (notifyOnIngestion / notifyOnError).
    select array(
      select p.user_id from public.projects p where p.id = new.project_id and p.user_id is not null
      union
      select pm.user_id from public.project_members pm
      where pm.project_id = new.project_id
        and case when new.type = 'ingestion.completed' then pm.notify_on_ingestion else pm.notify_on_error end
    ), (select p.name from public.projects p where p.id = new.project_id)
    into v_recipients, v_name;
    v_type := 'context_update';
    v_preference := 'in_app_context_updates';
    v_urgent := new.type = 'ingestion.failed';
    v_title := case when v_urgent then 'Ingestion failed' else 'Ingestion completed' end;
    v_message := format('The ingestion of "%s" %s.', coalesce(v_name, 'a project'), case when v_urgent then 'failed' else 'is complete' end);
    v_link := '/projects/' || new.project_id;
  elsif new.type in ('habit.deactivated', 'reflex.deactivated') then
    if new.type = 'habit.deactivated' then
      select array_remove(array[h.user_id], null) into v_recipients from public.habits h where h.id = new.subject_id;
    else
      select array_remove(array[r.user_id], null) into v_recipients from public.reflexes r where r.id = new.subject_id;
    end if;
    v_type := 'system_update';
    v_preference := 'in_app_system_updates';
    v_urgent := new.data ->> 'reason' = 'failures';
    v_title := format('%s switched off', initcap(split_part(new.type, '.', 1)));
    v_message := case when v_urgent
      then format('Your %s was switched off after %s failures in a row.', split_part(new.type, '.', 1), new.data ->> 'consecutiveFailures')
      else format('Your %s was switched off.', split_part(new.type, '.', 1)) end;
    v_link := '/' || split_part(new.type, '.', 1) || 's/' || new.subject_id;
  elsif new.type in ('invoice.issued', 'invoice.paid') then
    -- Billing managers (owners and admins), who alone see invoices.
    select array(select m.user_id from public.organization_members m
                 where m.organization_id = new.organization_id and m.role in ('owner', 'admin'))
      into v_recipients;
    v_type := 'system_update';
    v_preference := 'in_app_system_updates';
    v_title := case new.type when 'invoice.issued' then 'Invoice issued' else 'Invoice paid' end;
    v_message := format('Invoice %s (%s %s) %s.', coalesce(new.data ->> 'invoiceNumber', ''), new.data ->> 'currency', new.data ->> 'total',
      case new.type when 'invoice.issued' then 'was issued' else 'is paid' end);
    v_link := '/settings/billing';
  elsif new.type = 'member.joined' then
    select array(select m.user_id from public.organization_members m
                 where m.organization_id = new.organization_id and m.role in ('owner', 'admin') and m.user_id <> new.subject_id)
      into v_recipients;
    v_type := 'team_activity';
    v_preference := 'in_app_team_activity';
    v_title := 'New member';
    v_message := format('Someone joined the organization as %s.', new.data ->> 'role');
    v_link := '/settings/team';
  else
    return null;
  end if;

  insert into public.notifications (user_id, organization_id, type, title, message, data, link, is_urgent, source_key)
  select r, new.organization_id, v_type, v_title, v_message,
         new.data || jsonb_build_object('eventType', new.type, 'subjectId', new.subject_id),
         v_link, v_urgent, 'activity:' || new.id
  from unnest(v_recipients) r
  -- Only people still active in the organization, and only as their preferences allow.
  where exists (select 1 from public.organization_members m where m.organization_id = new.organization_id and m.user_id = r and m.status = 'active')
    and app.wants_in_app(r, v_preference)
  on conflict (user_id, source_key) do nothing;
  return null;
end;
$$;
revoke all on function app.notify_from_activity() from public;
create trigger activity_events_notify after insert on public.activity_events
  for each row
  when (new.type in ('execution.completed', 'execution.failed', 'ingestion.completed', 'ingestion.failed',
                     'habit.deactivated', 'reflex.deactivated', 'invoice.issued', 'invoice.paid', 'member.joined'))
  execute function app.notify_from_activity();

-- Security alerts from the audit log -------------------------------------------
-- A new API key, two-factor turned off, a password changed, and a sign-in
-- from a browser or client the person never signed in with before.

-- A person-level event is written once per organization they belong to
-- (017's record_audit_event): the source key (event, target, transaction)
-- makes it one notification and one mail.
create function app.security_alert_from_audit() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  v_recipients uuid[];
  v_personal boolean := new.event_type like 'user.%';
  v_title text;
  v_message text;
  v_key text := 'audit:' || new.event_type || ':' || coalesce(new.target_id::text, '') || ':' || pg_current_xact_id()::text;
  v_recipient uuid;
  v_email text;
begin
  if new.event_type = 'user.login' then
    -- A sign-in is news only from a browser or client not seen before: the
    -- person signed in earlier (not this transaction), never with this user agent.
    if new.user_agent is null or new.actor_user_id is null
       or not exists (select 1 from public.audit_log a
                      where a.organization_id = new.organization_id and a.actor_user_id = new.actor_user_id
                        and a.event_type = 'user.login' and a.created_at < now())
       or exists (select 1 from public.audit_log a
                  where a.organization_id = new.organization_id and a.actor_user_id = new.actor_user_id
                    and a.event_type = 'user.login' and a.created_at < now() and a.user_agent = new.user_agent) then
      return null;
    end if;
  end if;
  if v_personal then
    v_recipients := array_remove(array[new.actor_user_id], null);
  else
    -- A new API key concerns whoever may manage the organization's keys, and its creator.
    select array(
      select m.user_id from public.organization_members m
      where m.organization_id = new.organization_id and m.role in ('owner', 'admin') and m.status = 'active'
      union select new.actor_user_id where new.actor_user_id is not null
    ) into v_recipients;
  end if;
  v_title := case new.event_type
    when 'user.password_changed' then 'Your password was changed'
    when 'user.2fa_disabled' then 'Two-factor authentication was turned off'
    when 'user.login' then 'Sign-in from a new device'
    else 'A new API key was created' end;
  v_message := case new.event_type
    when 'security.api_key_created' then format('The API key "%s" was created%s.', coalesce(new.target_name, ''),
      coalesce(' by ' || new.actor_email, ''))
    else 'If this was not you, change your password and review your sessions now.' end;

  foreach v_recipient in array v_recipients loop
    select p.email into v_email from public.profiles p where p.id = v_recipient;
    -- An account being erased has no profile left to alert.
    continue when v_email is null;
    insert into public.notifications (user_id, organization_id, type, title, message, data, link, is_urgent, source_key)
    values (v_recipient, case when v_personal then null else new.organization_id end, 'security_alert', v_title, v_message,
            jsonb_build_object('eventType', new.event_type, 'auditEntryId', new.id, 'targetId', new.target_id),
            case when v_personal then '/settings/security' else '/settings/api-keys' end, true, v_key)
    on conflict (user_id, source_key) do nothing;

    if coalesce((select np.email_security_alerts from public.notification_preferences np where np.user_id = v_recipient), true) then
      perform app.queue_mail('security_alert', v_recipient, v_email,
        jsonb_build_object('eventType', new.event_type, 'title', v_title, 'message', v_message,
                           'at', app.iso_utc(new.created_at), 'ipAddress', host(new.ip_address), 'userAgent', new.user_agent),
        true, v_key || ':' || v_recipient);
    end if;
  end loop;
  return null;
end;
$$;
revoke all on function app.security_alert_from_audit() from public;
create trigger audit_log_security_alerts after insert on public.audit_log
  for each row
  when (new.event_type in ('security.api_key_created', 'user.2fa_disabled', 'user.password_changed', 'user.login'))
  execute function app.security_alert_from_audit();

-- Leaving and erasure ----------------------------------------------------------

-- Someone who leaves an organization keeps no notifications about it.
create function app.forget_notifications_of_member() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  delete from public.notifications n where n.user_id = old.user_id and n.organization_id = old.organization_id;
  return null;
end;
$$;
revoke all on function app.forget_notifications_of_member() from public;
create trigger organization_members_forget_notifications after delete on public.organization_members
  for each row execute function app.forget_notifications_of_member();

-- An erased account (022): its notifications, preferences and mail to it go
-- with its profile (foreign keys); mail to its address without an account
-- (invitations) and mentions of it in others' notifications go here.
create function app.forget_person_in_notifications() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  delete from app.mail_outbox m where lower(m.to_address) = lower(old.email);
  update public.notifications n set data = jsonb_set(n.data, '{userId}', 'null'::jsonb)
  where n.data ->> 'userId' = old.id::text;
  return null;
end;
$$;
revoke all on function app.forget_person_in_notifications() from public;
create trigger profiles_forget_notifications after delete on public.profiles
  for each row execute function app.forget_person_in_notifications();

-- migrate:down

drop trigger profiles_forget_notifications on public.profiles;
drop function app.forget_person_in_notifications();
drop trigger organization_members_forget_notifications on public.organization_members;
drop function app.forget_notifications_of_member();
drop trigger audit_log_security_alerts on public.audit_log;
drop function app.security_alert_from_audit();
drop trigger activity_events_notify on public.activity_events;
drop function app.notify_from_activity();
drop function app.queue_digest(uuid, timestamptz, text);
drop function app.finish_mail(uuid, text, timestamptz, text);
drop function app.claim_mail(timestamptz, integer, integer);
drop function app.queue_invitation_mail(uuid, text);
drop function app.queue_mail(text, uuid, text, jsonb, boolean, text, text);
drop table app.mail_outbox;
drop function app.wants_in_app(uuid, text);
drop table public.notifications;
drop table public.notification_preferences;
