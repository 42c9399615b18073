import type { FieldError } from '../../problems';
import type { SubscriptionRow } from '../subscriptions/sql';
import type { PaymentMethodCreate } from './sql';

/** Which fields each kind needs; the contract leaves the combination to us. */
export function paymentMethodProblems(body: PaymentMethodCreate): FieldError[] {
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

/** The values stored for a new method: codes upper-cased, whatever the kind does not use null. */
export function paymentMethodValues(organizationId: string, body: PaymentMethodCreate): unknown[] {
  return [
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
  ];
}

/** A plan that will be billed again must keep a way to pay: free plans and plans ending with the period need none. */
export function needsPaymentMethod(subscription: Pick<SubscriptionRow, 'plan_id' | 'cancel_at_period_end'>): boolean {
  return subscription.plan_id !== 'free' && !subscription.cancel_at_period_end;
}
