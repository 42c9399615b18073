import express, { type Router } from 'express';
import { actingOrganization, requireOrganization } from '../db/transaction';
import type { operations } from '../generated/openapi';
import type { RunInTransaction } from '../http/context';
import { paginate, pageRequest } from '../http/pagination';
import { problems } from '../problems';
import {
  byStatus,
  EXECUTION_AGGREGATES,
  EXECUTION_WITH_SKILL,
  executionListQuery,
  successRate,
  toExecutionWithSkill,
  type AggregateRow,
  type ExecutionWithSkillRow,
} from './sql';
import { periodStats } from './stats';
import { hasEnded } from './wait';

type ListQuery = NonNullable<operations['listExecutions']['parameters']['query']>;
type BySkillQuery = NonNullable<operations['getExecutionStatsBySkill']['parameters']['query']>;
type BySkillItem = operations['getExecutionStatsBySkill']['responses']['200']['content']['application/json']['data'][number];
type ByPeriodQuery = NonNullable<operations['getExecutionStatsByPeriod']['parameters']['query']>;

export const EXECUTION_NOT_FOUND = 'There is no such execution in this organization.';

type BySkillRow = AggregateRow & Pick<ExecutionWithSkillRow, 'skill_id' | 'skill_name' | 'skill_category' | 'skill_output_format' | 'skill_is_active'> & {
  last_created_at: string;
};

function checkWindow(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && Date.parse(from) >= Date.parse(to)) {
    throw problems.validation('`from` must be before `to`.', [{ path: '/query/from', message: 'must be before to', code: 'range' }]);
  }
}

export function executionsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/executions', async (req, res) => {
    const query = req.query as ListQuery;
    checkWindow(query.from, query.to);
    const page = await inTransaction(req, (tx) =>
      paginate(tx, executionListQuery(requireOrganization(tx), query, pageRequest(query)), toExecutionWithSkill),
    );
    res.json(page);
  });

  router.get('/executions/stats/by-skill', async (req, res) => {
    const query = req.query as BySkillQuery;
    checkWindow(query.from, query.to);
    const page = await inTransaction(req, (tx) => {
      const params: unknown[] = [requireOrganization(tx), query.from ?? null, query.to ?? null];
      // One row per skill (deleted skills together under null), joined to its summary after grouping.
      const grouped = `(select e.skill_id, ${EXECUTION_AGGREGATES}, max(e.created_at) as last_created_at
          from public.skill_executions e
          where e.organization_id = $1
            and ($2::timestamptz is null or e.created_at >= $2)
            and ($3::timestamptz is null or e.created_at < $3)
          group by e.skill_id) g
        left join public.skills s on s.id = g.skill_id where true`;
      return paginate(
        tx,
        {
          select: `g.*, s.name as skill_name, s.category as skill_category, s.output_format as skill_output_format, s.is_active as skill_is_active`,
          fromWhere: grouped,
          params,
          orderBy: 'g.total desc, g.skill_id asc nulls last',
          page: pageRequest(query),
        },
        (row: BySkillRow): BySkillItem => ({
          skillId: row.skill_id,
          skill:
            row.skill_id !== null && row.skill_name !== null
              ? { id: row.skill_id, name: row.skill_name, category: row.skill_category!, outputFormat: row.skill_output_format!, isActive: row.skill_is_active! }
              : null,
          total: row.total,
          byStatus: byStatus(row),
          successRate: successRate(row),
          avgDurationMs: row.avg_duration_ms,
          tokensUsed: row.tokens_used,
          costCents: row.cost_cents,
          lastCreatedAt: row.last_created_at,
        }),
      );
    });
    res.json(page);
  });

  router.get('/executions/stats/by-period', async (req, res) => {
    const query = req.query as ByPeriodQuery;
    const stats = await inTransaction(req, (tx) => periodStats(tx, requireOrganization(tx), query));
    res.json(stats);
  });

  router.get('/executions/:executionId', async (req, res) => {
    const execution = await inTransaction(
      req,
      async (tx) => {
        const found = await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [req.params.executionId, actingOrganization(tx)]);
        if (found.rowCount === 0) throw problems.notFound(EXECUTION_NOT_FOUND);
        return toExecutionWithSkill(found.rows[0]!);
      },
      { allowServiceRole: true },
    );
    res.json(execution);
  });

  router.post('/executions/:executionId/cancel', async (req, res) => {
    const execution = await inTransaction(req, async (tx) => {
      const organizationId = actingOrganization(tx);
      // Ended executions are left alone here; the trigger would refuse them anyway.
      const cancelled = await tx.query<{ id: string }>(
        `update public.skill_executions e set status = 'cancelled'
         where e.id = $1 and e.organization_id = $2 and e.status in ('pending', 'running') returning e.id`,
        [req.params.executionId, organizationId],
      );
      const found = await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [req.params.executionId, organizationId]);
      const row = found.rows[0];
      if (!row) throw problems.notFound(EXECUTION_NOT_FOUND);
      if (cancelled.rowCount === 0) {
        if (hasEnded(row)) {
          throw problems.conflict(`This execution has already ended (${row.status}).`);
        }
        throw problems.forbidden('Only whoever started this execution and the organization\'s owners and admins may cancel it.');
      }
      return toExecutionWithSkill(row);
    }, { allowServiceRole: true });
    res.json(execution);
  });

  return router;
}

