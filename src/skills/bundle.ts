import type { SecretBox } from '../db/secret-box';
import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { exportSkills } from './operations/export';
import { checkBundle, importSkills } from './operations/import';

/** /skills/export and /skills/import: each handler parses (the contract did), calls its operation, responds. */
export function skillBundleRouter(inTransaction: RunInTransaction, secrets: SecretBox): Router {
  const router = express.Router();

  route(router, 'exportSkills', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => exportSkills(tx, query)));
  });

  route(router, 'importSkills', async ({ body, query, req, res }) => {
    checkBundle(body);
    res.status(201).json(await inTransaction(req, (tx) => importSkills(tx, secrets, body, query)));
  });

  return router;
}
