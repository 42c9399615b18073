import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { previewCron } from './cron-preview';
import {
  activateHabit,
  checkNewHabit,
  createHabit,
  deactivateHabit,
  deleteHabit,
  getHabit,
  habitStats,
  listHabits,
  listUpcomingRuns,
  organizationHabitStats,
  resetHabitErrors,
  runHabitNow,
  updateHabit,
} from './operations';

/** /habits: each handler parses (the contract did), calls its operation, responds. */
export function habitsRouter(inTransaction: RunInTransaction, options: { wakeExecutions: () => void }): Router {
  const router = express.Router();

  route(router, 'listHabits', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listHabits(tx, query)));
  });

  route(router, 'createHabit', async ({ body, req, res }) => {
    const definition = checkNewHabit(body);
    const habit = await inTransaction(req, (tx) => createHabit(tx, body, definition));
    res.status(201).location(`/api/v1/habits/${habit.id}`).json(habit);
  });

  route(router, 'validateHabitCron', async ({ body, res }) => {
    res.json(previewCron(body));
  });

  // Fixed paths (/habits/stats, /habits/upcoming) before /habits/{habitId}, which would take them for an id.
  route(router, 'getOrganizationHabitStats', async ({ req, res }) => {
    res.json(await inTransaction(req, (tx) => organizationHabitStats(tx)));
  });

  route(router, 'listUpcomingHabitRuns', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listUpcomingRuns(tx, query)));
  });

  route(router, 'getHabit', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getHabit(tx, params.habitId)));
  });

  route(router, 'updateHabit', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateHabit(tx, params.habitId, body)));
  });

  route(router, 'deleteHabit', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteHabit(tx, params.habitId));
    res.status(204).end();
  });

  route(router, 'activateHabit', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => activateHabit(tx, params.habitId)));
  });

  route(router, 'deactivateHabit', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => deactivateHabit(tx, params.habitId)));
  });

  route(router, 'resetHabitErrors', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => resetHabitErrors(tx, params.habitId)));
  });

  route(router, 'runHabitNow', async ({ params, req, res }) => {
    const run = await inTransaction(req, (tx) => runHabitNow(tx, params.habitId));
    options.wakeExecutions();
    res.status(202).location(`/api/v1/executions/${run.executionId}`).json(run);
  });

  route(router, 'getHabitStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => habitStats(tx, params.habitId)));
  });

  return router;
}
