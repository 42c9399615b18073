import express, { type Router } from 'express';
import { route } from '../http/route';
import { readiness, type Health, type ReadinessDeps } from './readiness';

export function healthRouter(deps: ReadinessDeps): Router {
  const router = express.Router();

  route(router, 'getHealth', async ({ res }) => {
    res.json({ status: 'ok' } satisfies Health);
  });

  route(router, 'getReady', async ({ res }) => {
    const body = await readiness(deps);
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });

  return router;
}
