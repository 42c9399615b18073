import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { getUsage, type UnhandedApiCalls } from './operations';

export function usageRouter(inTransaction: RunInTransaction, unhanded: UnhandedApiCalls): Router {
  const router = express.Router();

  route(router, 'getUsage', async ({ req, res }) => {
    res.json(await inTransaction(req, (tx) => getUsage(tx, unhanded)));
  });

  return router;
}
