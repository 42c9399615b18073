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
  const match = (field: keyof PaymentMethodCreate, pattern: RegExp, message: string) => {
    const value = body[field];
    if (typeof value === 'string' && !pattern.test(value)) errors.push({ path: `/body/${field}`, message });
  };
  if (body.type === 'card') {
    need('cardBrand', 'a card needs its brand');
    need('cardLast4', 'a card needs its last four digits');
    need('cardExpMonth', 'a card needs its expiry month');
    need('cardExpYear', 'a card needs its expiry year');
    for (const field of SEPA_FIELDS) forbid(field);
  } else {
    need('sepaBankCode', 'a SEPA mandate needs the bank code');
    need('sepaLast4', 'a SEPA mandate needs the last four digits of the account');
    need('sepaCountry', "a SEPA mandate needs the account's country");
    for (const field of CARD_FIELDS) forbid(field);
  }
  match('cardLast4', /^[0-9]{4}$/, 'must be exactly the last four digits');
  match('sepaLast4', /^[0-9]{4}$/, 'must be exactly the last four digits');
  match('sepaBankCode', /^[A-Za-z0-9]{1,11}$/, 'a bank code is 1 to 11 letters or digits (a BIC or national code)');
  match('sepaCountry', /^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code');
  match('cardCountry', /^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code');
  match('stripePaymentMethodId', /^[A-Za-z0-9_]{3,255}$/, "Stripe's id such as pm_1Abc...");
  return errors;
}

const CARD_FIELDS = ['cardBrand', 'cardLast4', 'cardExpMonth', 'cardExpYear', 'cardCountry'] as const;
const SEPA_FIELDS = ['sepaBankCode', 'sepaLast4', 'sepaCountry'] as const;

/**
 * The values stored for a new method (the checks above have passed): one
 * last4 and one country column serve both kinds, codes upper-cased, whatever
 * the kind does not use null.
 */
export function paymentMethodValues(organizationId: string, body: PaymentMethodCreate): unknown[] {
  const card = body.type === 'card';
  const country = card ? body.cardCountry : body.sepaCountry;
  return [
    organizationId,
    body.type,
    body.isDefault ?? false,
    card ? body.cardBrand : null,
    card ? body.cardLast4 : body.sepaLast4,
    card ? body.cardExpMonth : null,
    card ? body.cardExpYear : null,
    card ? null : body.sepaBankCode!.toUpperCase(),
    country?.toUpperCase() ?? null,
    body.stripePaymentMethodId ?? null,
  ];
}

/** A plan that will be billed again must keep a way to pay: free plans and plans ending with the period need none. */
export function needsPaymentMethod(subscription: Pick<SubscriptionRow, 'plan_id' | 'cancel_at_period_end'>): boolean {
  return subscription.plan_id !== 'free' && !subscription.cancel_at_period_end;
}
