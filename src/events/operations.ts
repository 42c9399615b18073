import { requireOrganization, requireUser, type RequestTransaction } from '../db/transaction';
import type { RequestBody, ResponseBody } from '../http/route';
import { fireMatchingReflexes, MAX_REFLEXES_PER_EVENT, type ReflexCandidate } from '../reflexes/fire';
import { EVENT_REFLEX_CANDIDATES } from './sql';

type EventBody = RequestBody<'emitEvent'>;
type EventResult = ResponseBody<'emitEvent', 200>;

/** Fires the organization's active event reflexes that match, in the caller's transaction; a person must send it. */
export async function emitEvent(tx: RequestTransaction, body: EventBody): Promise<EventResult> {
  const organizationId = requireOrganization(tx);
  requireUser(tx);
  const candidates = await tx.query<ReflexCandidate>(EVENT_REFLEX_CANDIDATES, [organizationId, body.eventName, MAX_REFLEXES_PER_EVENT]);
  const event = { eventName: body.eventName, source: body.source, payload: body.payload ?? {} };
  const executions = await fireMatchingReflexes(tx, candidates.rows, event);
  return { eventName: body.eventName, source: body.source ?? null, executions };
}
