import type { SecretBox } from '../db/secret-box';

import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import type { ReflexWebhookSettings } from './hooks/settings';
import {
  activateReflex,
  checkNewReflex,
  createReflex,
  deactivateReflex,
  deleteReflex,
  getReflex,
  getReflexWebhook,
  listReflexes,
  organizationReflexStats,
  reflexStats,
  regenerateReflexSecret,
  resetReflexErrors,
  testReflex,
  updateReflex,
} from './operations';

/** /reflexes: each handler parses (the contract did), calls its operation, responds. */
export function reflexesRoutes(inTransaction: RunInTransaction, settings: ReflexWebhookSettings, secrets: SecretBox): Operations {
  const routes = new Operations();

  route(routes, 'listReflexes', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listReflexes(tx, query)));
  });

  route(routes, 'createReflex', async ({ body, req, res }) => {
    const definition = checkNewReflex(body);
    const created = await inTransaction(req, (tx) => createReflex(tx, secrets, body.skillId, definition));
    res.status(201).location(`/api/v1/reflexes/${created.id}`).json(created);
  });

  route(routes, 'getOrganizationReflexStats', async ({ req, res }) => {
    res.json(await inTransaction(req, (tx) => organizationReflexStats(tx)));
  });

  route(routes, 'getReflex', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getReflex(tx, params.reflexId)));
  });

  route(routes, 'updateReflex', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateReflex(tx, secrets, params.reflexId, body)));
  });

  route(routes, 'deleteReflex', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteReflex(tx, params.reflexId));
    res.status(204).end();
  });

  route(routes, 'activateReflex', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => activateReflex(tx, params.reflexId)));
  });

  route(routes, 'deactivateReflex', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => deactivateReflex(tx, params.reflexId)));
  });

  route(routes, 'resetReflexErrors', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => resetReflexErrors(tx, params.reflexId)));
  });

  route(routes, 'testReflex', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => testReflex(tx, params.reflexId, body)));
  });

  route(routes, 'regenerateReflexSecret', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => regenerateReflexSecret(tx, secrets, params.reflexId, settings)));
  });

  route(routes, 'getReflexWebhook', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getReflexWebhook(tx, params.reflexId, settings)));
  });

  route(routes, 'getReflexStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => reflexStats(tx, params.reflexId)));
  });

  return routes;
}
