import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { countUnread, deleteNotification, getPreferences, listNotifications, markAllRead, setRead, updatePreferences } from './operations';

/** /notifications: each handler parses (the contract did), calls its operation, responds. */
export function notificationsRoutes(runInTransaction: RunInTransaction): Operations {
  const routes = new Operations();
  // A person's notifications span their organizations: X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  route(routes, 'listNotifications', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listNotifications(tx, query)));
  });

  route(routes, 'countUnreadNotifications', async ({ req, res }) => {
    res.json(await inTransaction(req, countUnread));
  });

  route(routes, 'markAllNotificationsRead', async ({ req, res }) => {
    res.json(await inTransaction(req, markAllRead));
  });

  route(routes, 'getNotificationPreferences', async ({ req, res }) => {
    res.json(await inTransaction(req, getPreferences));
  });

  route(routes, 'updateNotificationPreferences', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updatePreferences(tx, body)));
  });

  route(routes, 'updateNotification', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => setRead(tx, params.notificationId, body.isRead)));
  });

  route(routes, 'deleteNotification', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteNotification(tx, params.notificationId));
    res.status(204).end();
  });

  return routes;
}
