import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems, type FieldError } from '../../problems';
import { requireBillingManager } from '../access';
import { lockSubscription } from '../subscriptions/change';
import {
  INSERT_PAYMENT_METHOD,
  PAYMENT_METHOD_BY_ID,
  PAYMENT_METHOD_COLUMNS,
  toPaymentMethod,
  type PaymentMethodCreate,
  type PaymentMethodRow,
} from './sql';

type ListQuery = NonNullable<operations['listPaymentMethods']['parameters']['query']>;

const NOT_FOUND = 'There is no such payment method in this organization.';
const MANAGE = 'manage its payment methods';

/** Which fields each kind needs; the contract leaves the combination to us. */
function methodProblems(body: PaymentMethodCreate): FieldError[] {
  const errors: FieldError[] = [];
  const need = (field: keyof PaymentMethodCreate, message: string) => {
    if (body[field] === undefined) errors.push({ path: `/body/${field}`, message });
  };
  const forbid = (field: keyof PaymentMethodCreate) => {
    if (body[field] !== undefined) errors.push({ path: `/body/${field}`, message: `does not belong to a ${body.type} method` });
  };
  if (body.last4 !== undefined && !/^[0-9]{4}$/.test(body.last4)) {
    errors.push({ path: '/body/last4', message: 'must be exactly the last four digits' });
  }
  if (body.type === 'card') {
    need('cardBrand', 'a card needs its brand');
    need('last4', 'a card needs its last four digits');
    need('expMonth', 'a card needs its expiry month');
    need('expYear', 'a card needs its expiry year');
    forbid('bankCode');
  } else {
    need('bankCode', 'a SEPA mandate needs the bank code');
    need('last4', 'a SEPA mandate needs the last four digits of the account');
    need('country', "a SEPA mandate needs the account's country");
    forbid('cardBrand');
    forbid('expMonth');
    forbid('expYear');
  }
  if (body.bankCode !== undefined && !/^[A-Za-z0-9]{1,11}$/.test(body.bankCode)) {
    errors.push({ path: '/body/bankCode', message: 'a bank code is 1 to 11 letters or digits (a BIC or national code)' });
  }
  if (body.country !== undefined && !/^[A-Za-z]{2}$/.test(body.country)) {
    errors.push({ path: '/body/country', message: 'an ISO 3166-1 alpha-2 country code' });
  }
  if (body.providerPaymentMethodId !== undefined && !/^[A-Za-z0-9_]{3,255}$/.test(body.providerPaymentMethodId)) {
    errors.push({ path: '/body/providerPaymentMethodId', message: "a provider's id such as pm_1Abc..." });
  }
  return errors;
}

export function paymentMethodsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/billing/payment-methods', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) => {
      const organizationId = requireBillingManager(tx, 'see its payment methods');
      return paginate<PaymentMethodRow, ReturnType<typeof toPaymentMethod>>(
        tx,
        {
          select: PAYMENT_METHOD_COLUMNS,
          fromWhere: 'public.payment_methods pm where pm.organization_id = $1',
          params: [organizationId],
          orderBy: 'pm.is_default desc, pm.created_at desc, pm.id desc',
          page: pageRequest(query),
        },
        toPaymentMethod,
      );
    });
    res.json(page);
  });

  router.post('/billing/payment-methods', async (req, res) => {
    const body = req.body as PaymentMethodCreate;
    const errors = methodProblems(body);
    if (errors.length > 0) throw problems.unprocessable('The payment method is incomplete or mixes card and SEPA fields.', errors);
    const method = await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, MANAGE);
      const inserted = await tx.query<PaymentMethodRow>(INSERT_PAYMENT_METHOD, [
        organizationId,
        body.type,
        body.isDefault ?? false,
        body.cardBrand ?? null,
        body.last4,
        body.expMonth ?? null,
        body.expYear ?? null,
        body.bankCode?.toUpperCase() ?? null,
        body.country?.toUpperCase() ?? null,
        body.providerPaymentMethodId ?? null,
      ]);
      return toPaymentMethod(inserted.rows[0]!);
    });
    res.status(201).location(`/api/v1/billing/payment-methods/${method.id}`).json(method);
  });

  router.delete('/billing/payment-methods/:paymentMethodId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, MANAGE);
      // Locking the subscription first orders this against plan changes and other removals.
      const subscription = await lockSubscription(tx, organizationId);
      const found = await tx.query<PaymentMethodRow>(`${PAYMENT_METHOD_BY_ID} for update`, [req.params.paymentMethodId, organizationId]);
      if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
      if (subscription.plan_id !== 'free' && !subscription.cancel_at_period_end) {
        const others = await tx.query('select 1 from public.payment_methods pm where pm.organization_id = $1 and pm.id <> $2 limit 1', [
          organizationId,
          req.params.paymentMethodId,
        ]);
        if (others.rowCount === 0) {
          throw problems.conflict('This is the last payment method of a paid plan: add another first, or cancel the plan.');
        }
      }
      await tx.query('delete from public.payment_methods pm where pm.id = $1 and pm.organization_id = $2', [
        req.params.paymentMethodId,
        organizationId,
      ]);
    });
    res.status(204).end();
  });

  router.post('/billing/payment-methods/:paymentMethodId/default', async (req, res) => {
    const method = await inTransaction(req, async (tx) => {
      const organizationId = requireBillingManager(tx, MANAGE);
      const updated = await tx.query<PaymentMethodRow>(
        `update public.payment_methods pm set is_default = true where pm.id = $1 and pm.organization_id = $2
         returning ${PAYMENT_METHOD_COLUMNS}`,
        [req.params.paymentMethodId, organizationId],
      );
      if (updated.rowCount === 0) throw problems.notFound(NOT_FOUND);
      return toPaymentMethod(updated.rows[0]!);
    });
    res.json(method);
  });

  return router;
}
