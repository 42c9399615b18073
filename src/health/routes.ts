import { Operations, route } from '../http/route';
import { readiness, type Health, type ReadinessDeps } from './readiness';

export function healthRoutes(deps: ReadinessDeps): Operations {
  const routes = new Operations();

  route(routes, 'getHealth', async ({ res }) => {
    res.json({ status: 'ok' } satisfies Health);
  });

  route(routes, 'getReady', async ({ res }) => {
    const body = await readiness(deps);
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });

  return routes;
}
