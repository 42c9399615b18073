import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { requireBillingManager } from '../access';
import { lockSubscription } from '../subscriptions/change';
import { needsPaymentMethod, paymentMethodProblems, paymentMethodValues } from './rules';
import {
  DELETE_PAYMENT_METHOD,
  INSERT_PAYMENT_METHOD,
  OTHER_PAYMENT_METHOD,
  PAYMENT_METHOD_FOR_UPDATE,
  paymentMethodListQuery,
  SET_DEFAULT_PAYMENT_METHOD,
  toPaymentMethod,
  type PaymentMethod,
  type PaymentMethodCreate,
  type PaymentMethodRow,
} from './sql';

const NOT_FOUND = 'There is no such payment method in this organization.';
const MANAGE = 'manage its payment methods';

export function listPaymentMethods(tx: RequestTransaction, query: RequestQuery<'listPaymentMethods'>): Promise<Page<PaymentMethod>> {
  const organizationId = requireBillingManager(tx, 'see its payment methods');
  return paginate(tx, paymentMethodListQuery(organizationId, pageRequest(query)), toPaymentMethod);
}

/** Checked before any SQL: a method that mixes card and SEPA fields is the caller's 422, whatever else holds. */
export function checkNewPaymentMethod(body: PaymentMethodCreate): void {
  const errors = paymentMethodProblems(body);
  if (errors.length > 0) throw problems.unprocessable('The payment method is incomplete or mixes card and SEPA fields.', errors);
}

export async function addPaymentMethod(tx: RequestTransaction, body: PaymentMethodCreate): Promise<PaymentMethod> {
  const organizationId = requireBillingManager(tx, MANAGE);
  const inserted = await tx.query<PaymentMethodRow>(INSERT_PAYMENT_METHOD, paymentMethodValues(organizationId, body));
  return toPaymentMethod(inserted.rows[0]!);
}

export async function deletePaymentMethod(tx: RequestTransaction, paymentMethodId: string): Promise<void> {
  const organizationId = requireBillingManager(tx, MANAGE);
  // Locking the subscription first orders this against plan changes and other removals.
  const subscription = await lockSubscription(tx, organizationId);
  const found = await tx.query<PaymentMethodRow>(PAYMENT_METHOD_FOR_UPDATE, [paymentMethodId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  if (needsPaymentMethod(subscription)) {
    const others = await tx.query(OTHER_PAYMENT_METHOD, [organizationId, paymentMethodId]);
    if (others.rowCount === 0) throw problems.conflict('This is the last payment method of a paid plan: add another first, or cancel the plan.');
  }
  await tx.query(DELETE_PAYMENT_METHOD, [paymentMethodId, organizationId]);
}

export async function setDefaultPaymentMethod(tx: RequestTransaction, paymentMethodId: string): Promise<PaymentMethod> {
  const organizationId = requireBillingManager(tx, MANAGE);
  const updated = await tx.query<PaymentMethodRow>(SET_DEFAULT_PAYMENT_METHOD, [paymentMethodId, organizationId]);
  if (updated.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toPaymentMethod(updated.rows[0]!);
}
