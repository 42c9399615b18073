import pg from 'pg';
import { DATABASE_ROLES, type Identity } from '../auth/caller';
import { problems } from '../problems';

export type OrganizationRole = 'owner' | 'admin' | 'member';

/** A transaction already running as the caller. */
export interface RequestTransaction {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
  identity: Identity;
  /** The organization selected for this request (header, else the caller's default); null when they have none. */
  organizationId: string | null;
  organizationRole: OrganizationRole | null;
}

/** The organization's API-call quota after this request was counted (see database/007_usage_quotas.sql). */
export interface ApiCallQuota {
  /** -1 when the plan is unlimited. */
  limit: number;
  used: number;
  /** When the period ends, in seconds since the Unix epoch. */
  resetEpochSeconds: number;
}

export interface TransactionOptions {
  /** The X-Organization-Id header, when given. */
  requestedOrganizationId?: string;
  statementTimeoutMs: number;
  /**
   * Count this transaction as the request's API call (default true). A request
   * that runs several transactions (waiting for an execution polls) is one call.
   */
  meterApiCall?: boolean;
  /** Called with the API-call quota once an API-key request has been counted. */
  onApiCallMetered?: (quota: ApiCallQuota) => void;
  /** The client's address and user agent, for the audit log's entries (app.client_ip, app.user_agent). */
  clientIp?: string;
  userAgent?: string;
}

interface MeterRow {
  quota_limit: string;
  used: string | null;
  reset_epoch: string;
}

interface BeginRow {
  known: boolean;
  organization_id: string | null;
  organization_role: OrganizationRole | null;
}

/**
 * The SQL text that opens a request's transaction under `identity`, sent in
 * one round trip: for an API key, first the API call is metered (in a
 * transaction of its own) unless `meterApiCall` is false; then BEGIN, the
 * transaction-local claims and statement timeout, SET LOCAL ROLE, and the
 * organization the request acts in (its last statement returns
 * known, organization_id, organization_role). Every value goes in escaped as a
 * literal; a role outside DATABASE_ROLES throws. Pure: no connection needed.
 */
export function identitySql(identity: Identity, options: TransactionOptions): string {
  if (!DATABASE_ROLES.includes(identity.role)) throw new Error(`refusing database role ${String(identity.role)}`);
  const claims = pg.escapeLiteral(JSON.stringify(identity.claims));
  const timeout = pg.escapeLiteral(String(Math.trunc(options.statementTimeoutMs)));
  const requested = options.requestedOrganizationId ? pg.escapeLiteral(options.requestedOrganizationId) : 'null';
  const settings = `select set_config('request.jwt.claims', ${claims}, true), set_config('statement_timeout', ${timeout}, true)${clientSettings(options)};`;
  const lines: string[] = [];
  if (isMeteredCaller(identity) && options.meterApiCall !== false) {
    // Quotas: an API-key request counts one API call, in a short
    // transaction of its own that commits before the request's begins (the
    // statements before COMMIT form an implicit transaction), so the
    // organization's counter row is locked for one statement, not for the
    // whole request. Over the limit it raises and nothing below runs. A lost
    // count on a server crash is acceptable, a WAL flush per request is not.
    // It runs as the caller too: the login role itself may do nothing.
    lines.push(settings.replace(/;$/, ", set_config('synchronous_commit', 'off', true);"), 'set local role authenticated;');
    lines.push(`select quota_limit, used, extract(epoch from resets_at)::bigint as reset_epoch from app.meter_api_call(${requested}::uuid);`);
    lines.push('commit;');
  }
  // One round trip opens the transaction and sets the identity: the claims
  // and timeout are transaction-local, so nothing outlives this request on a
  // pooled connection (safe behind PgBouncer/Supavisor in transaction mode).
  // A read-scope API key's transaction is read-only: the database refuses
  // any write, whatever a handler attempts.
  lines.push(identity.apiKey?.scope === 'read' ? 'begin transaction read only;' : 'begin;', settings, `set local role ${identity.role};`);
  if (identity.role === 'authenticated') {
    lines.push(`select known, organization_id, organization_role from app.begin_request(${requested}::uuid);`);
  } else {
    // Back-office callers name the organization they act for, if any.
    lines.push(`select true as known, nullif(set_config('app.organization_id', coalesce(${requested}, ''), true), '')::uuid as organization_id, null as organization_role;`);
  }
  return lines.join('\n');
}

