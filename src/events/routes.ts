import express, { type Router } from 'express';
import { requireOrganization, requireUser } from '../db/transaction';
import type { operations } from '../generated/openapi';
import type { RunInTransaction } from '../http/context';
import { CANDIDATE_COLUMNS, fireMatchingReflexes, MAX_REFLEXES_PER_EVENT, type ReflexCandidate } from '../reflexes/fire';
import { requireBodyWithin } from '../reflexes/hooks/body-limit';
import type { ReflexWebhookSettings } from '../reflexes/hooks/settings';

type EventBody = operations['emitEvent']['requestBody']['content']['application/json'];
type EventResult = operations['emitEvent']['responses']['200']['content']['application/json'];

/** POST /events: an event of the selected organization fires its matching event reflexes. */
export function eventsRouter(inTransaction: RunInTransaction, options: { settings: ReflexWebhookSettings; wakeExecutions: () => void }): Router {
  const router = express.Router();
  const { settings } = options;

  router.post('/events', async (req, res) => {
    requireBodyWithin(req, settings.maxBodyBytes);
    const body = req.body as EventBody;
    const event = { eventName: body.eventName, source: body.source, payload: body.payload ?? {} };
    const result = await inTransaction(req, async (tx): Promise<EventResult> => {
      const organizationId = requireOrganization(tx);
      requireUser(tx);
      // The partial index on (organization, eventName) finds the candidates; source and conditions are checked per reflex.
      const candidates = await tx.query<ReflexCandidate>(
        `select ${CANDIDATE_COLUMNS} from public.reflexes r
         where r.organization_id = $1 and r.trigger_type = 'event' and r.is_active and r.trigger_config ->> 'eventName' = $2
         order by r.created_at, r.id limit $3`,
        [organizationId, body.eventName, MAX_REFLEXES_PER_EVENT],
      );
      const executions = await fireMatchingReflexes(tx, candidates.rows, event);
      return { eventName: body.eventName, source: body.source ?? null, executions };
    });
    if (result.executions.length > 0) options.wakeExecutions();
    res.json(result);
  });

  return router;
}
