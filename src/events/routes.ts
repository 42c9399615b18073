import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { requireBodyWithin } from '../reflexes/hooks/body-limit';
import type { ReflexWebhookSettings } from '../reflexes/hooks/settings';
import { emitEvent } from './operations';

/** POST /events: an event of the selected organization fires its matching event reflexes. */
export function eventsRoutes(inTransaction: RunInTransaction, options: { settings: ReflexWebhookSettings; wakeExecutions: () => void }): Operations {
  const routes = new Operations();
  const { settings } = options;

  route(routes, 'emitEvent', async ({ body, req, res }) => {
    // An event's payload is bounded like a webhook delivery's: both become a skill's input.
    requireBodyWithin(req, settings.maxBodyBytes);
    const result = await inTransaction(req, (tx) => emitEvent(tx, body));
    if (result.executions.length > 0) options.wakeExecutions();
    res.json(result);
  });

  return routes;
}
