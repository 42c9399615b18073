import express, { type Express } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { bearerAuthHandler } from '../auth/identity';
import { habitsRouter } from '../habits/routes';
import { refusePaymentSecrets } from '../billing/card-data';
import { billingRouter, DEFAULT_BILLING } from '../billing/routes';
import { usageRouter } from '../billing/usage/routes';
import { healthRouter } from '../health/routes';
import { meRouter } from '../me/routes';
import { organizationMembersRouter } from '../organizations/members/routes';
import { organizationsRouter } from '../organizations/routes';
import { filesRouter } from '../projects/files/routes';
import { ingestionsRouter } from '../projects/ingestions/routes';
import { invitationsRouter } from '../projects/invitations/routes';
import { membersRouter } from '../projects/members/routes';
import { repositoriesRouter } from '../projects/repositories/routes';
import { projectsRouter } from '../projects/routes';
import { eventsRouter } from '../events/routes';
import { reflexesRouter } from '../reflexes/routes';
import { reflexHooksRouter } from '../webhooks/routes';
import { loadConfig } from '../config';
import { executionsRouter } from '../executions/routes';
import { skillBundleRouter } from '../skills/bundle';
import { skillsRouter } from '../skills/routes';
import { skillRunsRouter } from '../skills/run-routes';
import { createSkillRunner } from '../skills/runner';
import { loadContract } from './contract';
import { transactionRunner, type AppDeps } from './context';
import { docsRouter } from './docs';
import { jsonBody } from './json-body';
import { errorHandler, problems } from './problems';
import { memoizeValidatorRouteRegexes } from './route-regex-cache';

/** Assembles the API: contract validation first, then the domain routers, then the one error handler. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Array query parameters need the extended parser under Express 5 (express-openapi-validator#1196).
  app.set('query parser', 'extended');
  // Which proxies may say who the client is (req.ip) and how it connected
  // (req.protocol). Our own URLs never come from request headers either way.
  app.set('trust proxy', deps.trustProxy ?? false);

  if (deps.logRequests) {
    app.use((req, res, next) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        console.log(`${req.ip} ${req.method} ${req.originalUrl} ${res.statusCode} ${ms.toFixed(1)}ms`);
      });
      next();
    });
  }

  // Every JSON body, signed webhooks included, is checked for depth and size on
  // its bytes before it is parsed. A skill bundle (up to 1000 skills with their
  // habits and reflexes) legitimately holds more values than any other body;
  // the first parser that reads a body is the only one.
  app.use('/api/v1/skills/import', jsonBody({ maxValues: 100_000 }));
  app.use(jsonBody());

  const contract = loadContract();
  app.get('/openapi.json', (_req, res) => {
    res.json(contract);
  });
  app.use('/docs', docsRouter());

  // Before contract validation: a card number or IBAN is refused (422) even in a field the contract would reject.
  app.use('/api/v1/billing', refusePaymentSecrets);

  memoizeValidatorRouteRegexes();
  app.use(
    OpenApiValidator.middleware({
      // The validator resolves $refs in place; it gets its own copy.
      apiSpec: structuredClone(contract),
      validateApiSpec: false,
      // No coercion: a number or null where the contract wants a string is a 400, not "42" or "".
      // (Query and path parameters are still parsed to their declared types.)
      validateRequests: { allowUnknownQueryParameters: false, removeAdditional: false, coerceTypes: false },
      validateResponses: deps.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: { handlers: { bearerAuth: bearerAuthHandler(deps.verifyToken) } },
      ignorePaths: /^\/(docs|openapi\.json)(\/|$)/,
    }),
  );

  const inTransaction = transactionRunner(deps);
  app.use(healthRouter(deps));
  app.use('/api/v1', meRouter(inTransaction));
  app.use('/api/v1', organizationsRouter(inTransaction));
  app.use('/api/v1', projectsRouter(inTransaction));
  app.use('/api/v1', repositoriesRouter(inTransaction));
  app.use('/api/v1', membersRouter(inTransaction));
  app.use('/api/v1', invitationsRouter(inTransaction));
  app.use('/api/v1', ingestionsRouter(inTransaction));
  app.use('/api/v1', filesRouter(inTransaction));
  app.use('/api/v1', habitsRouter(inTransaction, deps.background));
  app.use('/api/v1', billingRouter(inTransaction, deps, deps.billing ?? DEFAULT_BILLING));
  // Reflexes, events and signed inbound webhooks (the hooks carry no bearer token).
  app.use('/api/v1', reflexesRouter(inTransaction, deps));
  app.use('/api/v1', eventsRouter(inTransaction, deps));
  app.use('/api/v1', reflexHooksRouter(deps));
  // Usage, quotas and organization members
  app.use('/api/v1', organizationMembersRouter(inTransaction));
  app.use('/api/v1', usageRouter(inTransaction));
  // ---- Skills and executions ----
  const skills = deps.skills ?? defaultSkills();
  // The bundle's fixed paths (/skills/export, /skills/import) before /skills/{skillId}.
  app.use('/api/v1', skillBundleRouter(inTransaction));
  app.use('/api/v1', skillRunsRouter(inTransaction, { ...skills, wakeWorker: () => deps.background.wake('executions') }));
  app.use('/api/v1', skillsRouter(inTransaction));
  app.use('/api/v1', executionsRouter(inTransaction));

  // In the contract but answered by no handler: still a problem document, never Express's HTML page.
  app.use((_req, _res, next) => next(problems.notFound('There is no such resource.')));
  app.use(errorHandler);
  return app;
}

/** The skill runner and wait limit the environment names (SKILL_RUNNER, EXECUTE_WAIT_MAX_MS ...). */
/** The server passes its configured runner; an app assembled without one (tests) gets the defaults. */
function defaultSkills(): NonNullable<AppDeps['skills']> {
  const config = loadConfig({});
  return { runner: createSkillRunner(config), executeWaitMaxMs: config.executeWaitMaxMs };
}
