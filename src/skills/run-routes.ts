import type { Response } from 'express';
import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { configurationToTest, executionAnswer, queueExecution, requireMember, skillToTest, testRun } from './operations/run';
import { listSkillExecutions, skillStats } from './operations/stats';
import type { SkillRunner } from './runner/types';

/** What running skills needs from the server beyond the database. */
export interface SkillsRuntime {
  runner: SkillRunner;
  /** The longest `?wait=true` holds a request. */
  executeWaitMaxMs: number;
  /** Asks the execution worker of this process to look at its queue now. */
  wakeWorker: () => void;
}

/** Aborts when the client goes away before its answer was sent, so nobody pays for a run nobody reads. */
function abortOnHangUp(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller.signal;
}

/** Running skills and reading their executions: each handler parses (the contract did), calls its operation, responds. */
export function skillRunsRoutes(inTransaction: RunInTransaction, runtime: SkillsRuntime): Operations {
  const routes = new Operations();

  route(routes, 'testSkillConfiguration', async ({ body, req, res }) => {
    const skill = configurationToTest(body);
    await inTransaction(req, requireMember);
    res.json(await testRun(runtime.runner, skill, body.input ?? {}, abortOnHangUp(res)));
  });

  route(routes, 'testSkill', async ({ params, body, req, res }) => {
    const skill = await inTransaction(req, (tx) => skillToTest(tx, params.skillId));
    res.json(await testRun(runtime.runner, skill, body?.input ?? {}, abortOnHangUp(res)));
  });

  // Service tokens may start runs: a back-office integration's run is recorded as `api`.
  route(routes, 'executeSkill', async ({ params, query, body, req, res }) => {
    const queued = await inTransaction(req, (tx) => queueExecution(tx, params.skillId, body?.input ?? {}), { allowServiceRole: true });
    runtime.wakeWorker();
    const { status, execution } = await executionAnswer(inTransaction, req, queued, query.wait ? runtime.executeWaitMaxMs : 0);
    if (status === 202) res.location(`/api/v1/executions/${queued.id}`);
    res.status(status).json(execution);
  });

  route(routes, 'listSkillExecutions', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listSkillExecutions(tx, params.skillId, query)));
  });

  route(routes, 'getSkillStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => skillStats(tx, params.skillId)));
  });

  return routes;
}
