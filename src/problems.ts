import type { components } from './generated/openapi';

// The problem leaf: what every layer may throw (RFC 9457 problem documents).
// It imports nothing of ours but the generated contract types, so db/, auth/,
// http/ and every domain can use it without pointing upward.

export type ProblemBody = components['schemas']['Problem'];
export type FieldError = components['schemas']['FieldError'];
/** The machine-readable codes the contract lists. */
export type ProblemCode = ProblemBody['code'];

/** The code of each kind of problem, unless a problem names its exact case. */
const CODE_OF_KIND: Record<string, ProblemCode> = {
  validation: 'validation_failed',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  'not-found': 'not_found',
  'method-not-allowed': 'method_not_allowed',
  conflict: 'conflict',
  gone: 'gone',
  'too-large': 'payload_too_large',
  'unsupported-media-type': 'unsupported_media_type',
  unprocessable: 'unprocessable',
  'quota-exceeded': 'quota_exceeded',
  'rate-limited': 'rate_limited',
  internal: 'internal_error',
  unavailable: 'service_unavailable',
};

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
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** An error that leaves the API as an RFC 9457 problem document. */
export class Problem extends Error {
  /** What a client branches on: the kind's code, or the exact case's (see `because`). */
  code: ProblemCode;

  constructor(
    readonly status: number,
    readonly kind: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.code = CODE_OF_KIND[kind] ?? (status >= 500 ? 'internal_error' : 'bad_request');
  }

  /** Names the exact case, for clients that branch on more than the kind. */
  because(code: ProblemCode): this {
    this.code = code;
    return this;
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: `/problems/${this.kind}`,
      code: this.code,
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
  rateLimited: (detail: string, headers: Record<string, string>) => new Problem(429, 'rate-limited', detail, undefined, headers),
};
