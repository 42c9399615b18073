import { randomUUID } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../observability/logger';
import { httpRequestDuration } from '../observability/metrics';
import { clientAddress } from './context';

declare module 'express-serve-static-core' {
  interface Request {
    /** The organization the request acted in, once its transaction has resolved one (for the request's log line). */
    organizationId?: string | null;
    /** The request's id (X-Request-Id), given first in the stack. */
    id?: string;
    /** The process's logger bound to the request's id. */
    log: Logger;
  }
}

/**
 * An incoming X-Request-Id is kept when it is a plain token: a proxy's or a
 * client's id then follows the request through our logs. Anything else (too
 * long, spaces, quotes, control characters that could forge log lines or
 * headers) is replaced with an id of our own.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

export function acceptRequestId(incoming: string | string[] | undefined): string | undefined {
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : undefined;
}

/** What the request's id is, as the response header and problem documents give it. */
export function requestIdOf(req: Request): string | undefined {
  return typeof req.id === 'string' ? req.id : undefined;
}

/** Paths answered before contract validation, which a request on them never reaches. */
const OWN_ROUTES: Array<[RegExp, string]> = [
  [/^\/docs(\/|$)/, '/docs'],
  [/^\/openapi\.json$/, '/openapi.json'],
  [/^\/metrics$/, '/metrics'],
];

/**
 * The route's template (/api/v1/projects/{projectId}) as the contract names it:
 * a bounded set of values for logs and metric labels, where the raw path would
 * carry ids (and a query string could carry a token).
 */
export function routeTemplate(req: Request): string {
  const matched = (req as Request & { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute;
  if (matched) return matched;
  if (req.method === 'OPTIONS') return '(preflight)';
  // originalUrl: inside a mounted router (/docs) req.path is the rest of the path.
  const path = req.originalUrl.split('?')[0]!;
  for (const [pattern, name] of OWN_ROUTES) if (pattern.test(path)) return name;
  return '(unmatched)';
}

export interface RequestLogSettings {
  logger: Logger;
  /** One line a request at level info (errors at error); off: only what goes wrong is logged. */
  logRequests: boolean;
}

/**
 * First in the stack: gives the request its id (echoed as X-Request-Id), a
 * logger bound to that id (req.log), its duration in the request-duration
 * metric, and, when asked, one line when the response has been sent: method, route template, status, duration, user,
 * organization. No headers, body or query string is logged.
 *
 * Written on pino directly rather than through pino-http, which makes a child
 * logger for every request before it knows whether anything will be logged:
 * that child (its bindings serialized through the redaction) was about 6% of
 * a short request's CPU. Here req.log is made on first use, by a getter on
 * this app's request prototype (defining one on each request would turn every
 * request object into a slow dictionary), and the request's line carries its
 * id as a field.
 */
export function requestLog(app: Express, settings: RequestLogSettings): RequestHandler {
  const { logger } = settings;
  const bound = new WeakMap<Request, Logger>();
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    enumerable: false,
    get(this: Request): Logger {
      let log = bound.get(this);
      if (!log) {
        log = logger.child({ reqId: this.id });
        bound.set(this, log);
      }
      return log;
    },
  });
  return (req, res, next) => {
    const id = acceptRequestId(req.headers['x-request-id']) ?? randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    // One timer and one route lookup serve the duration metric and the log line.
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplate(req);
      httpRequestDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      if (!settings.logRequests) return;
      const message = `${req.method} ${route} ${res.statusCode}`;
      const fields = { reqId: id, ...requestFields(req, res, route, Math.round(seconds * 1000)) };
      if (res.statusCode >= 500) logger.error(fields, message);
      else logger.info(fields, message);
    });
    next();
  };
}

function requestFields(req: Request, res: Response, route: string, durationMs: number) {
  return {
    method: req.method,
    route,
    // As TRUST_PROXY has Express believe it.
    client: clientAddress(req) ?? null,
    status: res.statusCode,
    durationMs,
    userId: req.identity?.userId ?? null,
    organizationId: req.organizationId ?? req.identity?.apiKey?.organizationId ?? null,
  };
}
