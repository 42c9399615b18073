import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { checkBtwNumber, getBillingDetails, patchBillingDetails, saveBillingDetails } from './operations';
import { cleanDetails } from './rules';
import type { ViesOptions } from './vies';

export function detailsRoutes(inTransaction: RunInTransaction, vies: ViesOptions): Operations {
  const routes = new Operations();

  route(routes, 'getBillingDetails', async ({ req, res }) => {
    res.json(await inTransaction(req, getBillingDetails));
  });

  route(routes, 'putBillingDetails', async ({ body, req, res }) => {
    const details = cleanDetails(body);
    res.json(await inTransaction(req, (tx) => saveBillingDetails(tx, details)));
  });

  route(routes, 'patchBillingDetails', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => patchBillingDetails(tx, body)));
  });

  // A pure check: it reads nothing of any organization, so any signed-in caller may use it.
  route(routes, 'validateBtwNumber', async ({ body, res }) => {
    res.json(await checkBtwNumber(body, vies));
  });

  return routes;
}
