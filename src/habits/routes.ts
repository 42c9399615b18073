import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
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
export function habitsRoutes(inTransaction: RunInTransaction, options: { wakeExecutions: () => void }): Operations {
  const routes = new Operations();

  route(routes, 'listHabits', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listHabits(tx, query)));
  });

  route(routes, 'createHabit', async ({ body, req, res }) => {
    const definition = checkNewHabit(body);
    const habit = await inTransaction(req, (tx) => createHabit(tx, body, definition));
    res.status(201).location(`/api/v1/habits/${habit.id}`).json(habit);
  });

  route(routes, 'validateHabitCron', async ({ body, res }) => {
    res.json(previewCron(body));
  });

  route(routes, 'getOrganizationHabitStats', async ({ req, res }) => {
    res.json(await inTransaction(req, (tx) => organizationHabitStats(tx)));
  });

  route(routes, 'listUpcomingHabitRuns', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listUpcomingRuns(tx, query)));
  });

  route(routes, 'getHabit', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getHabit(tx, params.habitId)));
  });

  route(routes, 'updateHabit', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateHabit(tx, params.habitId, body)));
  });

  route(routes, 'deleteHabit', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteHabit(tx, params.habitId));
    res.status(204).end();
  });

  route(routes, 'activateHabit', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => activateHabit(tx, params.habitId)));
  });

  route(routes, 'deactivateHabit', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => deactivateHabit(tx, params.habitId)));
  });

  route(routes, 'resetHabitErrors', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => resetHabitErrors(tx, params.habitId)));
  });

  route(routes, 'runHabitNow', async ({ params, req, res }) => {
    const run = await inTransaction(req, (tx) => runHabitNow(tx, params.habitId));
    options.wakeExecutions();
    res.status(202).location(`/api/v1/executions/${run.executionId}`).json(run);
  });

  route(routes, 'getHabitStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => habitStats(tx, params.habitId)));
  });

  return routes;
}
