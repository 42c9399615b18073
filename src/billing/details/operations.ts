import type { RequestTransaction } from '../../db/transaction';
import type { RequestBody } from '../../http/route';
import { requireBillingManager } from '../access';
import { checkDutchVatNumber, normalizeVatNumber } from '../vat';
import { btwValidationResult, cleanDetails, mergeDetails, type BtwValidationResult, type CleanDetails } from './rules';
import {
  DETAILS_FOR_UPDATE,
  DETAILS_OF_ORGANIZATION,
  ENSURE_DETAILS_ROW,
  SAVE_DETAILS,
  storedDetails,
  toBillingDetails,
  type BillingDetails,
  type DetailsRow,
} from './sql';
import { viesCheck, type ViesOptions } from './vies';

const MANAGE = 'see and change its billing details';

export async function getBillingDetails(tx: RequestTransaction): Promise<BillingDetails> {
  const organizationId = requireBillingManager(tx, MANAGE);
  const found = await tx.query<DetailsRow>(DETAILS_OF_ORGANIZATION, [organizationId]);
  return toBillingDetails(organizationId, found.rows[0]!);
}

export async function saveBillingDetails(tx: RequestTransaction, details: CleanDetails): Promise<BillingDetails> {
  const organizationId = requireBillingManager(tx, MANAGE);
  return save(tx, organizationId, details);
}

/** Only the fields sent change; the merged whole is checked as PUT checks it (a bad one is a 422 and the transaction rolls back). */
export async function patchBillingDetails(tx: RequestTransaction, patch: RequestBody<'patchBillingDetails'>): Promise<BillingDetails> {
  const organizationId = requireBillingManager(tx, MANAGE);
  await tx.query(ENSURE_DETAILS_ROW, [organizationId]);
  const locked = await tx.query<DetailsRow>(DETAILS_FOR_UPDATE, [organizationId]);
  const details = cleanDetails(mergeDetails(storedDetails(locked.rows[0]!), patch));
  return save(tx, organizationId, details);
}

async function save(tx: RequestTransaction, organizationId: string, details: CleanDetails): Promise<BillingDetails> {
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
  return toBillingDetails(organizationId, saved.rows[0]!);
}

/** Reads nothing of any organization; VIES is asked only about a number that passes the local check. */
export async function checkBtwNumber(body: RequestBody<'validateBtwNumber'>, vies: ViesOptions): Promise<BtwValidationResult> {
  const number = normalizeVatNumber(body.btwNumber);
  const local = checkDutchVatNumber(number);
  const online = local.valid ? await viesCheck(number, vies) : { result: 'not_checked' as const, companyName: null, address: null };
  return btwValidationResult(number, local, online);
}
