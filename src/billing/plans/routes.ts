import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { PLAN_COLUMNS, toPlan, type PlanRow } from './sql';

type ListQuery = NonNullable<operations['listPlans']['parameters']['query']>;

export function plansRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  // The catalogue is the same for everyone: no organization is involved.
  router.get('/plans', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(
      req,
      (tx) =>
        paginate<PlanRow, ReturnType<typeof toPlan>>(
          tx,
          { select: PLAN_COLUMNS, fromWhere: 'public.plans p', params: [], orderBy: 'p.sort_order, p.id', page: pageRequest(query) },
          toPlan,
        ),
      { ignoreOrganizationHeader: true, allowServiceRole: true },
    );
    res.json(page);
  });

  return router;
}
