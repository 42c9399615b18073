import type { SecretBox } from '../db/secret-box';
import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { problems } from '../problems';
import {
  createWebhook,
  deleteWebhook,
  getDelivery,
  getWebhook,
  listDeliveries,
  listWebhooks,
  pauseWebhook,
  redeliver,
  resumeWebhook,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhook,
  type CheckUrl,
} from './operations';
import type { OutboundWebhookSettings } from './settings';
import { checkTarget, TargetRefused } from './targets';

/** /webhooks: outbound endpoints and their delivery log. */
export function webhooksRoutes(
  inTransaction: RunInTransaction,
  options: { settings: OutboundWebhookSettings; secrets: SecretBox; wakeDeliveries: () => void },
): Operations {
  const routes = new Operations();
  const { settings, secrets } = options;

  const checkUrl: CheckUrl = async (url) => {
    try {
      await checkTarget(url, settings.policy, settings.resolve);
    } catch (error) {
      if (!(error instanceof TargetRefused)) throw error;
      throw problems.unprocessable(error.message, [{ path: '/body/endpointUrl', message: error.message }]).because('webhook_target_refused');
    }
  };

  route(routes, 'listWebhooks', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listWebhooks(tx, query)));
  });

  route(routes, 'createWebhook', async ({ body, req, res }) => {
    const created = await inTransaction(req, (tx) => createWebhook(tx, secrets, checkUrl, body));
    res.status(201).location(`/api/v1/webhooks/${created.id}`).json(created);
  });

  route(routes, 'getWebhook', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getWebhook(tx, params.webhookId)));
  });

  route(routes, 'updateWebhook', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateWebhook(tx, checkUrl, params.webhookId, body)));
  });

  route(routes, 'deleteWebhook', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteWebhook(tx, params.webhookId));
    res.status(204).end();
  });

  route(routes, 'pauseWebhook', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => pauseWebhook(tx, params.webhookId)));
  });

  route(routes, 'resumeWebhook', async ({ params, req, res }) => {
    const resumed = await inTransaction(req, (tx) => resumeWebhook(tx, params.webhookId));
    // Deliveries that waited for it are due now.
    options.wakeDeliveries();
    res.json(resumed);
  });

  route(routes, 'rotateWebhookSecret', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => rotateWebhookSecret(tx, secrets, params.webhookId)));
  });

  route(routes, 'sendWebhookTestEvent', async ({ params, req, res }) => {
    const delivery = await inTransaction(req, (tx) => sendTestEvent(tx, params.webhookId));
    options.wakeDeliveries();
    res.status(202).location(`/api/v1/webhooks/${delivery.webhookId}/deliveries/${delivery.id}`).json(delivery);
  });

  route(routes, 'listWebhookDeliveries', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listDeliveries(tx, params.webhookId, query)));
  });

  route(routes, 'getWebhookDelivery', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getDelivery(tx, params.webhookId, params.deliveryId)));
  });

  route(routes, 'redeliverWebhookDelivery', async ({ params, req, res }) => {
    const delivery = await inTransaction(req, (tx) => redeliver(tx, params.webhookId, params.deliveryId));
    options.wakeDeliveries();
    res.status(202).location(`/api/v1/webhooks/${delivery.webhookId}/deliveries/${delivery.id}`).json(delivery);
  });

  return routes;
}
