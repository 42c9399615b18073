import express, { type Express, type Request, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { ApiKeyVerifier } from '../auth/api-key';
import { bearerAuthHandler } from '../auth/identity';
import type { TokenVerifier } from '../auth/verifier';
import { DEFAULT_CORS_ORIGINS, type CorsOrigins, type TrustProxy } from '../config';
import { problems } from '../problems';
import { loadContract } from './contract';
import { cors } from './cors';
import { docsRouter } from './docs';
import { jsonBody } from './json-body';
import { answerJsonDirectly } from './json-response';
import { createLogger, type Logger } from '../observability/logger';
import { metricsRoute, type MetricsSettings } from './metrics';
import { errorHandler } from './problems';
import { createBurstLimiter, DEFAULT_SESSION_BURST, sessionBurstAdmission, type BurstSettings } from './rate-limit';
import { requestLog } from './request-log';
import { inSequence, under } from './sequence';
import { dispatchOperations, type Operations } from './route';
import { compressLargeResponses, docsContentSecurityPolicy, securityHeaders } from './transport';
import { speedUpValidatorRouting } from './validator-routes';

/** The HTTP stack's own settings; the domains' settings stay with the composition root. */
export interface HttpSettings {
  verifyToken: TokenVerifier;
  validateResponses: boolean;
  /** LOG_REQUESTS: one log line per request. */
  logRequests: boolean;
  /** Where the request lines and errors go: the process's logger (tests pass one with a stream of their own); a default one when absent. */
  logger?: Logger;
  /** TRUST_PROXY, Express's `trust proxy` (default false: X-Forwarded-* headers are not believed). */
  trustProxy?: TrustProxy;
  /** CORS_ORIGINS: browser origins allowed to call the API (default: the usual local development servers). */
  corsOrigins?: CorsOrigins;
  /** SESSION_RATE_PER_SECOND / SESSION_BURST: the burst limit of each signed-in user's session traffic, per instance. */
  sessionBurst?: BurstSettings;
}

/** What the composition root plugs into the HTTP stack. */
export interface Mounts {
  /** Paths whose JSON bodies may hold more values than the default limit. */
  largeJsonBodies?: Array<{ path: string; maxValues: number }>;
  /** Middleware that must see a request before contract validation, by path. */
  beforeValidation?: Array<{ path: string; handler: RequestHandler }>;
  /** Verifies organization API keys (the composition root builds it from the api-keys domain). */
  verifyApiKey?: ApiKeyVerifier;
  /** Redeems a stream's `?ticket=` (the streamTicket scheme); without it every ticket is refused. */
  streamTicket?: (req: Request) => Promise<boolean>;
  /** GET /metrics on this port (outside the contract, before validation); absent: not served here. */
  metrics?: MetricsSettings;
  /** Middleware that must see a validated request before its handler, for the requests under a path (they see the whole URL: req.originalUrl, req.path). */
  afterValidation?: Array<{ path: string; handler: RequestHandler }>;
  /** Every operation's handler, run for the operation the validator matched. */
  operations: Operations;
}

/**
 * The HTTP stack every request passes: body limits, docs, contract
 * validation (requests and, when asked, responses), then the handler of the
 * operation the validator matched, then the one error handler.
 */
export function assembleHttpApp(deps: HttpSettings, mounts: Mounts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Array query parameters need the extended parser under Express 5 (express-openapi-validator#1196).
  app.set('query parser', 'extended');
  // Which proxies may say who the client is (req.ip) and how it connected
  // (req.protocol). Our own URLs never come from request headers either way.
  app.set('trust proxy', deps.trustProxy ?? false);
  answerJsonDirectly(app);
  // ---- Observability, headers and transport (before anything can answer) ----
  // The request's id and logger first: every answer, a refusal by CORS or a 404 included, carries the id.
  app.use(
    inSequence([
      requestLog(app, { logger: deps.logger ?? createLogger(), logRequests: deps.logRequests }),
      securityHeaders(),
      compressLargeResponses(),
      // A browser's preflight must be answered before anything can refuse it.
      cors(deps.corsOrigins ?? DEFAULT_CORS_ORIGINS),
    ]),
  );
  // ---- end of observability, headers and transport ----

  if (mounts.metrics) app.get('/metrics', metricsRoute(mounts.metrics));

  // Every JSON body, signed webhooks included, is checked for depth and size on
  // its bytes before it is parsed. A skill bundle (up to 1000 skills with their
  // habits and reflexes) legitimately holds more values than any other body;
  // the first parser that reads a body is the only one.
  for (const { path, maxValues } of mounts.largeJsonBodies ?? []) app.use(path, jsonBody({ maxValues }));
  app.use(jsonBody());

  const contract = loadContract();
  app.get('/openapi.json', (_req, res) => {
    res.json(contract);
  });
  app.use('/docs', docsContentSecurityPolicy(), docsRouter());

  for (const { path, handler } of mounts.beforeValidation ?? []) app.use(path, handler);

  speedUpValidatorRouting();
  const validation = OpenApiValidator.middleware({
    // The validator resolves $refs in place; it gets its own copy.
    apiSpec: structuredClone(contract),
    validateApiSpec: false,
    // No coercion: a number or null where the contract wants a string is a 400, not "42" or "".
    // (Query and path parameters are still parsed to their declared types.)
    validateRequests: { allowUnknownQueryParameters: false, removeAdditional: false, coerceTypes: false },
    validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
    validateSecurity: {
      handlers: {
        bearerAuth: bearerAuthHandler(deps.verifyToken, {
          verifyApiKey: mounts.verifyApiKey,
          admit: sessionBurstAdmission(createBurstLimiter(deps.sessionBurst ?? DEFAULT_SESSION_BURST)),
        }),
        streamTicket: mounts.streamTicket ?? refuseStreamTickets,
      },
    },
    ignorePaths: /^\/(docs|openapi\.json|metrics)(\/|$)/,
  });
  // The validator's steps, the checks after it and the handler: one layer of
  // the router (see inSequence), as are the transport's steps above.
  app.use(
    inSequence([
      ...validation,
      ...(mounts.afterValidation ?? []).map(({ path, handler }) => under(path, handler)),
      dispatchOperations(mounts.operations),
    ]),
  );

  // In the contract but answered by no handler: still a problem document, never Express's HTML page.
  app.use((_req, _res, next) => next(problems.notFound('There is no such resource.')));
  app.use(errorHandler);
  return app;
}

/** Where no stream tickets are redeemed, a ticket opens nothing. */
async function refuseStreamTickets(): Promise<boolean> {
  throw problems.unauthorized('Stream tickets are not accepted here.');
}
