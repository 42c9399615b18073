import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { requireBodyWithin } from '../reflexes/hooks/body-limit';
import type { ReflexWebhookSettings } from '../reflexes/hooks/settings';
import { emitEvent } from './operations';

/** POST /events: an event of the selected organization fires its matching event reflexes. */
export function eventsRouter(inTransaction: RunInTransaction, options: { settings: ReflexWebhookSettings; wakeExecutions: () => void }): Router {
  const router = express.Router();
  const { settings } = options;

  route(router, 'emitEvent', async ({ body, req, res }) => {
    // An event's payload is bounded like a webhook delivery's: both become a skill's input.
    requireBodyWithin(req, settings.maxBodyBytes);
    const result = await inTransaction(req, (tx) => emitEvent(tx, body));
    if (result.executions.length > 0) options.wakeExecutions();
    res.json(result);
  });

  return router;
}
