import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { listPlans } from './operations';

export function plansRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  // The catalogue is the same for everyone: no organization is involved.
  route(routes, 'listPlans', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPlans(tx, query), { ignoreOrganizationHeader: true, allowServiceRole: true }));
  });

  return routes;
}
