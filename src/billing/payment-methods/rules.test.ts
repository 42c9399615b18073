import { paymentMethodProblems, paymentMethodValues } from './rules';

const ORG = '00000000-0000-4000-8000-000000000001';
const paths = (body: Parameters<typeof paymentMethodProblems>[0]) => paymentMethodProblems(body).map((error) => error.path);

describe("payment methods under the frontend's names", () => {
  test('a card with its card fields is complete and stored in the shared columns', () => {
    const card = { type: 'card' as const, isDefault: false, cardBrand: 'visa' as const, cardLast4: '4242', cardExpMonth: 12, cardExpYear: 2030, cardCountry: 'nl', stripePaymentMethodId: 'pm_1Abc' };
    expect(paths(card)).toEqual([]);
    expect(paymentMethodValues(ORG, card)).toEqual([ORG, 'card', false, 'visa', '4242', 12, 2030, null, 'NL', 'pm_1Abc']);
  });

  test('a SEPA mandate with its sepa fields is complete; codes are upper-cased', () => {
    const sepa = { type: 'sepa_debit' as const, isDefault: true, sepaBankCode: 'ingbnl2a', sepaLast4: '3456', sepaCountry: 'nl' };
    expect(paths(sepa)).toEqual([]);
    expect(paymentMethodValues(ORG, sepa)).toEqual([ORG, 'sepa_debit', true, null, '3456', null, null, 'INGBNL2A', 'NL', null]);
  });

  test("each kind needs its own fields and refuses the other kind's", () => {
    expect(paths({ type: 'card', isDefault: false })).toEqual(['/body/cardBrand', '/body/cardLast4', '/body/cardExpMonth', '/body/cardExpYear']);
    expect(paths({ type: 'sepa_debit', isDefault: false, sepaBankCode: 'INGBNL2A', sepaLast4: '3456', sepaCountry: 'NL', cardLast4: '4242', cardBrand: 'visa' })).toEqual([
      '/body/cardBrand',
      '/body/cardLast4',
    ]);
    expect(paths({ type: 'card', isDefault: false, cardBrand: 'visa', cardLast4: '4242', cardExpMonth: 1, cardExpYear: 2030, sepaLast4: '1234' })).toEqual(['/body/sepaLast4']);
  });

  test('only the last four digits, codes of the right form, and a Stripe-like id', () => {
    expect(paths({ type: 'card', isDefault: false, cardBrand: 'visa', cardLast4: '42424', cardExpMonth: 1, cardExpYear: 2030, cardCountry: 'NLD', stripePaymentMethodId: 'pm 1' })).toEqual([
      '/body/cardLast4',
      '/body/cardCountry',
      '/body/stripePaymentMethodId',
    ]);
    expect(paths({ type: 'sepa_debit', isDefault: false, sepaBankCode: 'ING-BNL', sepaLast4: 'abcd', sepaCountry: 'N1' })).toEqual([
      '/body/sepaLast4',
      '/body/sepaBankCode',
      '/body/sepaCountry',
    ]);
  });
});
