import { requireOrganization, type RequestTransaction } from '../../db/transaction';
import { problems } from '../../problems';
import { toUsage, USAGE_SQL, type Usage, type UsageRow } from './sql';

/** Every member reads the usage of the organization the request acts in. */
export async function getUsage(tx: RequestTransaction): Promise<Usage> {
  const organizationId = requireOrganization(tx);
  const rows = await tx.query<UsageRow>(USAGE_SQL, [organizationId]);
  if (rows.rowCount === 0) throw problems.notFound('There is no such organization, or you are not a member of it.');
  return toUsage(organizationId, rows.rows);
}
