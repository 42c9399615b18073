import { requireOrganization, type RequestTransaction } from '../../db/transaction';
import { problems } from '../../problems';
import { withoutUnhandedCalls } from './rules';
import { toUsage, USAGE_SQL, type Usage, type UsageRow } from './sql';

/** API calls this instance has leased for an organization and not handed out yet. */
export type UnhandedApiCalls = (organizationId: string) => number;

/** Every member reads the usage of the organization the request acts in. */
export async function getUsage(tx: RequestTransaction, unhanded: UnhandedApiCalls): Promise<Usage> {
  const organizationId = requireOrganization(tx);
  const rows = await tx.queryLast<UsageRow>(USAGE_SQL, [organizationId]);
  if (rows.rowCount === 0) throw problems.notFound('There is no such organization, or you are not a member of it.');
  const today = new Date().toISOString().slice(0, 10);
  return toUsage(organizationId, rows.rows.map((row) => withoutUnhandedCalls(row, unhanded(organizationId), today)));
}
