import { Problem, problems, type FieldError, type ProblemCode } from '../problems';

/** What node-postgres attaches to a failed statement. */
export interface DatabaseError extends Error {
  code?: string;
  constraint?: string;
  column?: string;
  detail?: string;
}

/** What a unique constraint means to a client: its detail and the request field it is about. */
export interface UniqueConstraintMeaning {
  detail: string;
  field?: string;
  /** A machine-readable code on the field error (e.g. `unique`). */
  code?: string;
  /** The problem's own code, naming the case (e.g. `project_name_taken`). */
  problemCode?: ProblemCode;
}

const uniqueConstraints = new Map<string, UniqueConstraintMeaning>();
const sqlStates = new Map<string, (error: DatabaseError) => Problem>();

/**
 * Each domain names its unique constraints next to its SQL, so that a
 * duplicate becomes a 409 that says what is taken (the raw name never leaks).
 */
export function registerUniqueConstraints(meanings: Record<string, UniqueConstraintMeaning>): void {
  for (const [name, meaning] of Object.entries(meanings)) uniqueConstraints.set(name, meaning);
}

/** A domain's own SQLSTATE (raised by its functions or triggers) and the problem it means. */
export function registerSqlState(code: string, toProblem: (error: DatabaseError) => Problem): void {
  sqlStates.set(code, toProblem);
}

/**
 * The one way a unique violation becomes a 409: the registered meaning of the
 * constraint, its field error at `field` (default: the registered field, e.g.
 * `/body/skills/3/name` for one item of a batch). Undefined for any other error.
 */
export function uniqueViolation(error: unknown, field?: string): Problem | undefined {
  const pg = error as DatabaseError;
  if (pg?.code !== '23505') return undefined;
  const meaning = pg.constraint ? uniqueConstraints.get(pg.constraint) : undefined;
  if (!meaning) return problems.conflict('A resource with the same unique values already exists.');
  const path = field ?? meaning.field;
  const errors: FieldError[] | undefined = path
    ? [{ path, message: meaning.detail, ...(meaning.code ? { code: meaning.code } : {}) }]
    : undefined;
  const conflict = problems.conflict(meaning.detail, errors);
  return meaning.problemCode ? conflict.because(meaning.problemCode) : conflict;
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH']);

function isUnavailable(error: DatabaseError): boolean {
  const code = error.code;
  return (
    (code !== undefined && UNAVAILABLE_CODES.has(code)) ||
    code?.startsWith('08') === true ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code?.startsWith('53') === true ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(error.message ?? '')
  );
}

/** Database failures translated where the database is: the problem a client can act on, or undefined (a 500). */
export function problemFromDatabaseError(error: DatabaseError): Problem | undefined {
  const code = error.code;
  const message = error.message ?? '';
  if (isUnavailable(error)) return problems.unavailable('The database is unavailable right now; try again shortly.');
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const own = sqlStates.get(code);
  if (own) return own(error);
  switch (code) {
    case '23505':
      return uniqueViolation(error);
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
