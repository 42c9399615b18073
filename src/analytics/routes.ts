import { Operations, route } from '../http/route';
import { acceptEvents } from './operations';
import type { AnalyticsQueue } from './queue';

/** /analytics: the body is checked here and queued; the database is written later, in batches. */
export function analyticsRoutes(queue: AnalyticsQueue): Operations {
  const routes = new Operations();

  route(routes, 'recordAnalyticsEvents', async ({ body, req, res }) => {
    const accepted = acceptEvents(queue, req.identity, req.header('x-organization-id') || undefined, body);
    res.status(202).json({ accepted });
  });

  return routes;
}
