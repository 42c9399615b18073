import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { getUsage, type UnhandedApiCalls } from './operations';

export function usageRoutes(inTransaction: RunInTransaction, unhanded: UnhandedApiCalls): Operations {
  const routes = new Operations();

  route(routes, 'getUsage', async ({ req, res }) => {
    res.json(await inTransaction(req, (tx) => getUsage(tx, unhanded)));
  });

  return routes;
}