/** Longest user agent the audit log keeps. */
const USER_AGENT_MAX = 512;

/** The client's address and user agent as transaction-local settings (more set_config calls), when known. */
function clientSettings(options: TransactionOptions): string {
  let sql = '';
  if (options.clientIp) sql += `, set_config('app.client_ip', ${pg.escapeLiteral(options.clientIp)}, true)`;
  if (options.userAgent) sql += `, set_config('app.user_agent', ${pg.escapeLiteral(options.userAgent.slice(0, USER_AGENT_MAX))}, true)`;
  return sql;
}

/**
 * Only calls made with an API key count against the plan's API calls (the
 * public API); a signed-in user's session traffic has a burst limit instead.
 */
function isMeteredCaller(identity: Identity): boolean {
  return identity.role === 'authenticated' && identity.apiKey !== undefined;
}

/** The metering statement's row, when this request was counted. */
function meteredQuota(result: pg.QueryResult | pg.QueryResult[], identity: Identity, options: TransactionOptions): ApiCallQuota | undefined {
  if (!isMeteredCaller(identity) || options.meterApiCall === false || !Array.isArray(result)) return undefined;
  const row = result[2]?.rows[0] as MeterRow | undefined;
  if (!row || row.used === null) return undefined;
  return { limit: Number(row.quota_limit), used: Number(row.used), resetEpochSeconds: Number(row.reset_epoch) };
}

function lastRow(result: pg.QueryResult | pg.QueryResult[]): BeginRow {
  const results = Array.isArray(result) ? result : [result];
  return results[results.length - 1]!.rows[0] as BeginRow;
}

/** A transaction on one pooled connection, for the opening and the work given. */
interface PooledTransaction<Opened> {
  /** Opens the transaction (BEGIN and its settings) and reads what the work needs. */
  open(client: pg.PoolClient): Promise<Opened>;
}

/**
 * The one lifecycle every transaction of this API has: a pooled connection,
 * the opening, the work, then COMMIT when the work resolves and ROLLBACK when
 * it throws; a connection that broke on the way is discarded, never reused.
 */
async function onPooledConnection<Opened, T>(
  pool: pg.Pool,
  transaction: PooledTransaction<Opened>,
  work: (client: pg.PoolClient, opened: Opened) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client whose connection drops emits 'error'; unheard, that
  // event would crash the process. The query in flight rejects on its own (and
  // becomes a 503); the client is only marked so the pool discards it.
  const onConnectionError = (error: Error) => {
    broken = error;
  };
  client.on('error', onConnectionError);
  try {
    const opened = await transaction.open(client);
    const result = await work(client, opened);
    await client.query('commit');
    return result;
  } catch (error) {
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      // The connection itself is gone; the pool must not hand it out again.
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.removeListener('error', onConnectionError);
    client.release(broken);
  }
}

/**
 * The one way request SQL runs: in a single transaction under the caller's
 * identity, so that row level security decides what exists. Commits when `work`
 * resolves, rolls back when it throws.
 */
export function withRequestTransaction<T>(
  pool: pg.Pool,
  identity: Identity,
  options: TransactionOptions,
  work: (tx: RequestTransaction) => Promise<T>,
): Promise<T> {
  const opening: PooledTransaction<BeginRow> = {
    async open(client) {
      const opened = await client.query(identitySql(identity, options));
      const quota = meteredQuota(opened, identity, options);
      if (quota) options.onApiCallMetered?.(quota);
      const context = lastRow(opened);
      if (context.known) return context;
      // First request of a user this database has not met: give them a profile
      // and a personal organization, then resolve the organization again.
      await client.query('select app.provision_current_user()');
      const requested = options.requestedOrganizationId ?? null;
      const again = (await client.query<BeginRow>('select * from app.begin_request($1::uuid)', [requested])).rows[0]!;
      if (!again.known) {
        // The profile insert gave way to another profile with the same email.
        throw problems.conflict('Another account already uses the email address in this token.');
      }
      return again;
    },
  };
  return onPooledConnection(pool, opening, (client, context) => {
    if (options.requestedOrganizationId && !context.organization_id) {
      throw problems.notFound('There is no such organization, or you are not a member of it.');
    }
    return work({
      query: (text, params) => client.query(text, params),
      identity,
      organizationId: context.organization_id,
      organizationRole: context.organization_role,
    });
  });
}

