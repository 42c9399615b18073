import type { Request } from 'express';
import type { RunInTransaction } from '../http/context';
import { EXECUTION_WITH_SKILL, toExecutionWithSkill, type ExecutionWithSkillRow, type SkillExecution } from './sql';

const ENDED = new Set(['completed', 'failed', 'cancelled']);
// Quick runs (the template runner) are seen within tens of milliseconds; slow
// model calls are read at most twice a second.
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 500;

export function hasEnded(execution: Pick<SkillExecution, 'status'>): boolean {
  return ENDED.has(execution.status);
}

/**
 * Reads the execution again and again (each read its own short transaction, as
 * the caller) until it has ended or `maxMs` has passed; returns the last read.
 * Polling keeps this independent of which instance runs the execution.
 */
export async function waitForEnd(
  inTransaction: RunInTransaction,
  req: Request,
  execution: { id: string; organizationId: string },
  maxMs: number,
): Promise<SkillExecution | undefined> {
  const deadline = Date.now() + maxMs;
  let pause = FIRST_POLL_MS;
  for (;;) {
    const left = deadline - Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pause, left))));
    const row = await inTransaction(
      req,
      async (tx) => (await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [execution.id, execution.organizationId])).rows[0],
      { allowServiceRole: true },
    );
    const latest = row ? toExecutionWithSkill(row) : undefined;
    if (!latest || hasEnded(latest) || Date.now() >= deadline) return latest;
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}
