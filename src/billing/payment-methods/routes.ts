import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { addPaymentMethod, checkNewPaymentMethod, deletePaymentMethod, listPaymentMethods, setDefaultPaymentMethod } from './operations';

export function paymentMethodsRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  route(routes, 'listPaymentMethods', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPaymentMethods(tx, query)));
  });

  route(routes, 'addPaymentMethod', async ({ body, req, res }) => {
    checkNewPaymentMethod(body);
    const method = await inTransaction(req, (tx) => addPaymentMethod(tx, body));
    res.status(201).location(`/api/v1/billing/payment-methods/${method.id}`).json(method);
  });

  route(routes, 'deletePaymentMethod', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deletePaymentMethod(tx, params.paymentMethodId));
    res.status(204).end();
  });

  route(routes, 'setDefaultPaymentMethod', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => setDefaultPaymentMethod(tx, params.paymentMethodId)));
  });

  return routes;
}
