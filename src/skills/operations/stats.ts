import type { RequestTransaction } from '../../db/transaction';
import {
  byStatus,
  skillExecutionListQuery,
  successRate,
  toExecution,
  type AggregateRow,
  type ExecutionRow,
  type SkillExecution,
} from '../../executions/sql';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestQuery, ResponseBody } from '../../http/route';
import { loadSkill } from '../access';
import { LAST_SKILL_EXECUTION, SKILL_EXECUTION_TOTALS } from '../sql';

// One skill's executions: their list and their figures.

type SkillStats = ResponseBody<'getSkillStats', 200>;

export async function listSkillExecutions(
  tx: RequestTransaction,
  skillId: string,
  query: RequestQuery<'listSkillExecutions'>,
): Promise<Page<SkillExecution>> {
  const skill = await loadSkill(tx, skillId);
  return paginate(tx, skillExecutionListQuery(skill.id, query.status, pageRequest(query)), toExecution);
}

export function toSkillStats(skillId: string, figures: AggregateRow, last: ExecutionRow | undefined): SkillStats {
  return {
    skillId,
    total: figures.total,
    byStatus: byStatus(figures),
    successRate: successRate(figures),
    avgDurationMs: figures.avg_duration_ms,
    promptTokens: figures.prompt_tokens,
    completionTokens: figures.completion_tokens,
    tokensUsed: figures.tokens_used,
    costCents: figures.cost_cents,
    lastExecution: last ? toExecution(last) : null,
  };
}

export async function skillStats(tx: RequestTransaction, skillId: string): Promise<SkillStats> {
  const skill = await loadSkill(tx, skillId);
  const figures = (await tx.query<AggregateRow>(SKILL_EXECUTION_TOTALS, [skill.id])).rows[0]!;
  const last = await tx.query<ExecutionRow>(LAST_SKILL_EXECUTION, [skill.id]);
  return toSkillStats(skill.id, figures, last.rows[0]);
}
