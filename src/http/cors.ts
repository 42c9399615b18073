import type { RequestHandler } from 'express';
import type { CorsOrigins } from '../config';
import { problems } from '../problems';
import { sendProblem } from './problems';

/** The request headers a browser may send us (the ones the contract reads); anything else it asks for is not granted. */
const ALLOWED_REQUEST_HEADERS = ['authorization', 'content-type', 'x-organization-id', 'idempotency-key', 'x-request-id'];
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
/** Response headers a page's script may read: where a created resource is, the quota, when to retry, a download's name, the request's id. */
const EXPOSED_HEADERS =
  'Location, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, RateLimit, RateLimit-Policy, Retry-After, Content-Disposition, WWW-Authenticate, Idempotent-Replayed, X-Request-Id';
/** How long a browser may reuse a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE = '600';

/**
 * Cross-origin calls from browsers. Credentials are bearer tokens in the
 * Authorization header, never cookies, so no response allows credentials and
 * a page on an unlisted origin simply gets no CORS headers (its browser then
 * refuses to hand it the response). A preflight is answered here, before
 * contract validation, which would call OPTIONS an undeclared method (405).
 */
export function cors(origins: CorsOrigins): RequestHandler {
  const listed = origins === '*' ? undefined : new Set(origins);
  const allows = (origin: string) => listed === undefined || listed.has(origin);
  return (req, res, next) => {
    const origin = req.header('origin');
    const preflight = req.method === 'OPTIONS' && req.header('access-control-request-method') !== undefined;
    if (origin === undefined) {
      next();
      return;
    }
    res.vary('Origin');
    if (!allows(origin)) {
      if (preflight) {
        sendProblem(res, problems.forbidden(`The origin ${origin} may not call this API from a browser; its operator lists allowed origins in CORS_ORIGINS.`), req.originalUrl);
        return;
      }
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', listed === undefined ? '*' : origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (!preflight) {
      next();
      return;
    }
    const asked = (req.header('access-control-request-headers') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => ALLOWED_REQUEST_HEADERS.includes(name));
    res.vary('Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    if (asked.length > 0) res.setHeader('Access-Control-Allow-Headers', asked.join(', '));
    res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
    res.status(204).end();
  };
}
