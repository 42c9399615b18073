import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { PreferencesRow } from './preferences';

// Row level security keeps every statement here to the caller's own rows
// (database/029); the user id is still named so each one uses its index.

export type Notification = components['schemas']['Notification'];

export interface NotificationRow {
  id: string;
  organization_id: string | null;
  type: Notification['type'];
  title: string;
  message: string | null;
  data: Record<string, unknown>;
  link: string | null;
  is_urgent: boolean;
  read_at: string | null;
  created_at: string;
}

const COLUMNS = 'n.id, n.organization_id, n.type, n.title, n.message, n.data, n.link, n.is_urgent, n.read_at, n.created_at';

export function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    organizationId: row.organization_id,
    type: row.type,
    title: row.title,
    message: row.message,
    data: row.data,
    link: row.link,
    isRead: row.read_at !== null,
    isUrgent: row.is_urgent,
    createdAt: row.created_at,
    readAt: row.read_at,
  };
}

/** The caller's feed, newest first; only unread ones when asked (each served by its own index). */
export function notificationListQuery(userId: string, unread: boolean, page: PageRequest): PageQuery<NotificationRow> {
  return {
    select: COLUMNS,
    fromWhere: `public.notifications n where n.user_id = $1${unread ? ' and n.read_at is null' : ''}`,
    params: [userId],
    orderBy: 'n.created_at desc, n.id desc',
    page,
  };
}

/** $1 user. */
export const UNREAD_COUNT = 'select count(*)::int as unread_count from public.notifications n where n.user_id = $1 and n.read_at is null';

/** $1 user. */
export const MARK_ALL_READ = 'update public.notifications n set read_at = now() where n.user_id = $1 and n.read_at is null';

/** $1 notification, $2 read or not: keeps the first reading time when marked read again. */
export const SET_READ = `update public.notifications n
  set read_at = case when $2::boolean then coalesce(n.read_at, now()) else null end
  where n.id = $1 returning ${COLUMNS}`;

/** $1 notification. */
export const DELETE_NOTIFICATION = 'delete from public.notifications n where n.id = $1';

const PREFERENCE_COLUMNS = `email_product_updates, email_security_alerts, email_billing_reminders, email_weekly_digest,
  in_app_new_leads, in_app_task_completions, in_app_system_updates, in_app_context_updates, in_app_team_activity,
  frequency, digest_time, digest_day, quiet_hours_enabled, quiet_hours_start, quiet_hours_end, quiet_hours_days,
  quiet_hours_custom_days, time_zone`;

const PREFERENCE_SELECT = `p.email_product_updates, p.email_security_alerts, p.email_billing_reminders, p.email_weekly_digest,
  p.in_app_new_leads, p.in_app_task_completions, p.in_app_system_updates, p.in_app_context_updates, p.in_app_team_activity,
  p.frequency, to_char(p.digest_time, 'HH24:MI') as digest_time, p.digest_day, p.quiet_hours_enabled,
  to_char(p.quiet_hours_start, 'HH24:MI') as quiet_hours_start, to_char(p.quiet_hours_end, 'HH24:MI') as quiet_hours_end,
  p.quiet_hours_days, p.quiet_hours_custom_days::int[] as quiet_hours_custom_days, p.time_zone, p.updated_at`;

export type { PreferencesRow };

/** $1 user. */
export const PREFERENCES_OF = `select ${PREFERENCE_SELECT} from public.notification_preferences p where p.user_id = $1`;

/** $1 user, then the values of preferenceValues(): the whole row, made or replaced. */
export const UPSERT_PREFERENCES = `insert into public.notification_preferences as p (user_id, ${PREFERENCE_COLUMNS})
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::time, $13, $14, $15::time, $16::time, $17, $18::smallint[], $19)
  on conflict (user_id) do update set (${PREFERENCE_COLUMNS}) = (
    excluded.email_product_updates, excluded.email_security_alerts, excluded.email_billing_reminders, excluded.email_weekly_digest,
    excluded.in_app_new_leads, excluded.in_app_task_completions, excluded.in_app_system_updates, excluded.in_app_context_updates,
    excluded.in_app_team_activity, excluded.frequency, excluded.digest_time, excluded.digest_day, excluded.quiet_hours_enabled,
    excluded.quiet_hours_start, excluded.quiet_hours_end, excluded.quiet_hours_days, excluded.quiet_hours_custom_days, excluded.time_zone)
  returning ${PREFERENCE_SELECT}`;
