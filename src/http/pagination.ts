import type { QueryResultRow } from 'pg';
import type { components } from '../generated/openapi';
import type { RequestTransaction } from '../db/transaction';
import { problems } from '../problems';

export type PageMeta = Omit<components['schemas']['PageMeta'], never>;

/** A page of items in the contract's envelope. */
export type Page<Item> = PageMeta & { data: Item[] };

/** Above this many matching rows `total` becomes the planner's estimate. */
export const EXACT_COUNT_LIMIT = 10_000;
/** Offsets cost what they skip; deeper pages must narrow their filters. */
export const MAX_OFFSET = 10_000;

export interface PageRequest {
  page: number;
  pageSize: number;
  /** Rows to skip when the client paged by offset (at most MAX_OFFSET); else (page - 1) * pageSize. */
  offset?: number;
}

export interface PageQuery<Row> {
  /** SELECT list of the page rows, e.g. "p.*". */
  select: string;
  /** FROM and WHERE, shared by the page and its count, e.g. "public.projects p where p.type = $1". */
  fromWhere: string;
  params: unknown[];
  /** ORDER BY with a unique last key, so pages never overlap. */
  orderBy: string;
  page: PageRequest;
  /** Guards against a mapper receiving the helper's own columns. */
  rowType?: Row;
}

/** Reads page and pageSize from a query the validator has already checked and defaulted. */
export function pageRequest(query: { page?: number; pageSize?: number }): PageRequest {
  const page = query.page ?? 1;
  const pageSize = query.pageSize ?? 20;
  if ((page - 1) * pageSize > MAX_OFFSET) {
    throw problems.validation(
      `Pages deeper than ${MAX_OFFSET} rows are not served; narrow the filters or change the sort.`,
      [{ path: '/query/page', message: `(page - 1) * pageSize must be at most ${MAX_OFFSET}` }],
    );
  }
  return { page, pageSize };
}

/** The page-and-capped-count statement of `query`, as paginate sends it (the benchmark's bare handler runs it too). */
export function pageStatement<Row>(query: PageQuery<Row>): { text: string; params: unknown[] } {
  const { page, pageSize } = query.page;
  const offset = query.page.offset ?? (page - 1) * pageSize;
  const n = query.params.length;
  const text = `
    select counted.total as "__total", page_rows.*
    from (select count(*)::int as total from (select 1 from ${query.fromWhere} limit $${n + 3}) capped) counted
    left join lateral (
      select true as "__present", ${query.select}
      from ${query.fromWhere}
      order by ${query.orderBy}
      limit $${n + 1} offset $${n + 2}
    ) page_rows on true`;
  return { text, params: [...query.params, pageSize + 1, offset, EXACT_COUNT_LIMIT + 1] };
}

/** How long what a list taught (its size, its planner estimate) stands in for asking again. */
const LEARNED_TTL_MS = 60_000;
const LISTS_KEPT = 5_000;

/**
 * What the last page of each caller's list showed: small (null), or past
 * EXACT_COUNT_LIMIT with the planner's estimate. Known, the next page needs
 * no EXPLAIN after it and is the last statement of its transaction.
 */
const learned = new Map<string, { estimate: number | null; expiresAt: number }>();

/** The transaction paginate runs in; a request's (with its caller and its last statement) can learn. */
type ListTransaction = Pick<RequestTransaction, 'query'> & Partial<Pick<RequestTransaction, 'queryLast' | 'identity'>>;

function listKey(tx: ListTransaction, query: PageQuery<unknown>): string | undefined {
  if (!tx.identity || !tx.queryLast) return undefined;
  return JSON.stringify([tx.identity.userId, tx.identity.apiKey?.id ?? null, query.fromWhere, query.params]);
}

function learn(key: string | undefined, estimate: number | null): void {
  if (key === undefined) return;
  learned.delete(key);
  while (learned.size >= LISTS_KEPT) learned.delete(learned.keys().next().value!);
  learned.set(key, { estimate, expiresAt: Date.now() + LEARNED_TTL_MS });
}

/**
 * The one list helper. A page and a bounded count come back in one round trip:
 * one row more than the page tells hasMore, and the count stops at
 * EXACT_COUNT_LIMIT + 1 rows so its cost is flat however large the
 * organization grows. Past that, `total` is the planner's estimate and
 * `totalExact` says so. It must be the work's last statement: when the list's
 * size is already known, the page statement ends the transaction (a list that
 * has just grown past the limit then reports the capped count as its
 * estimate, once).
 */
export async function paginate<Row extends QueryResultRow, Item>(
  tx: ListTransaction,
  query: PageQuery<Row>,
  map: (row: Row) => Item,
): Promise<Page<Item>> {
  const { page, pageSize } = query.page;
  const statement = pageStatement(query);
  const key = listKey(tx, query);
  const entry = key === undefined ? undefined : learned.get(key);
  const known = entry && entry.expiresAt > Date.now() ? entry : undefined;
  const result = known && tx.queryLast ? await tx.queryLast(statement.text, statement.params) : await tx.query(statement.text, statement.params);
  const counted = (result.rows[0]?.__total as number | undefined) ?? 0;
  const rows = result.rows.filter((row) => row.__present === true);
  const hasMore = rows.length > pageSize;
  const data = rows.slice(0, pageSize).map((row) => {
    const { __total: _total, __present: _present, ...rest } = row;
    return map(rest as unknown as Row);
  });

  if (counted <= EXACT_COUNT_LIMIT) {
    if (!known || known.estimate !== null) learn(key, null);
    return { data, total: counted, totalExact: true, page, pageSize, hasMore };
  }
  let estimate = known?.estimate ?? null;
  if (!known) {
    const plan = await tx.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
      `explain (format json) select 1 from ${query.fromWhere}`,
      query.params,
    );
    estimate = Math.round(plan.rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0);
    learn(key, estimate);
  } else if (estimate === null && key !== undefined) {
    // It grew past the limit since: the next page asks the planner.
    learned.delete(key);
  }
  return { data, total: Math.max(estimate ?? 0, counted), totalExact: false, page, pageSize, hasMore };
}
