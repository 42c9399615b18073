import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import type { ChangeOptions } from './change';
import { cancelSubscription, changePlan, getSubscription, resumeSubscription } from './operations';

export function subscriptionsRouter(inTransaction: RunInTransaction, options: ChangeOptions): Router {
  const router = express.Router();

  route(router, 'getSubscription', async ({ req, res }) => {
    res.json(await inTransaction(req, getSubscription));
  });

  route(router, 'changeSubscription', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => changePlan(tx, body, options)));
  });

  route(router, 'cancelSubscription', async ({ req, res }) => {
    res.json(await inTransaction(req, cancelSubscription));
  });

  route(router, 'resumeSubscription', async ({ req, res }) => {
    res.json(await inTransaction(req, resumeSubscription));
  });

  return router;
}