/** A transaction as account_keeper: plain queries, no caller identity. */
export interface KeeperTransaction {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
}

/** What a keeper transaction is told about the request it serves (the audit log records it). */
export type KeeperOptions = Pick<TransactionOptions, 'statementTimeoutMs' | 'clientIp' | 'userAgent'>;

/**
 * Signing in happens before there is a caller to run as, and touches tables no
 * request role may read (password hashes, refresh tokens): that work runs as
 * account_keeper (database/014_local_accounts.sql), a role the login role
 * switches into for one transaction. It scopes by the ids the API verified.
 */
export function withKeeperTransaction<T>(pool: pg.Pool, options: KeeperOptions, work: (tx: KeeperTransaction) => Promise<T>): Promise<T> {
  const timeout = pg.escapeLiteral(String(Math.trunc(options.statementTimeoutMs)));
  const opening: PooledTransaction<void> = {
    async open(client) {
      await client.query(`begin; select set_config('statement_timeout', ${timeout}, true)${clientSettings(options)}; set local role account_keeper;`);
    },
  };
  return onPooledConnection(pool, opening, (client) => work({ query: (text, params) => client.query(text, params) }));
}

/** Handlers that need an organization use this to get one or a clear 404. */
export function requireOrganization(tx: RequestTransaction): string {
  if (!tx.organizationId) throw problems.notFound('You are not a member of any organization.');
  return tx.organizationId;
}

/**
 * The organization a request acts in. Service tokens (back-office callers,
 * which row level security lets through) must name it in X-Organization-Id.
 */
export function actingOrganization(tx: RequestTransaction): string {
  if (tx.identity.role === 'service_role' && !tx.organizationId) {
    throw problems.validation('Service tokens name the organization they act for in X-Organization-Id.', [
      { path: '/header/x-organization-id', message: 'is required for service tokens', code: 'required' },
    ]);
  }
  return requireOrganization(tx);
}

/** Handlers that act for a person (not a back-office service token) use this. */
export function requireUser(tx: RequestTransaction): string {
  if (!tx.identity.userId) throw problems.forbidden('This operation is for signed-in users, not service tokens.');
  return tx.identity.userId;
}

/** The identity background work runs under: service_role, which row level security lets through. */
export const SERVICE_IDENTITY: Identity = {
  role: 'service_role',
  userId: null,
  email: null,
  claims: { role: 'service_role' },
};

/**
 * The same transaction helper for work no request carries (schedulers,
 * workers, signed inbound webhooks): it runs as service_role, so it must scope
 * every statement by ids itself.
 */
export function withServiceTransaction<T>(
  pool: pg.Pool,
  statementTimeoutMs: number,
  work: (tx: RequestTransaction) => Promise<T>,
): Promise<T> {
  return withRequestTransaction(pool, SERVICE_IDENTITY, { statementTimeoutMs }, work);
}

/**
 * Runs `work` as service_role inside the caller's own transaction, for the few
 * writes a request makes that signed-in users may not make themselves (an
 * upgrade sets the plan and issues its invoice). The handler has checked the
 * caller's rights first; the grants keep the same writes out of reach of
 * Supabase's Data API, where a signed-in user sends SQL of their own choosing.
 */
export async function asServiceRole<T>(tx: RequestTransaction, work: () => Promise<T>): Promise<T> {
  if (tx.identity.role === 'service_role') return work();
  await tx.query('set local role service_role');
  const result = await work();
  // On failure the transaction rolls back, and SET LOCAL with it.
  await tx.query('set local role authenticated');
  return result;
}
