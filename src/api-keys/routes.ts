import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from './operations';

/** /api-keys: each handler parses (the contract did), calls its operation, responds. */
export function apiKeysRoutes(inTransaction: RunInTransaction, options: { forget: (keyId: string) => void }): Operations {
  const routes = new Operations();

  route(routes, 'listApiKeys', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listApiKeys(tx, query)));
  });

  route(routes, 'createApiKey', async ({ body, req, res }) => {
    // The secret must not linger in a shared cache on the way back.
    res.setHeader('Cache-Control', 'no-store');
    res.status(201).json(await inTransaction(req, (tx) => createApiKey(tx, body)));
  });

  route(routes, 'getApiKey', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getApiKey(tx, params.keyId)));
  });

  route(routes, 'revokeApiKey', async ({ params, req, res }) => {
    const revoked = await inTransaction(req, (tx) => revokeApiKey(tx, params.keyId));
    options.forget(revoked.id);
    res.json(revoked);
  });

  route(routes, 'deleteApiKey', async ({ params, req, res }) => {
    const revoked = await inTransaction(req, (tx) => revokeApiKey(tx, params.keyId));
    options.forget(revoked.id);
    res.status(204).end();
  });

  return routes;
}
