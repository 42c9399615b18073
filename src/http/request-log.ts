import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../observability/logger';
import { clientAddress } from './context';

declare module 'express-serve-static-core' {
  interface Request {
    /** The organization the request acted in, once its transaction has resolved one (for the request's log line). */
    organizationId?: string | null;
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
 * logger bound to that id (req.log), and, when asked, one line when the
 * response has been sent: method, route template, status, duration, user,
 * organization. No headers, body or query string is logged.
 */
export function requestLog(settings: RequestLogSettings): RequestHandler {
  return pinoHttp({
    logger: settings.logger,
    genReqId: (req, res) => {
      const id = acceptRequestId(req.headers['x-request-id']) ?? randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // req.log is the logger with the request id only; the line at the end says the rest.
    quietReqLogger: true,
    quietResLogger: true,
    autoLogging: settings.logRequests,
    customAttributeKeys: { responseTime: 'durationMs' },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessObject: (req, res, fields: { durationMs: number }) => requestFields(req as Request, res as Response, fields.durationMs),
    // What failed is logged by the error handler, with its stack, under the same request id.
    customErrorObject: (req, res, _error, fields: { durationMs: number }) => requestFields(req as Request, res as Response, fields.durationMs),
    customSuccessMessage: (req, res) => `${req.method} ${routeTemplate(req as Request)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${routeTemplate(req as Request)} ${res.statusCode}`,
  }) as unknown as RequestHandler;
}

function requestFields(req: Request, res: Response, durationMs: number) {
  return {
    method: req.method,
    route: routeTemplate(req),
    // As TRUST_PROXY has Express believe it.
    client: clientAddress(req) ?? null,
    status: res.statusCode,
    durationMs,
    userId: req.identity?.userId ?? null,
    organizationId: req.organizationId ?? req.identity?.apiKey?.organizationId ?? null,
  };
}
