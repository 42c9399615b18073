import type { RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestQuery } from '../http/route';
import { problems } from '../problems';
import { mergePreferences, preferenceErrors, preferenceValues, toPreferences, type NotificationPreferences, type PreferencesChange } from './preferences';
import {
  DELETE_NOTIFICATION,
  MARK_ALL_READ,
  notificationListQuery,
  PREFERENCES_OF,
  SET_READ,
  toNotification,
  UNREAD_COUNT,
  UPSERT_PREFERENCES,
  type Notification,
  type NotificationRow,
  type PreferencesRow,
} from './sql';

// Each operation of /notifications, about the caller alone: row level
// security shows a person only their own notifications and preferences, so
// someone else's notification is a 404 like one that does not exist.

const NOT_FOUND = 'You have no such notification.';

/** A person's inbox is theirs: a session token, not an organization's API key or a service token. */
function requirePerson(tx: RequestTransaction): string {
  if (!tx.identity.userId || tx.identity.apiKey) throw problems.forbidden('Notifications are for signed-in people, not API keys or service tokens.');
  return tx.identity.userId;
}

export function listNotifications(tx: RequestTransaction, query: RequestQuery<'listNotifications'>): Promise<Page<Notification>> {
  return paginate(tx, notificationListQuery(requirePerson(tx), query.unread === true, pageRequest(query)), toNotification);
}

export async function countUnread(tx: RequestTransaction): Promise<{ unreadCount: number }> {
  const counted = await tx.queryLast<{ unread_count: number }>(UNREAD_COUNT, [requirePerson(tx)]);
  return { unreadCount: counted.rows[0]!.unread_count };
}

export async function markAllRead(tx: RequestTransaction): Promise<{ updated: number }> {
  const updated = await tx.queryLast(MARK_ALL_READ, [requirePerson(tx)]);
  return { updated: updated.rowCount ?? 0 };
}

export async function setRead(tx: RequestTransaction, notificationId: string, isRead: boolean): Promise<Notification> {
  requirePerson(tx);
  const updated = await tx.queryLast<NotificationRow>(SET_READ, [notificationId, isRead]);
  if (updated.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toNotification(updated.rows[0]!);
}

export async function deleteNotification(tx: RequestTransaction, notificationId: string): Promise<void> {
  requirePerson(tx);
  const deleted = await tx.queryLast(DELETE_NOTIFICATION, [notificationId]);
  if (deleted.rowCount === 0) throw problems.notFound(NOT_FOUND);
}

export async function getPreferences(tx: RequestTransaction): Promise<NotificationPreferences> {
  const found = await tx.queryLast<PreferencesRow>(PREFERENCES_OF, [requirePerson(tx)]);
  return toPreferences(found.rows[0]);
}

export async function updatePreferences(tx: RequestTransaction, change: PreferencesChange): Promise<NotificationPreferences> {
  const userId = requirePerson(tx);
  const current = toPreferences((await tx.query<PreferencesRow>(PREFERENCES_OF, [userId])).rows[0]);
  const next = mergePreferences(current, change);
  const errors = preferenceErrors(next);
  if (errors.length > 0) throw problems.validation('The notification preferences are not valid.', errors);
  const saved = await tx.queryLast<PreferencesRow>(UPSERT_PREFERENCES, [userId, ...preferenceValues(next)]);
  return toPreferences(saved.rows[0]);
}
