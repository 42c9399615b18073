import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { listPlans } from './operations';

export function plansRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  // The catalogue is the same for everyone: no organization is involved.
  route(router, 'listPlans', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPlans(tx, query), { ignoreOrganizationHeader: true, allowServiceRole: true }));
  });

  return router;
}
