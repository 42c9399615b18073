import type { ErrorRequestHandler, Response } from 'express';
import { problemFromDatabaseError, type DatabaseError } from '../db/errors';
import { Problem, problems } from '../problems';
import { requestIdOf } from './request-log';

/** Sends a problem document; it names the request's id, which a client quotes to whoever reads our logs. */
export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  const body = problem.toBody(instance);
  const requestId = requestIdOf(res.req);
  if (requestId) body.requestId = requestId;
  res.status(problem.status).type('application/problem+json').json(body);
}

interface ValidatorError extends Error {
  status?: number;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
}

/** The one error middleware: every failure leaves as problem+json, never a stack trace. */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  let problem: Problem | undefined;
  if (error instanceof Problem) {
    problem = error;
  } else if (error && typeof error === 'object') {
    const err = error as ValidatorError & DatabaseError & { type?: string };
    problem = problemFromDatabaseError(err);
    if (!problem && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
      problem = problemFromClientError(err);
    }
    // The security handler's own verdict, when the validator re-wrapped it.
    if (req.authFailure) problem = req.authFailure;
  }
  if (!problem) {
    // The path without its query string, which could hold a token (a stream ticket).
    req.log.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    problem = new Problem(500, 'internal', 'Something went wrong on our side.');
  }
  sendProblem(res, problem, req.originalUrl);
};

function problemFromClientError(err: ValidatorError & { type?: string }): Problem {
  const status = err.status!;
  // body-parser's own errors (malformed JSON, too large) carry a type string.
  if (err.type === 'entity.parse.failed') return problems.validation('The request body is not valid JSON.');
  if (err.type === 'entity.too.large') return new Problem(413, 'too-large', 'The request body is too large.');
  const errors = (err.errors ?? []).map((item) => ({
    path: item.path ?? '',
    message: item.message ?? 'is not valid',
    ...(item.errorCode ? { code: item.errorCode } : {}),
  }));
  switch (status) {
    case 400:
      return problems.validation('The request does not match the API contract.', errors);
    case 401:
      return problems.unauthorized(errors[0]?.message ?? 'Authentication is required.');
    case 403:
      return problems.forbidden(errors[0]?.message ?? 'You are not allowed to do this.');
    case 404:
      return problems.notFound('There is no such resource.');
    case 405:
      return new Problem(405, 'method-not-allowed', 'This method is not allowed on this resource.');
    case 415:
      return new Problem(415, 'unsupported-media-type', 'Send the body as application/json.');
    default:
      return new Problem(status, 'client-error', err.message || 'The request cannot be served.', errors);
  }
}
