import express, { type Response, type Router } from 'express';
import { actingOrganization, requireOrganization } from '../db/transaction';
import {
  byStatus,
  EXECUTION_AGGREGATES,
  EXECUTION_COLUMNS,
  skillExecutionListQuery,
  successRate,
  toExecution,
  type AggregateRow,
  type ExecutionRow,
} from '../executions/sql';
import { hasEnded, waitForEnd } from '../executions/wait';
import type { operations } from '../generated/openapi';
import type { RunInTransaction } from '../http/context';
import { paginate, pageRequest } from '../http/pagination';
import { problems } from '../problems';
import { checkInputSchema, loadSkill } from './access';
import { checkInput } from './runner/input';
import type { RunnableSkill, RunResult, SkillRunner } from './runner/types';
import { runnableSkill } from './sql';

type ExecuteQuery = NonNullable<operations['executeSkill']['parameters']['query']>;
type ExecuteBody = NonNullable<operations['executeSkill']['requestBody']>['content']['application/json'];
type ConfigurationTest = operations['testSkillConfiguration']['requestBody']['content']['application/json'];
type TestResult = operations['testSkill']['responses']['200']['content']['application/json'];
type SkillStats = operations['getSkillStats']['responses']['200']['content']['application/json'];
type ExecutionsQuery = NonNullable<operations['listSkillExecutions']['parameters']['query']>;

/** What running skills needs from the server beyond the database. */
export interface SkillsRuntime {
  runner: SkillRunner;
  /** The longest `?wait=true` holds a request. */
  executeWaitMaxMs: number;
  /** Asks the execution worker of this process to look at its queue now. */
  wakeWorker: () => void;
}

const DEFAULT_MODEL = 'gpt-4o-mini';
const DEFAULT_PARAMETERS = { temperature: 1, max_tokens: 4096 };

/** The runner's verdict as the test endpoints report it; an input that does not fit is the caller's 400. */
function toTestResult(result: RunResult, runner: SkillRunner): TestResult {
  if (!result.ok && result.code === 'invalid_input') {
    throw problems.validation(result.message, result.inputErrors);
  }
  if (!result.ok) {
    return {
      status: 'failed',
      runner: runner.kind,
      prompt: null,
      output: null,
      promptTokens: 0,
      completionTokens: 0,
      tokensUsed: 0,
      costCents: '0.0000',
      durationMs: result.durationMs,
      errorCode: result.code,
      errorMessage: result.message,
    };
  }
  return {
    status: 'completed',
    runner: runner.kind,
    prompt: result.prompt,
    output: result.output,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
    tokensUsed: result.promptTokens + result.completionTokens,
    costCents: result.costCents,
    durationMs: result.durationMs,
    errorCode: null,
    errorMessage: null,
  };
}

/** Aborts when the client goes away before its answer was sent, so nobody pays for a run nobody reads. */
function abortOnHangUp(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller.signal;
}

export function skillRunsRouter(inTransaction: RunInTransaction, runtime: SkillsRuntime): Router {
  const router = express.Router();

  router.post('/skills/test', async (req, res) => {
    const body = req.body as ConfigurationTest;
    checkInputSchema(body.inputSchema as RunnableSkill['inputSchema'] | undefined);
    // Only members of an organization may use its runner (and its spend).
    await inTransaction(req, async (tx) => requireOrganization(tx));
    const skill: RunnableSkill = {
      promptTemplate: body.promptTemplate,
      model: body.model ?? DEFAULT_MODEL,
      parameters: body.parameters ?? DEFAULT_PARAMETERS,
      inputSchema: (body.inputSchema ?? []) as RunnableSkill['inputSchema'],
      outputFormat: body.outputFormat ?? 'markdown',
    };
    // Outside any transaction: a model call must not hold a connection.
    const result = await runtime.runner.run(skill, body.input ?? {}, { signal: abortOnHangUp(res) });
    res.json(toTestResult(result, runtime.runner));
  });

  router.post('/skills/:skillId/test', async (req, res) => {
    const body = (req.body ?? {}) as ExecuteBody;
    const row = await inTransaction(req, (tx) => loadSkill(tx, req.params.skillId!));
    const result = await runtime.runner.run(runnableSkill(row), body.input ?? {}, { signal: abortOnHangUp(res) });
    res.json(toTestResult(result, runtime.runner));
  });

  router.post('/skills/:skillId/execute', async (req, res) => {
    const body = (req.body ?? {}) as ExecuteBody;
    const { wait } = req.query as ExecuteQuery;
    const input = body.input ?? {};
    const queued = await inTransaction(
      req,
      async (tx) => {
        const skill = await loadSkill(tx, req.params.skillId!);
        if (!skill.is_active) throw problems.conflict('This skill is inactive; activate it to run it.');
        const { errors } = checkInput(skill.input_schema, input);
        if (errors.length > 0) throw problems.validation('The input does not fit the skill\'s inputSchema.', errors);
        // A person's run is `manual`; a service token's (a back-office integration) is `api`, started by nobody.
        const service = tx.identity.role === 'service_role';
        const inserted = await tx.query<ExecutionRow>(
          `insert into public.skill_executions as e (organization_id, skill_id, user_id, execution_type, input)
           values ($1, $2, $3, $4, $5) returning ${EXECUTION_COLUMNS}`,
          [actingOrganization(tx), skill.id, service ? null : tx.identity.userId, service ? 'api' : 'manual', JSON.stringify(input)],
        );
        return toExecution(inserted.rows[0]!);
      },
      { allowServiceRole: true },
    );
    runtime.wakeWorker();
    const location = `/api/v1/executions/${queued.id}`;
    if (wait && runtime.executeWaitMaxMs > 0) {
      const latest = (await waitForEnd(inTransaction, req, queued, runtime.executeWaitMaxMs)) ?? queued;
      const { skill: _skill, ...execution } = latest;
      if (hasEnded(execution)) {
        res.status(200).json(execution);
        return;
      }
      res.status(202).location(location).json(execution);
      return;
    }
    res.status(202).location(location).json(queued);
  });

  router.get('/skills/:skillId/executions', async (req, res) => {
    const query = req.query as ExecutionsQuery;
    const page = await inTransaction(req, async (tx) => {
      const skill = await loadSkill(tx, req.params.skillId!);
      return paginate(tx, skillExecutionListQuery(skill.id, query.status, pageRequest(query)), toExecution);
    });
    res.json(page);
  });

  router.get('/skills/:skillId/stats', async (req, res) => {
    const stats = await inTransaction(req, async (tx): Promise<SkillStats> => {
      const skill = await loadSkill(tx, req.params.skillId!);
      const figures = (
        await tx.query<AggregateRow>(`select ${EXECUTION_AGGREGATES} from public.skill_executions e where e.skill_id = $1`, [skill.id])
      ).rows[0]!;
      const last = await tx.query<ExecutionRow>(
        `select ${EXECUTION_COLUMNS} from public.skill_executions e where e.skill_id = $1 order by e.created_at desc, e.id desc limit 1`,
        [skill.id],
      );
      return {
        skillId: skill.id,
        total: figures.total,
        byStatus: byStatus(figures),
        successRate: successRate(figures),
        avgDurationMs: figures.avg_duration_ms,
        promptTokens: figures.prompt_tokens,
        completionTokens: figures.completion_tokens,
        tokensUsed: figures.tokens_used,
        costCents: figures.cost_cents,
        lastExecution: last.rows[0] ? toExecution(last.rows[0]) : null,
      };
    });
    res.json(stats);
  });

  return router;
}

