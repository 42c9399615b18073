import type { components } from '../../generated/openapi';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { normalizeVatNumber, vatNumberProblems, type DutchVatVerdict } from '../vat';
import type { ViesAnswer } from './vies';

export type BtwValidationResult = components['schemas']['BtwValidationResult'];
type DetailsBody = RequestBody<'putBillingDetails'>;

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
export function cleanDetails(body: DetailsBody): CleanDetails {
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

/**
 * A partial change on top of the stored details: a field sent replaces the
 * stored one (null clears it), a field left out keeps it. The result is then
 * cleaned and checked whole, so a new country is checked against the kept VAT
 * number too.
 */
export function mergeDetails(stored: CleanDetails, patch: DetailsBody): DetailsBody {
  const merged: DetailsBody = { ...stored };
  for (const field of Object.keys(stored) as Array<keyof CleanDetails>) {
    if (Object.hasOwn(patch, field)) merged[field] = patch[field];
  }
  return merged;
}

/** The local check and VIES together: a number VIES does not know is invalid, whatever its check digits say. */
export function btwValidationResult(number: string, local: DutchVatVerdict, online: ViesAnswer): BtwValidationResult {
  const reasons = online.result === 'invalid' ? [...local.reasons, 'VIES does not know this number as an active VAT number.'] : local.reasons;
  const isValid = local.valid && online.result !== 'invalid';
  return {
    btwNumber: number,
    isValid,
    errorMessage: isValid ? null : reasons.join(' '),
    companyName: online.companyName,
    address: online.address,
    scheme: local.scheme,
    reasons,
    vies: online.result,
  };
}
