import type { SecretBox } from '../db/secret-box';
import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
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
export function reflexesRouter(inTransaction: RunInTransaction, settings: ReflexWebhookSettings, secrets: SecretBox): Router {
  const router = express.Router();

  route(router, 'listReflexes', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listReflexes(tx, query)));
  });

  route(router, 'createReflex', async ({ body, req, res }) => {
    const definition = checkNewReflex(body);
    const created = await inTransaction(req, (tx) => createReflex(tx, secrets, body.skillId, definition));
    res.status(201).location(`/api/v1/reflexes/${created.id}`).json(created);
  });

  // /reflexes/stats before /reflexes/{reflexId}, which would take it for an id.
  route(router, 'getOrganizationReflexStats', async ({ req, res }) => {
    res.json(await inTransaction(req, (tx) => organizationReflexStats(tx)));
  });

  route(router, 'getReflex', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getReflex(tx, params.reflexId)));
  });

  route(router, 'updateReflex', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateReflex(tx, secrets, params.reflexId, body)));
  });

  route(router, 'deleteReflex', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteReflex(tx, params.reflexId));
    res.status(204).end();
  });

  route(router, 'activateReflex', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => activateReflex(tx, params.reflexId)));
  });

  route(router, 'deactivateReflex', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => deactivateReflex(tx, params.reflexId)));
  });

  route(router, 'resetReflexErrors', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => resetReflexErrors(tx, params.reflexId)));
  });

  route(router, 'testReflex', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => testReflex(tx, params.reflexId, body)));
  });

  route(router, 'regenerateReflexSecret', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => regenerateReflexSecret(tx, secrets, params.reflexId, settings)));
  });

  route(router, 'getReflexWebhook', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getReflexWebhook(tx, params.reflexId, settings)));
  });

  route(router, 'getReflexStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => reflexStats(tx, params.reflexId)));
  });

  return router;
}
