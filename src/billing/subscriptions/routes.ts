import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import type { ChangeOptions } from './change';
import { cancelSubscription, changePlan, getSubscription, resumeSubscription } from './operations';

export function subscriptionsRoutes(inTransaction: RunInTransaction, options: ChangeOptions): Operations {
  const routes = new Operations();

  route(routes, 'getSubscription', async ({ req, res }) => {
    res.json(await inTransaction(req, getSubscription));
  });

  route(routes, 'changeSubscription', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => changePlan(tx, body, options)));
  });

  route(routes, 'cancelSubscription', async ({ req, res }) => {
    res.json(await inTransaction(req, cancelSubscription));
  });

  route(routes, 'resumeSubscription', async ({ req, res }) => {
    res.json(await inTransaction(req, resumeSubscription));
  });

  return routes;
}
