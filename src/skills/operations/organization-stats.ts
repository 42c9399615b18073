import { requireOrganization, type RequestTransaction } from '../../db/transaction';
import type { ResponseBody } from '../../http/route';
import { centsAsNumber, countsFor } from '../community';
import { ORGANIZATION_FIGURES, type OrganizationFiguresRow } from '../community-sql';

// GET /skills/stats: the frontend's SkillStats over the selected organization.

type OrganizationSkillStats = ResponseBody<'getOrganizationSkillStats', 200>;

const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
const TYPES = ['manual', 'habit', 'reflex', 'api'] as const;

export function toOrganizationSkillStats(row: OrganizationFiguresRow): OrganizationSkillStats {
  const executionsByStatus = countsFor(STATUSES, row.by_status);
  return {
    totalSkills: row.total_skills,
    activeSkills: row.active_skills,
    totalExecutions: STATUSES.reduce((sum, status) => sum + executionsByStatus[status], 0),
    totalTokensUsed: row.total_tokens,
    totalCostCents: centsAsNumber(row.total_cost_cents),
    totalCostCentsExact: row.total_cost_cents,
    executionsByStatus,
    executionsByType: countsFor(TYPES, row.by_type),
    topSkillsByUsage: row.top_skills,
  };
}

export async function organizationSkillStats(tx: RequestTransaction): Promise<OrganizationSkillStats> {
  const figures = await tx.query<OrganizationFiguresRow>(ORGANIZATION_FIGURES, [requireOrganization(tx)]);
  return toOrganizationSkillStats(figures.rows[0]!);
}
