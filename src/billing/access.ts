import { requireOwnerOrAdmin, type RequestTransaction } from '../db/transaction';

/**
 * Billing belongs to the organization: owners and admins manage it. Row level
 * security says the same; this check only turns "nothing visible" into a 403
 * a member can understand.
 */
export function requireBillingManager(tx: RequestTransaction, action: string): string {
  return requireOwnerOrAdmin(tx, `Only owners and admins of the organization may ${action}.`);
}
