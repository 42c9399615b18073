import type { Request } from 'express';
import type { RunInTransaction } from '../http/context';
import { EXECUTION_WITH_SKILL, toExecutionWithSkill, type ExecutionWithSkillRow, type SkillExecution } from './sql';

const ENDED = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 100;

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
  executionId: string,
  maxMs: number,
): Promise<SkillExecution | undefined> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const row = await inTransaction(req, async (tx) => (await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [executionId])).rows[0]);
    const execution = row ? toExecutionWithSkill(row) : undefined;
    if (!execution || hasEnded(execution) || Date.now() + POLL_MS > deadline) return execution;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
