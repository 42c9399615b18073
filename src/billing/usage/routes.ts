import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { getUsage } from './operations';

export function usageRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  route(router, 'getUsage', async ({ req, res }) => {
    res.json(await inTransaction(req, getUsage));
  });

  return router;
}
