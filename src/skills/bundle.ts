import type { SecretBox } from '../db/secret-box';

import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { exportSkills } from './operations/export';
import { checkBundle, importSkills } from './operations/import';

/** /skills/export and /skills/import: each handler parses (the contract did), calls its operation, responds. */
export function skillBundleRoutes(inTransaction: RunInTransaction, secrets: SecretBox): Operations {
  const routes = new Operations();

  route(routes, 'exportSkills', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => exportSkills(tx, query)));
  });

  route(routes, 'importSkills', async ({ body, query, req, res }) => {
    checkBundle(body);
    res.status(201).json(await inTransaction(req, (tx) => importSkills(tx, secrets, body, query)));
  });

  return routes;
}
