import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { countUnread, deleteNotification, getPreferences, listNotifications, markAllRead, setRead, updatePreferences } from './operations';

/** /notifications: each handler parses (the contract did), calls its operation, responds. */
export function notificationsRouter(runInTransaction: RunInTransaction): Router {
  const router = express.Router();
  // A person's notifications span their organizations: X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  route(router, 'listNotifications', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listNotifications(tx, query)));
  });

  // Fixed paths before /notifications/{notificationId}, which would take them for an id.
  route(router, 'countUnreadNotifications', async ({ req, res }) => {
    res.json(await inTransaction(req, countUnread));
  });

  route(router, 'markAllNotificationsRead', async ({ req, res }) => {
    res.json(await inTransaction(req, markAllRead));
  });

  route(router, 'getNotificationPreferences', async ({ req, res }) => {
    res.json(await inTransaction(req, getPreferences));
  });

  route(router, 'updateNotificationPreferences', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updatePreferences(tx, body)));
  });

  route(router, 'updateNotification', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => setRead(tx, params.notificationId, body.isRead)));
  });

  route(router, 'deleteNotification', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteNotification(tx, params.notificationId));
    res.status(204).end();
  });

  return router;
}
