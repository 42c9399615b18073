import { checkDutchVatNumber } from '../vat';
import { btwValidationResult, cleanDetails, mergeDetails, type CleanDetails } from './rules';
import { viesText } from './vies';

const STORED: CleanDetails = {
  companyName: 'Acme B.V.',
  btwNumber: 'NL123456782B01',
  kvkNumber: '12345678',
  addressLine1: 'Keizersgracht 1',
  addressLine2: '2nd floor',
  city: 'Amsterdam',
  postalCode: '1015 AA',
  country: 'NL',
  email: 'billing@acme.test',
};

describe('partial billing details', () => {
  test('a field sent replaces, null clears, a field left out is kept', () => {
    const merged = cleanDetails(mergeDetails(STORED, { city: ' Utrecht ', addressLine2: null }));
    expect(merged).toEqual({ ...STORED, city: 'Utrecht', addressLine2: null });
  });

  test("an emptied form field (the frontend sends '') clears like null", () => {
    expect(cleanDetails(mergeDetails(STORED, { kvkNumber: '', addressLine2: '  ' }))).toEqual({ ...STORED, kvkNumber: null, addressLine2: null });
  });

  test('nothing sent changes nothing', () => {
    expect(cleanDetails(mergeDetails(STORED, {}))).toEqual(STORED);
  });

  test('the whole is checked: a new country must fit the kept VAT number', () => {
    expect(() => cleanDetails(mergeDetails(STORED, { country: 'DE' }))).toThrow(/VAT number is not valid/);
    expect(cleanDetails(mergeDetails(STORED, { country: 'DE', btwNumber: null })).btwNumber).toBeNull();
  });

  test('fields outside the details are not taken over', () => {
    const merged = mergeDetails(STORED, { organizationId: 'x' } as never);
    expect(merged).not.toHaveProperty('organizationId');
  });
});

describe("the frontend's BtwValidationResult", () => {
  const none = { companyName: null, address: null };

  test('valid: no error message; name and address only as VIES gave them', () => {
    const local = checkDutchVatNumber('NL123456782B01');
    expect(btwValidationResult('NL123456782B01', local, { result: 'not_checked', ...none })).toMatchObject({
      isValid: true,
      errorMessage: null,
      companyName: null,
      address: null,
      reasons: [],
    });
    const viaVies = btwValidationResult('NL123456782B01', local, { result: 'valid', companyName: 'Acme B.V.', address: 'Keizersgracht 1, Amsterdam' });
    expect(viaVies).toMatchObject({ isValid: true, companyName: 'Acme B.V.', address: 'Keizersgracht 1, Amsterdam', vies: 'valid' });
  });

  test('invalid: the reasons become the error message', () => {
    const local = checkDutchVatNumber('NL123456789B01');
    const result = btwValidationResult('NL123456789B01', local, { result: 'not_checked', ...none });
    expect(result.isValid).toBe(false);
    expect(result.errorMessage).toBe(result.reasons.join(' '));
    expect(result.errorMessage).toMatch(/check digits/);
  });

  test('VIES saying no makes a well-formed number invalid, with that reason', () => {
    const result = btwValidationResult('NL123456782B01', checkDutchVatNumber('NL123456782B01'), { result: 'invalid', ...none });
    expect(result).toMatchObject({ isValid: false, vies: 'invalid' });
    expect(result.errorMessage).toMatch(/VIES does not know/);
  });
});

describe('text from VIES', () => {
  test('withheld values ("---") and blanks are none; address lines are joined', () => {
    expect(viesText('---')).toBeNull();
    expect(viesText('')).toBeNull();
    expect(viesText(undefined)).toBeNull();
    expect(viesText(42)).toBeNull();
    expect(viesText('ACME GMBH')).toBe('ACME GMBH');
    expect(viesText('MUSTERSTR. 1\n10115 BERLIN\n')).toBe('MUSTERSTR. 1, 10115 BERLIN');
  });
});
