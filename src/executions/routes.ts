import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import {
  cancelExecution,
  checkWindow,
  executionStatsByPeriod,
  executionStatsBySkill,
  getExecution,
  listExecutions,
} from './operations';

/** /executions: each handler parses (the contract did), calls its operation, responds. */
export function executionsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  route(router, 'listExecutions', async ({ query, req, res }) => {
    checkWindow(query);
    res.json(await inTransaction(req, (tx) => listExecutions(tx, query)));
  });

  route(router, 'getExecutionStatsBySkill', async ({ query, req, res }) => {
    checkWindow(query);
    res.json(await inTransaction(req, (tx) => executionStatsBySkill(tx, query)));
  });

  route(router, 'getExecutionStatsByPeriod', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => executionStatsByPeriod(tx, query)));
  });

  // Service tokens may read and cancel: back-office integrations follow the runs they started.
  route(router, 'getExecution', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getExecution(tx, params.executionId), { allowServiceRole: true }));
  });

  route(router, 'cancelExecution', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => cancelExecution(tx, params.executionId), { allowServiceRole: true }));
  });

  return router;
}
