import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import { requireOrganization } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { cancelAtPeriodEnd, changeSubscription, resume } from './change';
import { SUBSCRIPTION_OF_ORGANIZATION, toSubscription, type SubscriptionRow } from './sql';

type ChangeBody = operations['changeSubscription']['requestBody']['content']['application/json'];

const CHANGE = 'change its plan';

export function subscriptionsRouter(inTransaction: RunInTransaction, options: { paymentsConfigured: boolean }): Router {
  const router = express.Router();

  // Every member may see which plan the organization is on.
  router.get('/billing/subscription', async (req, res) => {
    const subscription = await inTransaction(req, async (tx) => {
      const found = await tx.query<SubscriptionRow>(SUBSCRIPTION_OF_ORGANIZATION, [requireOrganization(tx)]);
      if (found.rowCount === 0) throw problems.notFound('This organization has no subscription.');
      return toSubscription(found.rows[0]!);
    });
    res.json(subscription);
  });

  router.post('/billing/subscription/change', async (req, res) => {
    const body = req.body as ChangeBody;
    const result = await inTransaction(req, (tx) =>
      changeSubscription(tx, requireBillingManager(tx, CHANGE), { planId: body.planId, billingInterval: body.billingInterval }, options),
    );
    res.json(result);
  });

  router.post('/billing/subscription/cancel', async (req, res) => {
    const subscription = await inTransaction(req, (tx) => cancelAtPeriodEnd(tx, requireBillingManager(tx, CHANGE)));
    res.json(subscription);
  });

  router.post('/billing/subscription/resume', async (req, res) => {
    const subscription = await inTransaction(req, (tx) => resume(tx, requireBillingManager(tx, CHANGE)));
    res.json(subscription);
  });

  return router;
}
