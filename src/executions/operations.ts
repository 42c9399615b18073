import { actingOrganization, requireOrganization, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestQuery } from '../http/route';
import { problems } from '../problems';
import {
  CANCEL_EXECUTION,
  EXECUTION_WITH_SKILL,
  executionListQuery,
  skillTotalsQuery,
  toExecutionWithSkill,
  toSkillTotals,
  type ExecutionWithSkillRow,
  type SkillExecution,
  type SkillTotals,
} from './sql';
import { periodStats } from './stats';
import { hasEnded } from './wait';

// Each operation of /executions: given the request transaction and the
// request's parts (typed from the contract), it checks, reads or changes, and answers.

export const EXECUTION_NOT_FOUND = 'There is no such execution in this organization.';

/** A window whose end is not after its start is the caller's 400, before any SQL. */
export function checkWindow(window: { from?: string; to?: string }): void {
  if (window.from !== undefined && window.to !== undefined && Date.parse(window.from) >= Date.parse(window.to)) {
    throw problems.validation('`from` must be before `to`.', [{ path: '/query/from', message: 'must be before to', code: 'range' }]);
  }
}

export function listExecutions(tx: RequestTransaction, query: RequestQuery<'listExecutions'>): Promise<Page<SkillExecution>> {
  return paginate(tx, executionListQuery(requireOrganization(tx), query, pageRequest(query)), toExecutionWithSkill);
}

export function executionStatsBySkill(tx: RequestTransaction, query: RequestQuery<'getExecutionStatsBySkill'>): Promise<Page<SkillTotals>> {
  return paginate(tx, skillTotalsQuery(requireOrganization(tx), query, pageRequest(query)), toSkillTotals);
}

export function executionStatsByPeriod(tx: RequestTransaction, query: RequestQuery<'getExecutionStatsByPeriod'>) {
  return periodStats(tx, requireOrganization(tx), query);
}

export async function getExecution(tx: RequestTransaction, executionId: string): Promise<SkillExecution> {
  const found = await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [executionId, actingOrganization(tx)]);
  if (found.rowCount === 0) throw problems.notFound(EXECUTION_NOT_FOUND);
  return toExecutionWithSkill(found.rows[0]!);
}

/**
 * Cancels first and reads after, so the answer shows the execution as the
 * cancel left it; when nothing was cancelled, the read tells why (gone,
 * already ended, or not the caller's to cancel).
 */
export async function cancelExecution(tx: RequestTransaction, executionId: string): Promise<SkillExecution> {
  const organizationId = actingOrganization(tx);
  const cancelled = await tx.query<{ id: string }>(CANCEL_EXECUTION, [executionId, organizationId]);
  const found = await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [executionId, organizationId]);
  const row = found.rows[0];
  if (!row) throw problems.notFound(EXECUTION_NOT_FOUND);
  if (cancelled.rowCount === 0) {
    if (hasEnded(row)) throw problems.conflict(`This execution has already ended (${row.status}).`);
    throw problems.forbidden("Only whoever started this execution and the organization's owners and admins may cancel it.");
  }
  return toExecutionWithSkill(row);
}
