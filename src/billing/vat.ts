import type Decimal from 'decimal.js';
import { Money } from './money';

// Who pays Dutch VAT. The seller is Dutch:
// - a customer in the Netherlands (or of unknown country) pays 21%;
// - a business elsewhere in the EU that gives its VAT number pays none here:
//   the VAT is reverse-charged (the invoice says so);
// - a customer outside the EU pays none: the service is outside the scope of
//   Dutch VAT;
// - a consumer elsewhere in the EU pays Dutch VAT (below the EU's EUR 10,000
//   one-stop-shop threshold the seller's rate applies; past it, the notes say
//   what would have to change).

export type VatTreatment = 'domestic' | 'reverse_charge' | 'outside_scope';

export const DUTCH_VAT_RATE = new Money(21);

export const EU_COUNTRIES = new Set([
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT',
  'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
]);

/** The prefix of a country's VAT numbers (Greece uses EL, not its ISO code). */
export function vatPrefix(country: string): string {
  return country === 'GR' ? 'EL' : country;
}

export interface VatDecision {
  treatment: VatTreatment;
  ratePercent: Decimal;
}

export function vatFor(customer: { country: string | null; btwNumber: string | null }): VatDecision {
  const country = customer.country ?? 'NL';
  if (country === 'NL') return { treatment: 'domestic', ratePercent: DUTCH_VAT_RATE };
  if (!EU_COUNTRIES.has(country)) return { treatment: 'outside_scope', ratePercent: new Money(0) };
  if (customer.btwNumber) return { treatment: 'reverse_charge', ratePercent: new Money(0) };
  return { treatment: 'domestic', ratePercent: DUTCH_VAT_RATE };
}

/** What people type (spaces, dots, dashes, lower case) to the stored form. */
export function normalizeVatNumber(raw: string): string {
  return raw.replace(/[\s.\-]/g, '').toUpperCase();
}

export interface DutchVatVerdict {
  valid: boolean;
  scheme: 'mod11' | 'mod97' | null;
  reasons: string[];
}

const DUTCH_FORM = /^NL[0-9]{9}B[0-9]{2}$/;

/** Weighted sum of the first eight digits (9..2) must equal the ninth, modulo 11 (the classic company number). */
function passesMod11(digits: string): boolean {
  let total = 0;
  for (let i = 0; i < 8; i += 1) total += Number(digits[i]) * (9 - i);
  const check = total % 11;
  return check !== 10 && check === Number(digits[8]);
}

/**
 * Since 2020 sole proprietors get numbers checked like an IBAN: the whole
 * number with letters as numbers (A=10 ... Z=35) is 1 modulo 97.
 */
function passesMod97(number: string): boolean {
  const numeric = number.replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  return mod97(numeric) === 1;
}

/** Remainder of a long decimal string by 97, a few digits at a time (no big numbers). */
export function mod97(numeric: string): number {
  let remainder = 0;
  for (let i = 0; i < numeric.length; i += 7) {
    remainder = Number(String(remainder) + numeric.slice(i, i + 7)) % 97;
  }
  return remainder;
}

/** A Dutch VAT (BTW) number: form first, then the check digits, with a reason for every failure. */
export function checkDutchVatNumber(raw: string): DutchVatVerdict {
  const number = normalizeVatNumber(raw);
  const reasons: string[] = [];
  if (!number.startsWith('NL')) reasons.push('A Dutch VAT number starts with NL.');
  if (!DUTCH_FORM.test(number)) {
    reasons.push('A Dutch VAT number is NL, 9 digits, the letter B and 2 digits (e.g. NL123456782B01).');
    return { valid: false, scheme: null, reasons };
  }
  if (passesMod11(number.slice(2, 11))) return { valid: true, scheme: 'mod11', reasons: [] };
  if (passesMod97(number)) return { valid: true, scheme: 'mod97', reasons: [] };
  return {
    valid: false,
    scheme: null,
    reasons: ['The check digits are wrong: the number passes neither the mod-11 test (companies) nor the mod-97 test (sole proprietors). Check it for a typing error.'],
  };
}

/** Problems of a VAT number given with billing details for `country`; empty when acceptable. */
export function vatNumberProblems(number: string, country: string | null): string[] {
  if (!country) return ['Give the country with a VAT number.'];
  if (!EU_COUNTRIES.has(country)) return [`VAT numbers are for EU countries; ${country} is not one (leave it empty).`];
  if (country === 'NL') return checkDutchVatNumber(number).reasons;
  const prefix = vatPrefix(country);
  if (!number.startsWith(prefix)) return [`A VAT number of ${country} starts with ${prefix}.`];
  if (!/^[A-Z]{2}[0-9A-Z+*]{2,12}$/.test(number)) return ['A VAT number is its country prefix and 2 to 12 letters or digits.'];
  return [];
}
