import type { ErrorRequestHandler, Response } from 'express';
import { parseQuotaDetail, QUOTA_EXCEEDED_SQLSTATE, rateLimitHeaders } from '../billing/quotas/headers';
import type { components } from '../generated/openapi';

export type ProblemBody = components['schemas']['Problem'];
export type FieldError = components['schemas']['FieldError'];

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error that leaves the API as an RFC 9457 problem document. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: `/problems/${this.kind}`,
      title: TITLES[this.status] ?? 'Error',
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(this.errors && this.errors.length > 0 ? { errors: this.errors } : {}),
    };
  }
}

export const problems = {
  validation: (detail: string, errors?: FieldError[]) => new Problem(400, 'validation', detail, errors),
  unauthorized: (detail: string) =>
    new Problem(401, 'unauthorized', detail, undefined, { 'WWW-Authenticate': 'Bearer' }),
  forbidden: (detail: string) => new Problem(403, 'forbidden', detail),
  notFound: (detail: string) => new Problem(404, 'not-found', detail),
  conflict: (detail: string, errors?: FieldError[]) => new Problem(409, 'conflict', detail, errors),
  gone: (detail: string) => new Problem(410, 'gone', detail),
  unprocessable: (detail: string, errors?: FieldError[]) => new Problem(422, 'unprocessable', detail, errors),
  unavailable: (detail: string) => new Problem(503, 'unavailable', detail, undefined, { 'Retry-After': '5' }),
};

export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.status(problem.status).type('application/problem+json').json(problem.toBody(instance));
}

// What a constraint means to a client, by name; the raw name never leaks.
const CONSTRAINT_MESSAGES: Record<string, { status: number; detail: string; field?: string }> = {
  projects_organization_name_key: {
    status: 409,
    detail: 'A project with this name already exists in this organization (names are compared case-insensitively).',
    field: '/body/name',
  },
  project_repositories_project_id_repository_url_branch_key: {
    status: 409,
    detail: 'This repository and branch are already connected to the project.',
    field: '/body/repositoryUrl',
  },
  project_members_project_id_user_id_key: { status: 409, detail: 'This user is already a member of the project.' },
  project_members_project_email_key: { status: 409, detail: 'Someone with this email is already a member of the project.' },
  project_invitations_pending_email_key: { status: 409, detail: 'This address already has a pending invitation to the project.' },
  ingestion_progress_one_unfinished_key: { status: 409, detail: 'An ingestion of this project is still unfinished.' },
  project_files_project_id_path_key: {
    status: 409,
    detail: 'A file with this path is already registered in the project.',
    field: '/body/path',
  },
};

interface PgError extends Error {
  code?: string;
  constraint?: string;
  column?: string;
  detail?: string;
}

/** A plan quota used up (raised by the metering functions): 429 with the quota's headers. */
function quotaExceeded(error: PgError): Problem {
  const detail = parseQuotaDetail(error.detail);
  const headers = detail
    ? rateLimitHeaders({ limit: detail.limit, used: detail.used, resetEpochSeconds: detail.reset }, { retryAfter: true })
    : {};
  return new Problem(429, 'quota-exceeded', error.message, undefined, headers);
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH']);

/** Turns database failures into the problem a client can act on. */
export function problemFromDatabaseError(error: PgError): Problem | undefined {
  const code = error.code;
  const message = error.message ?? '';
  if (
    (code && UNAVAILABLE_CODES.has(code)) ||
    code?.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code?.startsWith('53') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(message)
  ) {
    return problems.unavailable('The database is unavailable right now; try again shortly.');
  }
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  if (code === QUOTA_EXCEEDED_SQLSTATE) return quotaExceeded(error);
  // A constraint's message is about duplicates: only a unique violation may use it.
  const known = code === '23505' && error.constraint ? CONSTRAINT_MESSAGES[error.constraint] : undefined;
  if (known) {
    const errors = known.field ? [{ path: known.field, message: known.detail }] : undefined;
    return new Problem(known.status, known.status === 409 ? 'conflict' : 'unprocessable', known.detail, errors);
  }
  switch (code) {
    case '23505':
      return problems.conflict('A resource with the same unique values already exists.');
    case '23503':
      return problems.unprocessable('The request refers to something that does not exist.');
    case '23502':
      return problems.unprocessable(`A required value is missing${error.column ? ` (${error.column})` : ''}.`);
    case '23514':
    case '23P01':
      return problems.unprocessable(
        error.constraint ? 'A value breaks a rule of this resource.' : message || 'A value breaks a rule of this resource.',
      );
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22P02':
    case '2202E':
    case '22023':
      return problems.unprocessable('A value has the wrong form or is out of range.');
    case '55000':
      // Raised by our own triggers for a state that forbids the change; their messages are written for clients.
      return problems.conflict(message);
    case '28000':
      return problems.unauthorized(message || 'The account of this token no longer exists.');
    case '54000':
      return problems.unprocessable('A value is too large to store.');
    case '42501':
      return problems.forbidden('You are not allowed to do this.');
    case '40001':
    case '40P01':
      return problems.conflict('The request collided with a concurrent change; retry it.');
    case '57014':
      return problems.unavailable('The request took too long and was stopped.');
    default:
      // Any other data exception (22xxx: e.g. a NUL character in text) or
      // integrity violation (23xxx) is the input's fault, never a 500.
      if (code.startsWith('22') || code.startsWith('23')) {
        return problems.unprocessable('A value has the wrong form or is out of range.');
      }
      return undefined;
  }
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
    const err = error as ValidatorError & PgError & { type?: string };
    problem = problemFromDatabaseError(err);
    if (!problem && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
      problem = problemFromClientError(err);
    }
    // The security handler's own verdict, when the validator re-wrapped it.
    if (req.authFailure) problem = req.authFailure;
  }
  if (!problem) {
    console.error(`unhandled error on ${req.method} ${req.originalUrl}:`, error);
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
