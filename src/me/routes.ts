import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { getMe } from './operations';

export function meRouter(runInTransaction: RunInTransaction): Router {
  const router = express.Router();
  // /me is about the caller, not an organization: X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  route(router, 'getMe', async ({ req, res }) => {
    res.json(await inTransaction(req, getMe));
  });

  return router;
}
