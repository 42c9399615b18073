import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { addPaymentMethod, checkNewPaymentMethod, deletePaymentMethod, listPaymentMethods, setDefaultPaymentMethod } from './operations';

export function paymentMethodsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  route(router, 'listPaymentMethods', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPaymentMethods(tx, query)));
  });

  route(router, 'addPaymentMethod', async ({ body, req, res }) => {
    checkNewPaymentMethod(body);
    const method = await inTransaction(req, (tx) => addPaymentMethod(tx, body));
    res.status(201).location(`/api/v1/billing/payment-methods/${method.id}`).json(method);
  });

  route(router, 'deletePaymentMethod', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deletePaymentMethod(tx, params.paymentMethodId));
    res.status(204).end();
  });

  route(router, 'setDefaultPaymentMethod', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => setDefaultPaymentMethod(tx, params.paymentMethodId)));
  });

  return router;
}
