import { actingOrganization, requireOrganization, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page, type PageRequest } from '../http/pagination';
import type { RequestQuery, ResponseBody } from '../http/route';
import { problems } from '../problems';
import { createdWindow, paging } from './rules';
import {
  CANCEL_EXECUTION,
  EXECUTION_WITH_SKILL,
  executionListQuery,
  RECENT_EXECUTIONS,
  skillTotalsQuery,
  toExecutionWithSkill,
  toSkillTotals,
  UNFINISHED_EXECUTIONS,
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
  createdWindow(window);
}

/** The page a list asks for, by page/pageSize or limit/offset; `sent` names the query parameters the client sent. */
export function listPage(query: { page?: number; pageSize?: number; limit?: number; offset?: number }, sent: ReadonlySet<string>): PageRequest {
  const requested = paging(query, sent);
  // The deep-offset bound of every list (the contract bounds offset itself).
  return requested.offset === undefined ? pageRequest(requested) : requested;
}

export function listExecutions(tx: RequestTransaction, query: RequestQuery<'listExecutions'>, page: PageRequest): Promise<Page<SkillExecution>> {
  const window = createdWindow(query);
  const filters = { skillId: query.skillId, status: query.status, executionType: query.executionType, referenceId: query.referenceId, window };
  return paginate(tx, executionListQuery(requireOrganization(tx), filters, page), toExecutionWithSkill);
}

type OwnerKind = 'habit' | 'reflex';

const OWNER_VISIBLE: Record<OwnerKind, string> = {
  habit: 'select h.id from public.habits h where h.id = $1 and h.organization_id = $2',
  reflex: 'select r.id from public.reflexes r where r.id = $1 and r.organization_id = $2',
};

/** The runs of one habit or reflex; one the caller cannot see (row level security) is a 404. */
export async function listOwnerExecutions(
  tx: RequestTransaction,
  kind: OwnerKind,
  ownerId: string,
  status: SkillExecution['status'] | undefined,
  page: PageRequest,
): Promise<Page<SkillExecution>> {
  const organizationId = requireOrganization(tx);
  const visible = await tx.query(OWNER_VISIBLE[kind], [ownerId, organizationId]);
  if (visible.rowCount === 0) throw problems.notFound(`There is no such ${kind} in this organization.`);
  const filters = { referenceId: ownerId, executionType: kind, status };
  return paginate(tx, executionListQuery(organizationId, filters, page), toExecutionWithSkill);
}

export async function recentExecutions(tx: RequestTransaction, limit: number): Promise<SkillExecution[]> {
  const rows = await tx.query<ExecutionWithSkillRow>(RECENT_EXECUTIONS, [requireOrganization(tx), limit]);
  return rows.rows.map(toExecutionWithSkill);
}

export async function unfinishedExecutions(tx: RequestTransaction, limit: number): Promise<SkillExecution[]> {
  const rows = await tx.query<ExecutionWithSkillRow>(UNFINISHED_EXECUTIONS, [requireOrganization(tx), limit]);
  return rows.rows.map(toExecutionWithSkill);
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

type Cleanup = ResponseBody<'cleanupExecutions', 200>;

const MIB = 1024 * 1024;

/**
 * Retention. The database decides who may (owners and admins of the selected
 * organization) and what goes (older than the cutoff, never an unfinished run).
 */
export async function cleanupExecutions(tx: RequestTransaction, olderThanDays: number): Promise<Cleanup> {
  requireOrganization(tx);
  let row: { deleted_count: number; freed_bytes: number; cutoff: string };
  try {
    const result = await tx.query<typeof row>('select deleted_count, freed_bytes, cutoff from app.cleanup_executions($1)', [olderThanDays]);
    row = result.rows[0]!;
  } catch (error) {
    if ((error as { code?: string }).code === '42501') {
      throw problems.forbidden("Only the organization's owners and admins delete its executions.");
    }
    throw error;
  }
  return {
    deletedCount: row.deleted_count,
    freedSpaceMb: Math.round((row.freed_bytes / MIB) * 100) / 100,
    olderThanDays,
    cutoff: row.cutoff,
  };
}
