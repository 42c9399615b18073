import type { RequestHandler } from 'express';
import { problems } from '../problems';
import { mod97 } from './vat';

// Full card numbers and IBANs never enter this system: a request carrying one,
// in any field, is refused before anything else reads it, and the refusal
// names the field but never echoes the value.

/** The Luhn check of payment card numbers. */
export function passesLuhn(digits: string): boolean {
  let total = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    total += digit;
    double = !double;
  }
  return total % 10 === 0;
}

/** A run of 13 to 19 digits (spaces or dashes allowed between them) that passes Luhn. */
export function containsCardNumber(text: string): boolean {
  for (const match of text.matchAll(/[0-9](?:[ -]?[0-9])*/g)) {
    const digits = match[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) return true;
  }
  return false;
}

/** Country code, 2 check digits and 11 to 30 letters or digits, with the IBAN's mod-97 check passing. */
export function containsIban(text: string): boolean {
  const compact = text.replace(/[\s-]/g, '').toUpperCase();
  for (const match of compact.matchAll(/[A-Z]{2}[0-9]{2}(?=[A-Z0-9]{11})/g)) {
    const start = match.index;
    for (let length = 15; length <= 34 && start + length <= compact.length; length += 1) {
      const candidate = compact.slice(start, start + length);
      if (!/^[A-Z0-9]+$/.test(candidate)) break;
      const rearranged = candidate.slice(4) + candidate.slice(0, 4);
      const numeric = rearranged.replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
      if (mod97(numeric) === 1) return true;
    }
  }
  return false;
}

/** JSON pointers (as the validator writes them, /body/...) of every field holding a card number or IBAN. */
export function paymentSecretFields(value: unknown, path = '/body'): string[] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    const text = String(value);
    return containsCardNumber(text) || containsIban(text) ? [path] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => paymentSecretFields(item, `${path}/${index}`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => {
      const keyPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      return [...paymentSecretFields(key, keyPath), ...paymentSecretFields(item, keyPath)];
    });
  }
  return [];
}

/** Runs before contract validation, so even a field the contract would refuse is caught (and never echoed). */
export const refusePaymentSecrets: RequestHandler = (req, _res, next) => {
  const fields = req.body === undefined ? [] : [...new Set(paymentSecretFields(req.body))];
  if (fields.length === 0) {
    next();
    return;
  }
  next(
    problems.unprocessable(
      'Send only the last four digits of a card or account. This request looks like it carries a full card number or IBAN; nothing was stored.',
      fields.map((path) => ({ path, message: 'looks like a full card number or IBAN' })),
    ),
  );
};
