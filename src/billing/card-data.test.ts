import fc from 'fast-check';
import { containsCardNumber, containsIban, passesLuhn, paymentSecretFields } from './card-data';

describe('card numbers and IBANs', () => {
  test('Luhn', () => {
    expect(passesLuhn('4242424242424242')).toBe(true);
    expect(passesLuhn('4242424242424241')).toBe(false);
  });

  test('full card numbers are found in any form; last four digits and ordinary text are not', () => {
    expect(containsCardNumber('4242 4242 4242 4242')).toBe(true);
    expect(containsCardNumber('card 5555-5555-5555-4444 exp')).toBe(true);
    expect(containsCardNumber('378282246310005')).toBe(true);
    expect(containsCardNumber('4242')).toBe(false);
    expect(containsCardNumber('4242424242424241')).toBe(false);
    expect(containsCardNumber('Keizersgracht 123, 1015 AA')).toBe(false);
  });

  test('any Luhn-valid 13-19 digit number is found', () => {
    const luhnNumber = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 18 }).map((digits) => {
      for (let check = 0; check <= 9; check += 1) {
        const candidate = [...digits, check].join('');
        if (passesLuhn(candidate)) return candidate;
      }
      throw new Error('unreachable');
    });
    fc.assert(fc.property(luhnNumber, (number) => expect(containsCardNumber(`pay with ${number} please`)).toBe(true)));
  });

  test('IBANs are found with or without spaces; a Dutch VAT number is not an IBAN', () => {
    expect(containsIban('NL91ABNA0417164300')).toBe(true);
    expect(containsIban('nl91 abna 0417 1643 00')).toBe(true);
    expect(containsIban('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(containsIban('NL91ABNA0417164301')).toBe(false);
    expect(containsIban('NL123456782B01')).toBe(false);
  });

  test('every string field is searched, nested ones too, and reported by path', () => {
    expect(paymentSecretFields({ type: 'card', last4: '4242', nested: { note: ['x', '4111111111111111'] } })).toEqual(['/body/nested/note/1']);
    expect(paymentSecretFields({ bankCode: 'NL91ABNA0417164300' })).toEqual(['/body/bankCode']);
    expect(paymentSecretFields({ last4: 4242424242424242 })).toEqual(['/body/last4']);
    expect(paymentSecretFields({ type: 'card', last4: '4242' })).toEqual([]);
  });
});
