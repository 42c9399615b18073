import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, RequestHandler } from 'express';
import type pg from 'pg';
import {
  dbPoolConnections,
  dbPoolIdleConnections,
  dbPoolWaitingRequests,
  metricsCollectionErrors,
  registry,
} from '../observability/metrics';
import { problems } from '../problems';
import { sendProblem } from './problems';

/** A value read when scraped (a query, a counter of another object); a failure leaves its gauges as they were. */
export interface ScrapeCollector {
  name: string;
  collect(): Promise<void> | void;
}

/** The request pool's counters, as pg.Pool keeps them. */
export function poolCollector(pool: pg.Pool): ScrapeCollector {
  return {
    name: 'db_pool',
    collect() {
      dbPoolConnections.set(pool.totalCount);
      dbPoolIdleConnections.set(pool.idleCount);
      dbPoolWaitingRequests.set(pool.waitingCount);
    },
  };
}

export interface MetricsSettings {
  /** METRICS_TOKEN: asked for as `Authorization: Bearer <token>`; unset: no token is asked for (only on a port of its own). */
  token: string | undefined;
  collectors: ScrapeCollector[];
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares digests of equal length, so the time taken says nothing about the token. */
function bearerMatches(req: Pick<Request, 'headers'>, token: string): boolean {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (.+)$/i.exec(header) : null;
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

/** Collects the scrape-time values, then renders the registry in Prometheus's text format. */
async function render(collectors: ScrapeCollector[]): Promise<string> {
  await Promise.all(
    collectors.map(async (collector) => {
      try {
        await collector.collect();
      } catch {
        metricsCollectionErrors.inc({ source: collector.name });
      }
    }),
  );
  return registry.metrics();
}

/**
 * GET /metrics on the API port. Not part of the public contract: it is
 * answered before contract validation, and only with METRICS_TOKEN (the
 * composition root mounts it only then), so it is never public there.
 */
export function metricsRoute(settings: MetricsSettings): RequestHandler {
  return (req, res, next) => {
    if (settings.token !== undefined && !bearerMatches(req, settings.token)) {
      sendProblem(res, problems.unauthorized('/metrics asks for the bearer token its operator set in METRICS_TOKEN.'), req.originalUrl);
      return;
    }
    render(settings.collectors).then((text) => {
      res.setHeader('Cache-Control', 'no-store');
      res.type(registry.contentType).send(text);
    }, next);
  };
}

/**
 * METRICS_PORT: /metrics on a port of its own, for a scraper on a private
 * network; nothing else is served there. With METRICS_TOKEN it asks for the
 * token too.
 */
export async function startMetricsServer(settings: MetricsSettings & { port: number; host: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Only GET /metrics is served here.\n');
      return;
    }
    if (settings.token !== undefined && !bearerMatches(req, settings.token)) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="metrics"' }).end('A bearer token (METRICS_TOKEN) is required.\n');
      return;
    }
    render(settings.collectors).then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('The metrics could not be collected.\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
