import express, { type Router } from 'express';
import { requireOrganization } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { problems } from '../../problems';
import { toUsage, USAGE_SQL, type UsageRow } from './sql';

export function usageRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  // Every member reads the usage of the organization the request acts in.
  router.get('/billing/usage', async (req, res) => {
    const usage = await inTransaction(req, async (tx) => {
      const organizationId = requireOrganization(tx);
      const rows = await tx.query<UsageRow>(USAGE_SQL, [organizationId]);
      if (rows.rowCount === 0) throw problems.notFound('There is no such organization, or you are not a member of it.');
      return toUsage(organizationId, rows.rows);
    });
    res.json(usage);
  });

  return router;
}
