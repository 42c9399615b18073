import type { Request, Response } from 'express';
import type pg from 'pg';
import type { SecretBox } from '../../db/secret-box';
import { withServiceTransaction } from '../../db/transaction';
import { Operations, route } from '../../http/route';
import { requireBodyWithin } from './body-limit';
import { receiveDelivery, signedHeaders } from './receive';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, type ReflexWebhookSettings } from './settings';

/** POST (and GET) /hooks/reflexes/{reflexId}: signed deliveries, no bearer token. */
export function reflexHooksRoutes(deps: {
  pool: pg.Pool;
  statementTimeoutMs: number;
  settings: ReflexWebhookSettings;
  secrets: SecretBox;
  wakeExecutions: () => void;
}): Operations {
  const routes = new Operations();
  const { settings } = deps;

  // Both methods answer alike; a GET signs an empty body (`<timestamp>.`) and its payload is {}.
  async function receive(req: Request, res: Response, reflexId: string, method: 'POST' | 'GET', payload: unknown): Promise<void> {
    requireBodyWithin(req, settings.maxBodyBytes);
    const rawBody = method === 'POST' ? (req.rawBody ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const headers = signedHeaders(
      {
        reflexSignature: req.header(SIGNATURE_HEADER),
        reflexTimestamp: req.header(TIMESTAMP_HEADER),
        webhookId: req.header('webhook-id'),
        webhookTimestamp: req.header('webhook-timestamp'),
        webhookSignature: req.header('webhook-signature'),
      },
      settings.toleranceSeconds,
    );
    const delivery = { ...headers, reflexId, method, rawBody, payload };
    const outcome = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) =>
      receiveDelivery(tx, deps.secrets, delivery, settings.toleranceSeconds),
    );
    if (outcome.executionId) deps.wakeExecutions();
    res.status(outcome.executionId ? 202 : 200).json(outcome);
  }

  route(routes, 'receiveReflexWebhook', async ({ params, body, req, res }) => {
    await receive(req, res, params.reflexId, 'POST', body);
  });

  route(routes, 'receiveReflexWebhookGet', async ({ params, req, res }) => {
    await receive(req, res, params.reflexId, 'GET', {});
  });

  return routes;
}
