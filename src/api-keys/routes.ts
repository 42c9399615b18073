import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from './operations';

/** /api-keys: each handler parses (the contract did), calls its operation, responds. */
export function apiKeysRouter(inTransaction: RunInTransaction, options: { forget: (keyId: string) => void }): Router {
  const router = express.Router();

  route(router, 'listApiKeys', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listApiKeys(tx, query)));
  });

  route(router, 'createApiKey', async ({ body, req, res }) => {
    // The secret must not linger in a shared cache on the way back.
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json(await inTransaction(req, (tx) => createApiKey(tx, body)));
  });

  route(router, 'getApiKey', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getApiKey(tx, params.keyId)));
  });

  route(router, 'revokeApiKey', async ({ params, req, res }) => {
    const revoked = await inTransaction(req, (tx) => revokeApiKey(tx, params.keyId));
    options.forget(revoked.id);
    res.json(revoked);
  });

  route(router, 'deleteApiKey', async ({ params, req, res }) => {
    const revoked = await inTransaction(req, (tx) => revokeApiKey(tx, params.keyId));
    options.forget(revoked.id);
    res.status(204).end();
  });

  return router;
}
