import type { RequestTransaction } from '../../db/transaction';
import type { RequestBody } from '../../http/route';
import { requireBillingManager } from '../access';
import { checkDutchVatNumber, normalizeVatNumber } from '../vat';
import { btwVerdict, type BtwVerdict, type CleanDetails } from './rules';
import { DETAILS_OF_ORGANIZATION, SAVE_DETAILS, toBillingDetails, type BillingDetails, type DetailsRow } from './sql';
import { viesCheck, type ViesOptions } from './vies';

const MANAGE = 'see and change its billing details';

export async function getBillingDetails(tx: RequestTransaction): Promise<BillingDetails> {
  const organizationId = requireBillingManager(tx, MANAGE);
  const found = await tx.query<DetailsRow>(DETAILS_OF_ORGANIZATION, [organizationId]);
  return toBillingDetails(organizationId, found.rows[0]);
}

export async function saveBillingDetails(tx: RequestTransaction, details: CleanDetails): Promise<BillingDetails> {
  const organizationId = requireBillingManager(tx, MANAGE);
  const saved = await tx.query<DetailsRow>(SAVE_DETAILS, [
    organizationId,
    details.companyName,
    details.btwNumber,
    details.kvkNumber,
    details.addressLine1,
    details.addressLine2,
    details.city,
    details.postalCode,
    details.country,
    details.email,
  ]);
  return toBillingDetails(organizationId, saved.rows[0]);
}

/** Reads nothing of any organization; VIES is asked only about a number that passes the local check. */
export async function checkBtwNumber(body: RequestBody<'validateBtwNumber'>, vies: ViesOptions): Promise<BtwVerdict> {
  const number = normalizeVatNumber(body.btwNumber);
  const local = checkDutchVatNumber(number);
  return btwVerdict(number, local, local.valid ? await viesCheck(number, vies) : 'not_checked');
}
