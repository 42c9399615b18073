import express, { type Request, type Response, type Router } from 'express';
import type pg from 'pg';
import { withServiceTransaction } from '../../db/transaction';
import type { components } from '../../generated/openapi';
import { Problem } from '../../problems';
import type { Conditions } from '../conditions';
import { startReflexExecution } from '../fire';
import { matchReflex, skillInputFor } from '../triggers';
import { requireBodyWithin } from './body-limit';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, type ReflexWebhookSettings } from './settings';
import { digestsEqual, isFresh, readSignatureHeaders, signDelivery } from './signature';

type ReflexDelivery = components['schemas']['ReflexDelivery'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Signs nothing real: keeps the work for an unknown reflex the same as for a known one. */
const STAND_IN_SECRET = 'whsec_stand-in-for-a-reflex-that-does-not-exist';

/**
 * Every refusal is this one answer, so a sender (or a prober) learns nothing
 * about which check failed: missing or bad signature, stale or future
 * timestamp, replay, unknown or inactive reflex, wrong method.
 */
const refused = () => new Problem(401, 'unauthorized', 'The delivery was not accepted.');

interface WebhookReflexRow {
  id: string;
  skill_id: string;
  is_active: boolean;
  trigger_config: Record<string, unknown>;
  conditions: Conditions;
  secret: string;
}

/** POST (and GET) /hooks/reflexes/{reflexId}: signed deliveries, no bearer token. */
export function reflexHooksRouter(deps: {
  pool: pg.Pool;
  statementTimeoutMs: number;
  settings: ReflexWebhookSettings;
  wakeExecutions: () => void;
}): Router {
  const router = express.Router();
  const { settings } = deps;

  async function receive(req: Request, res: Response, method: 'POST' | 'GET'): Promise<void> {
    requireBodyWithin(req, settings.maxBodyBytes);
    const rawBody = method === 'POST' ? (req.rawBody ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const headers = readSignatureHeaders(req.header(SIGNATURE_HEADER), req.header(TIMESTAMP_HEADER));
    if (!headers || !isFresh(headers.timestamp, settings.toleranceSeconds)) throw refused();
    const reflexId = String(req.params.reflexId);
    const payload: unknown = method === 'POST' ? req.body : {};

    const outcome = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, async (tx): Promise<ReflexDelivery> => {
      const found = UUID.test(reflexId)
        ? await tx.query<WebhookReflexRow>(
            `select r.id, r.skill_id, r.is_active, r.trigger_config, r.conditions, s.secret
             from public.reflexes r join public.reflex_secrets s on s.reflex_id = r.id
             where r.id = $1 and r.trigger_type = 'webhook'`,
            [reflexId],
          )
        : { rows: [] as WebhookReflexRow[] };
      const reflex = found.rows[0];
      const expected = signDelivery(reflex?.secret ?? STAND_IN_SECRET, headers.timestamp, rawBody);
      const genuine = digestsEqual(expected, headers.digest);
      if (!reflex || !genuine || !reflex.is_active || (reflex.trigger_config.method ?? 'POST') !== method) throw refused();

      // Replays: each accepted signature is remembered until its timestamp leaves
      // the window (then it would be refused as stale anyway), and this reflex's
      // expired ones are pruned in the same statement.
      const remembered = await tx.query(
        `with pruned as (
           delete from public.reflex_webhook_deliveries where reflex_id = $1 and expires_at < now()
         )
         insert into public.reflex_webhook_deliveries (reflex_id, signature, expires_at)
         values ($1, $2, to_timestamp($3::bigint) + make_interval(secs => $4))
         on conflict do nothing`,
        [reflex.id, headers.digest, headers.timestamp, settings.toleranceSeconds],
      );
      if (remembered.rowCount === 0) throw refused();

      const event = { payload };
      const verdict = matchReflex({ triggerType: 'webhook', triggerConfig: reflex.trigger_config, conditions: reflex.conditions }, event);
      if (!verdict.matched) return { matched: false, executionId: null };
      const executionId = await startReflexExecution(tx, reflex.id, skillInputFor(event));
      return { matched: executionId !== null, executionId };
    });

    if (outcome.executionId) deps.wakeExecutions();
    res.status(outcome.executionId ? 202 : 200).json(outcome);
  }

  router.post('/hooks/reflexes/:reflexId', (req, res) => receive(req, res, 'POST'));
  router.get('/hooks/reflexes/:reflexId', (req, res) => receive(req, res, 'GET'));
  return router;
}
