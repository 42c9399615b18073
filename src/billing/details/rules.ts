import type { components } from '../../generated/openapi';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { normalizeVatNumber, vatNumberProblems, type DutchVatVerdict } from '../vat';
import type { ViesResult } from './vies';

export type BtwVerdict = components['schemas']['BtwVerdict'];

/** Billing details as they are stored: trimmed, blanks as none, codes in their usual case. */
export interface CleanDetails {
  companyName: string | null;
  btwNumber: string | null;
  kvkNumber: string | null;
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  postalCode: string | null;
  country: string | null;
  email: string | null;
}

/** Trimmed text, with an all-blank value the same as none. */
const clean = (value: string | null | undefined) => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
};

/** Cleans the details and checks the VAT number against the country; a bad one is the caller's 422. */
export function cleanDetails(body: RequestBody<'putBillingDetails'>): CleanDetails {
  const country = clean(body.country)?.toUpperCase() ?? null;
  const btwNumber = clean(body.btwNumber) === null ? null : normalizeVatNumber(body.btwNumber!);
  if (btwNumber !== null) {
    const reasons = vatNumberProblems(btwNumber, country);
    if (reasons.length > 0) {
      throw problems.unprocessable(`The VAT number is not valid: ${reasons.join(' ')}`, reasons.map((message) => ({ path: '/body/btwNumber', message })));
    }
  }
  return {
    companyName: clean(body.companyName),
    btwNumber,
    kvkNumber: clean(body.kvkNumber),
    addressLine1: clean(body.addressLine1),
    addressLine2: clean(body.addressLine2),
    city: clean(body.city),
    postalCode: clean(body.postalCode),
    country,
    email: clean(body.email)?.toLowerCase() ?? null,
  };
}

/** The local check and VIES together: a number VIES does not know is invalid, whatever its check digits say. */
export function btwVerdict(number: string, local: DutchVatVerdict, online: ViesResult): BtwVerdict {
  const reasons = online === 'invalid' ? [...local.reasons, 'VIES does not know this number as an active VAT number.'] : local.reasons;
  return { btwNumber: number, valid: local.valid && online !== 'invalid', scheme: local.scheme, reasons, vies: online };
}
