import { unlessQuotaRefuses } from '../billing/quotas/refusal';
import type { RequestTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import type { Conditions } from './conditions';
import type { ReflexTriggerType } from './definition';
import { FIRE_REFLEX, START_REFLEX_RUN } from './sql';
import { matchReflex, skillInputFor, type ReflexEvent } from './triggers';

export type ReflexFiring = components['schemas']['ReflexFiring'];

/** What matching needs of a reflex. */
export interface ReflexCandidate {
  id: string;
  skill_id: string;
  trigger_type: ReflexTriggerType;
  trigger_config: Record<string, unknown>;
  conditions: Conditions;
}

/** At most this many reflexes fire for one event; the oldest first. */
export const MAX_REFLEXES_PER_EVENT = 100;

export const CANDIDATE_COLUMNS = 'r.id, r.skill_id, r.trigger_type, r.trigger_config, r.conditions';

/**
 * Starts the reflex's skill: a pending execution of type reflex, owned by the
 * reflex's owner, counted on the reflex by the database. Null when the reflex
 * or its skill is inactive. Members go through app.fire_reflex, which checks
 * that they may fire it; back-office work (signed webhooks) may start any
 * reflex, and the database grants app.start_reflex_run to it alone.
 */
export async function startReflexExecution(tx: RequestTransaction, reflexId: string, input: Record<string, unknown>): Promise<string | null> {
  const sql = tx.identity.role === 'service_role' ? START_REFLEX_RUN : FIRE_REFLEX;
  const started = await tx.query<{ id: string | null }>(sql, [reflexId, input]);
  return started.rows[0]!.id;
}

/**
 * Like startReflexExecution, but a run the organization's plan refuses (daily
 * oracle queries used up) is skipped instead of failing the caller's
 * transaction: registering a file must not fail because a reflex cannot run.
 */
async function startReflexExecutionUnlessRefused(tx: RequestTransaction, reflexId: string, input: Record<string, unknown>): Promise<string | null> {
  const started = await unlessQuotaRefuses(tx, () => startReflexExecution(tx, reflexId, input));
  return started.refused ? null : started.value;
}

/**
 * Fires every candidate whose trigger and conditions match the event, in the
 * caller's transaction. With `skipRefused`, reflexes whose run the plan
 * refuses are left out; otherwise the refusal (a 429) ends the whole request.
 */
export async function fireMatchingReflexes(
  tx: RequestTransaction,
  candidates: ReflexCandidate[],
  event: ReflexEvent,
  options: { skipRefused?: boolean } = {},
): Promise<ReflexFiring[]> {
  const firings: ReflexFiring[] = [];
  const input = skillInputFor(event);
  const start = options.skipRefused ? startReflexExecutionUnlessRefused : startReflexExecution;
  for (const candidate of candidates) {
    const verdict = matchReflex(
      { triggerType: candidate.trigger_type, triggerConfig: candidate.trigger_config, conditions: candidate.conditions },
      event,
    );
    if (!verdict.matched) continue;
    const executionId = await start(tx, candidate.id, input);
    if (executionId) firings.push({ reflexId: candidate.id, skillId: candidate.skill_id, executionId });
  }
  return firings;
}
