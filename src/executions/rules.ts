import type { PageRequest } from '../http/pagination';
import { problems } from '../problems';

// Pure rules of the executions domain: how stored values become the
// frontend's JSON, how the two ways of asking for a window and a page combine,
// and how a CSV cell is written. Unit tests beside this file.

/**
 * Euro cents as a JSON number, from the stored numeric(14, 4) text. Such a
 * value has at most 14 significant digits, and every decimal of at most 15
 * significant digits survives the trip to a double and back: the number's
 * shortest form (what JSON.stringify writes) is the stored decimal itself.
 */
export function centsNumber(exact: string): number {
  return Number(exact);
}

export type OutputFormat = 'markdown' | 'json' | 'text' | 'html' | 'code';

export interface ShownOutput {
  output: string | null;
  outputJson: unknown;
}

/**
 * The frontend reads `output` as text. A run in the json format keeps its
 * value in `outputJson` and shows its JSON text in `output`; any other format
 * stores text. A completed json run whose value is JSON null shows "null",
 * so that output is null only while there is no result. While a model
 * runner streams, the text so far is stored as a JSON string, raw text for
 * every format (a json answer is parsed only once complete): a json run that
 * has not completed shows that text as it is.
 */
export function shownOutput(stored: unknown, format: OutputFormat | null, status: string): ShownOutput {
  const completed = status === 'completed';
  if (format === 'json') {
    if (stored === null || stored === undefined) return completed ? { output: 'null', outputJson: null } : { output: null, outputJson: null };
    if (!completed) return { output: typeof stored === 'string' ? stored : JSON.stringify(stored), outputJson: null };
    return { output: JSON.stringify(stored), outputJson: stored };
  }
  if (stored === null || stored === undefined) return { output: null, outputJson: null };
  return { output: typeof stored === 'string' ? stored : JSON.stringify(stored), outputJson: null };
}

/** Both ways of naming a window: ours (`from` inclusive, `to` exclusive) and the frontend's (both inclusive). */
export interface WindowQuery {
  from?: string;
  to?: string;
  startDate?: string;
  endDate?: string;
}

/** A window of creation times: `from` inclusive; `before` exclusive or `through` inclusive (at most one of them). */
export interface CreatedWindow {
  from: string | null;
  before: string | null;
  through: string | null;
}

function rangeError(path: string, message: string) {
  return problems.validation(message, [{ path, message, code: 'range' }]);
}

/** One window from either naming; the two names of one end together, or an end before the start, are a 400. */
export function createdWindow(query: WindowQuery): CreatedWindow {
  if (query.from !== undefined && query.startDate !== undefined) {
    throw problems.validation('Send `from` or `startDate`, not both.', [
      { path: '/query/startDate', message: 'not together with from', code: 'exclusive' },
    ]);
  }
  if (query.to !== undefined && query.endDate !== undefined) {
    throw problems.validation('Send `to` or `endDate`, not both.', [{ path: '/query/endDate', message: 'not together with to', code: 'exclusive' }]);
  }
  const from = query.from ?? query.startDate ?? null;
  const fromPath = query.from !== undefined ? '/query/from' : '/query/startDate';
  if (from !== null && query.to !== undefined && Date.parse(from) >= Date.parse(query.to)) {
    throw rangeError(fromPath, `${fromPath.slice(7)} must be before to`);
  }
  if (from !== null && query.endDate !== undefined && Date.parse(from) > Date.parse(query.endDate)) {
    throw rangeError(fromPath, `${fromPath.slice(7)} must not be after endDate`);
  }
  return { from, before: query.to ?? null, through: query.endDate ?? null };
}

export const MAX_WINDOW_DAYS = 366;
const DAY_MS = 86_400_000;

/** A closed window with every day of it listed: what the dashboards chart. */
export interface DayWindow {
  from: Date;
  to: Date;
  /** UTC dates (YYYY-MM-DD) of the first and the last day. */
  firstDay: string;
  lastDay: string;
}

/**
 * The dashboards' window: `startDate` to `endDate`, both inclusive; the end
 * defaults to `now`, the start to `defaultDays` - 1 days before the end's day.
 * At most MAX_WINDOW_DAYS days are charted.
 */
export function dayWindow(query: { startDate?: string; endDate?: string }, now: Date, defaultDays: number): DayWindow {
  const to = query.endDate !== undefined ? new Date(query.endDate) : now;
  const from = query.startDate !== undefined ? new Date(query.startDate) : new Date(startOfUtcDay(to).getTime() - (defaultDays - 1) * DAY_MS);
  if (from.getTime() > to.getTime()) throw rangeError('/query/startDate', 'startDate must not be after endDate');
  const days = (startOfUtcDay(to).getTime() - startOfUtcDay(from).getTime()) / DAY_MS + 1;
  if (days > MAX_WINDOW_DAYS) throw rangeError('/query/startDate', `the window spans more than ${MAX_WINDOW_DAYS} days`);
  return { from, to, firstDay: utcDay(from), lastDay: utcDay(to) };
}

function startOfUtcDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export interface PagingQuery {
  page?: number;
  pageSize?: number;
  limit?: number;
  offset?: number;
}

/**
 * Our page/pageSize or the frontend's limit/offset, one way per request
 * (`sent` names the parameters the client actually sent, since the contract
 * fills in page and pageSize). With limit/offset the answer's page is the
 * one the offset falls in.
 */
export function paging(query: PagingQuery, sent: ReadonlySet<string>): PageRequest {
  const frontend = sent.has('limit') || sent.has('offset');
  if (!frontend) return { page: query.page ?? 1, pageSize: query.pageSize ?? 20 };
  if (sent.has('page') || sent.has('pageSize')) {
    throw problems.validation('Page with page/pageSize or with limit/offset, not both.', [
      { path: sent.has('page') ? '/query/page' : '/query/pageSize', message: 'not together with limit or offset', code: 'exclusive' },
    ]);
  }
  const pageSize = query.limit ?? 20;
  const offset = query.offset ?? 0;
  return { page: Math.floor(offset / pageSize) + 1, pageSize, offset };
}

/** Spreadsheets run a cell that starts with one of these as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV cell (RFC 4180): null is empty; text that a spreadsheet would take
 * for a formula gets a leading apostrophe (OWASP's advice), and text holding
 * a quote, comma or line break is quoted with its quotes doubled.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(guarded) || guarded !== value ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export function csvLine(cells: Array<string | number | null>): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
