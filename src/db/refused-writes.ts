import { problems } from '../problems';
import type { RequestTransaction } from './transaction';

// Fixed statements, one per kind of row: no table name is ever built from input.
const VISIBILITY_CHECKS = {
  project: 'select 1 from public.projects where id = $1',
  organization: 'select 1 from public.organizations where id = $1',
  skill: 'select 1 from public.skills where id = $1',
} as const;

/**
 * Row level security answers a forbidden UPDATE or DELETE with "0 rows", the
 * same as a missing row. This tells the two apart for the client: 403 when the
 * caller can see the row, 404 when it does not exist for them.
 */
export async function refuseHiddenWrite(
  tx: RequestTransaction,
  kind: keyof typeof VISIBILITY_CHECKS,
  id: string,
  messages: { notFound: string; forbidden: string },
): Promise<never> {
  const visible = await tx.query(VISIBILITY_CHECKS[kind], [id]);
  if (visible.rowCount === 0) throw problems.notFound(messages.notFound);
  throw problems.forbidden(messages.forbidden);
}
