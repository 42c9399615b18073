import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import type { LiveHub } from './hub';
import { lastEventIdOf, openStream } from './stream';
import { issueTicket } from './tickets';

export interface LiveRoutesDeps {
  /** This process's live events; absent (an app without them), the streams answer 503. */
  hub: LiveHub | undefined;
  /** Seconds a ticket lives. */
  ticketTtlSeconds: number;
}

/** The streams (Server-Sent Events) and the tickets that let a browser open one. */
export function liveRoutes(inTransaction: RunInTransaction, deps: LiveRoutesDeps): Operations {
  const routes = new Operations();
  const streams = { hub: deps.hub, inTransaction };

  route(routes, 'createStreamTicket', async ({ req, res }) => {
    res.status(201).json(await inTransaction(req, (tx) => issueTicket(tx, deps.ticketTtlSeconds)));
  });

  route(routes, 'streamActivityEvents', async ({ query, req, res }) => {
    await openStream(streams, req, res, { kind: 'organization' }, lastEventIdOf(req, query));
  });

  route(routes, 'streamExecutionEvents', async ({ params, query, req, res }) => {
    await openStream(streams, req, res, { kind: 'execution', executionId: params.executionId }, lastEventIdOf(req, query));
  });

  route(routes, 'streamIngestionEvents', async ({ params, query, req, res }) => {
    await openStream(streams, req, res, { kind: 'ingestion', projectId: params.projectId }, lastEventIdOf(req, query));
  });

  return routes;
}
