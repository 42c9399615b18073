import { requireOrganization, type RequestTransaction } from '../../db/transaction';
import type { RequestBody, ResponseBody } from '../../http/route';
import { BULK_DELETE_SKILLS, BULK_SET_SKILLS_ACTIVE, VISIBLE_SKILL_IDS } from '../sql';

type BulkBody = RequestBody<'bulkSkills'>;
type BulkResult = ResponseBody<'bulkSkills', 200>;
type ItemResult = BulkResult['results'][number]['result'];

/**
 * Each id's outcome, in the order asked: changed, or else visible to the
 * caller (so theirs to see but not to change), or else not there for them.
 */
export function bulkOutcome(
  action: BulkBody['action'],
  ids: readonly string[],
  changed: ReadonlySet<string>,
  visible: ReadonlySet<string>,
): BulkResult {
  const results = ids.map((id) => {
    const result: ItemResult = changed.has(id) ? 'done' : visible.has(id) ? 'forbidden' : 'not_found';
    return { id, result };
  });
  return { action, done: changed.size, results };
}

/** Deletes, activates or deactivates the skills the caller may change; row level security leaves out the rest. */
export async function bulkSkills(tx: RequestTransaction, body: BulkBody): Promise<BulkResult> {
  requireOrganization(tx);
  const changed =
    body.action === 'delete'
      ? await tx.query<{ id: string }>(BULK_DELETE_SKILLS, [body.ids])
      : await tx.query<{ id: string }>(BULK_SET_SKILLS_ACTIVE, [body.ids, body.action === 'activate']);
  const visible = await tx.query<{ id: string }>(VISIBLE_SKILL_IDS, [body.ids]);
  return bulkOutcome(
    body.action,
    body.ids,
    new Set(changed.rows.map((row) => row.id)),
    new Set(visible.rows.map((row) => row.id)),
  );
}
