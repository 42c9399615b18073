import { requireOrganization, type RequestTransaction } from '../db/transaction';
import { problems } from '../problems';

/**
 * Billing belongs to the organization: owners and admins manage it. Row level
 * security says the same; this check only turns "nothing visible" into a 403
 * a member can understand.
 */
export function requireBillingManager(tx: RequestTransaction, action: string): string {
  const organizationId = requireOrganization(tx);
  if (tx.organizationRole !== 'owner' && tx.organizationRole !== 'admin') {
    throw problems.forbidden(`Only owners and admins of the organization may ${action}.`);
  }
  return organizationId;
}
