import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { checkBtwNumber, getBillingDetails, patchBillingDetails, saveBillingDetails } from './operations';
import { cleanDetails } from './rules';
import type { ViesOptions } from './vies';

export function detailsRouter(inTransaction: RunInTransaction, vies: ViesOptions): Router {
  const router = express.Router();

  route(router, 'getBillingDetails', async ({ req, res }) => {
    res.json(await inTransaction(req, getBillingDetails));
  });

  route(router, 'putBillingDetails', async ({ body, req, res }) => {
    const details = cleanDetails(body);
    res.json(await inTransaction(req, (tx) => saveBillingDetails(tx, details)));
  });

  route(router, 'patchBillingDetails', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => patchBillingDetails(tx, body)));
  });

  // A pure check: it reads nothing of any organization, so any signed-in caller may use it.
  route(router, 'validateBtwNumber', async ({ body, res }) => {
    res.json(await checkBtwNumber(body, vies));
  });

  return router;
}
