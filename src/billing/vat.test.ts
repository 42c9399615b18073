import fc from 'fast-check';
import { Money } from './money';
import { checkDutchVatNumber, DUTCH_VAT_RATE, EU_COUNTRIES, mod97, normalizeVatNumber, vatFor, vatNumberProblems, vatPrefix } from './vat';

/** Nine digits whose weighted sum (9..2) modulo 11 is the ninth digit: the classic company number. */
const mod11Digits = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 })
  .map((digits) => [...digits, digits.reduce((total, digit, i) => total + digit * (9 - i), 0) % 11])
  .filter((digits) => digits[8] !== 10)
  .map((digits) => digits.join(''));

/** NL, nine digits, B and the two digits that make the whole number 1 modulo 97 (letters as 10..35). */
const mod97Number = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 }).map((digits) => {
  const body = digits.join('');
  const suffix = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0')).find(
    (two) => BigInt(`2321${body}11${two}`) % 97n === 1n,
  )!;
  return `NL${body}B${suffix}`;
});

describe('VAT', () => {
  test('who pays Dutch VAT', () => {
    expect(vatFor({ country: 'NL', btwNumber: 'NL123456782B01' })).toEqual({ treatment: 'domestic', ratePercent: new Money(21) });
    expect(vatFor({ country: null, btwNumber: null }).treatment).toBe('domestic');
    expect(vatFor({ country: 'DE', btwNumber: 'DE123456789' })).toEqual({ treatment: 'reverse_charge', ratePercent: new Money(0) });
    expect(vatFor({ country: 'DE', btwNumber: null }).treatment).toBe('domestic');
    expect(vatFor({ country: 'US', btwNumber: null })).toEqual({ treatment: 'outside_scope', ratePercent: new Money(0) });
  });

  test('Dutch VAT numbers: form, mod-11 and mod-97 check digits, with reasons', () => {
    expect(checkDutchVatNumber('NL123456782B01')).toEqual({ valid: true, scheme: 'mod11', reasons: [] });
    expect(checkDutchVatNumber('nl 1234.56782 b01').valid).toBe(true);
    // A sole proprietor's number of the 2020 scheme passes mod 97 but not mod 11.
    expect(checkDutchVatNumber('NL000099998B57')).toEqual({ valid: true, scheme: 'mod97', reasons: [] });
    const wrongDigits = checkDutchVatNumber('NL123456789B01');
    expect(wrongDigits.valid).toBe(false);
    expect(wrongDigits.reasons.join(' ')).toMatch(/check digits/);
    expect(checkDutchVatNumber('NL12345678B01').reasons.join(' ')).toMatch(/9 digits/);
    expect(checkDutchVatNumber('DE123456789').reasons.join(' ')).toMatch(/starts with NL/);
  });

  test('a VAT number must belong to the country of the billing details', () => {
    expect(vatNumberProblems('NL123456782B01', 'NL')).toEqual([]);
    expect(vatNumberProblems('DE123456789', 'DE')).toEqual([]);
    expect(vatNumberProblems('EL123456789', 'GR')).toEqual([]);
    expect(vatNumberProblems('DE123456789', 'FR')[0]).toMatch(/starts with FR/);
    expect(vatNumberProblems('US123', 'US')[0]).toMatch(/EU countries/);
    expect(vatNumberProblems('NL123456789B01', 'NL')[0]).toMatch(/check digits/);
  });
});

describe('VAT numbers as typed', () => {
  test('spaces, dots and dashes go, letters go upper case', () => {
    expect(normalizeVatNumber(' nl-1234.5678 2b01\t')).toBe('NL123456782B01');
    expect(normalizeVatNumber('de 123-456-789')).toBe('DE123456789');
  });

  test('the prefix is the country code, except Greece (EL)', () => {
    expect(vatPrefix('GR')).toBe('EL');
    expect(vatPrefix('DE')).toBe('DE');
    expect(vatNumberProblems('GR123456789', 'GR')[0]).toMatch(/starts with EL/);
  });

  test('the EU is its 27 members: no United Kingdom, Switzerland or Norway', () => {
    expect(EU_COUNTRIES.size).toBe(27);
    for (const country of ['GB', 'CH', 'NO', 'US']) expect(EU_COUNTRIES.has(country)).toBe(false);
  });

  test('every EU business but a Dutch one is reverse-charged; EU consumers and the Dutch pay 21%; outside the EU never', () => {
    for (const country of EU_COUNTRIES) {
      const business = vatFor({ country, btwNumber: `${vatPrefix(country)}123456789` });
      expect({ country, ...business }).toEqual(
        country === 'NL'
          ? { country, treatment: 'domestic', ratePercent: DUTCH_VAT_RATE }
          : { country, treatment: 'reverse_charge', ratePercent: new Money(0) },
      );
      expect({ country, ...vatFor({ country, btwNumber: null }) }).toEqual({ country, treatment: 'domestic', ratePercent: DUTCH_VAT_RATE });
      expect(vatFor({ country, btwNumber: '' }).treatment).toBe('domestic');
    }
    expect(vatFor({ country: 'CH', btwNumber: 'CHE123456789' }).treatment).toBe('outside_scope');
    expect(DUTCH_VAT_RATE.equals(21)).toBe(true);
  });

  test('problems of a VAT number with other billing details', () => {
    expect(vatNumberProblems('NL123456782B01', null)).toEqual(['Give the country with a VAT number.']);
    expect(vatNumberProblems('DE1', 'DE')[0]).toMatch(/2 to 12 letters or digits/);
    expect(vatNumberProblems(`DE${'1'.repeat(13)}`, 'DE')[0]).toMatch(/2 to 12/);
    expect(vatNumberProblems('DE12345678-9', 'DE')[0]).toMatch(/2 to 12/);
    expect(vatNumberProblems('ATU12345678', 'AT')).toEqual([]);
  });
});

describe('Dutch check digits', () => {
  test('mod97 of a long decimal string is its remainder by 97 (property, against BigInt)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 60 }), (digits) => {
        const numeric = digits.join('');
        expect(mod97(numeric)).toBe(Number(BigInt(numeric) % 97n));
      }),
    );
  });

  test('any number with a right mod-11 check digit is valid, as a company number (property)', () => {
    fc.assert(
      fc.property(mod11Digits, fc.integer({ min: 0, max: 99 }), (digits, branch) => {
        const number = `NL${digits}B${String(branch).padStart(2, '0')}`;
        expect(checkDutchVatNumber(number)).toEqual({ valid: true, scheme: 'mod11', reasons: [] });
      }),
    );
  });

  test('changing any one digit of a company number breaks its mod-11 check (property)', () => {
    fc.assert(
      fc.property(mod11Digits, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 9 }), (digits, position, shift) => {
        const changed = [...digits].map((digit, i) => (i === position ? String((Number(digit) + shift) % 10) : digit)).join('');
        expect(checkDutchVatNumber(`NL${changed}B01`).scheme).not.toBe('mod11');
      }),
    );
  });

  test('a sole proprietor number with right mod-97 check digits is valid (property)', () => {
    fc.assert(
      fc.property(mod97Number, (number) => {
        const verdict = checkDutchVatNumber(number);
        expect(verdict.valid).toBe(true);
        expect(verdict.scheme === 'mod97' || verdict.scheme === 'mod11').toBe(true);
      }),
    );
  });
});
