import type { Request } from 'express';
import { requireOrganization } from '../db/transaction';
import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { analytics, costBreakdown, executionOverview, performance } from './dashboards';
import { streamExport } from './export';
import {
  cancelExecution,
  checkWindow,
  cleanupExecutions,
  executionStatsByPeriod,
  executionStatsBySkill,
  getExecution,
  listExecutions,
  listOwnerExecutions,
  listPage,
  recentExecutions,
  unfinishedExecutions,
} from './operations';
import { retryExecution } from './retry';
import { createdWindow } from './rules';

export interface ExecutionsRouterOptions {
  /** Tells the execution worker that work was queued (a retry). */
  wakeExecutions?: () => void;
}

/** The query parameters the client sent itself (the contract fills in defaults such as page and pageSize). */
function sentQueryNames(req: Request): Set<string> {
  const search = req.originalUrl.indexOf('?');
  return new Set(search < 0 ? [] : new URLSearchParams(req.originalUrl.slice(search + 1)).keys());
}

/** /executions, and the runs of one habit or reflex: each handler parses (the contract did), calls its operation, responds. */
export function executionsRoutes(inTransaction: RunInTransaction, options: ExecutionsRouterOptions = {}): Operations {
  const routes = new Operations();

  route(routes, 'listExecutions', async ({ query, req, res }) => {
    const page = listPage(query, sentQueryNames(req));
    checkWindow(query);
    res.json(await inTransaction(req, (tx) => listExecutions(tx, query, page)));
  });

  route(routes, 'listHabitExecutions', async ({ params, query, req, res }) => {
    const page = listPage(query, sentQueryNames(req));
    res.json(await inTransaction(req, (tx) => listOwnerExecutions(tx, 'habit', params.habitId, query.status, page)));
  });

  route(routes, 'listReflexExecutions', async ({ params, query, req, res }) => {
    const page = listPage(query, sentQueryNames(req));
    res.json(await inTransaction(req, (tx) => listOwnerExecutions(tx, 'reflex', params.reflexId, query.status, page)));
  });

  route(routes, 'getExecutionOverview', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => executionOverview(tx, requireOrganization(tx), query, new Date())));
  });

  route(routes, 'getExecutionAnalytics', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => analytics(tx, requireOrganization(tx), query, new Date())));
  });

  route(routes, 'listRecentExecutions', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => recentExecutions(tx, query.limit ?? 10)));
  });

  route(routes, 'listRunningExecutions', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => unfinishedExecutions(tx, query.limit ?? 100)));
  });

  route(routes, 'getExecutionCostBreakdown', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => costBreakdown(tx, requireOrganization(tx), query, new Date())));
  });

  route(routes, 'getExecutionPerformance', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => performance(tx, requireOrganization(tx), query, new Date())));
  });

  route(routes, 'exportExecutions', async ({ query, req, res }) => {
    const window = createdWindow(query);
    const filters = { skillId: query.skillId, status: query.status, executionType: query.executionType, referenceId: query.referenceId, window };
    try {
      await inTransaction(req, (tx) => streamExport(tx, res, requireOrganization(tx), filters, query.format ?? 'csv', new Date()));
    } catch (error) {
      // Once the file has started, a failure (or a client that left) can only cut it short.
      if (res.headersSent) {
        res.destroy();
        return;
      }
      throw error;
    }
  });

  route(routes, 'cleanupExecutions', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => cleanupExecutions(tx, query.olderThanDays ?? 90)));
  });

  route(routes, 'getExecutionStatsBySkill', async ({ query, req, res }) => {
    checkWindow(query);
    res.json(await inTransaction(req, (tx) => executionStatsBySkill(tx, query)));
  });

  route(routes, 'getExecutionStatsByPeriod', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => executionStatsByPeriod(tx, query)));
  });

  // Service tokens may read and cancel: back-office integrations follow the runs they started.
  route(routes, 'getExecution', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getExecution(tx, params.executionId), { allowServiceRole: true }));
  });

  route(routes, 'cancelExecution', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => cancelExecution(tx, params.executionId), { allowServiceRole: true }));
  });

  route(routes, 'retryExecution', async ({ params, req, res }) => {
    const retried = await inTransaction(req, (tx) => retryExecution(tx, params.executionId));
    options.wakeExecutions?.();
    res.status(202).location(`/api/v1/executions/${retried.newExecutionId}`).json(retried);
  });

  return routes;
}
