import pg from 'pg';
import { DATABASE_ROLES, type Identity } from '../auth/caller';
import { problems } from '../problems';
import { runPipeline, type Step } from './pipeline';
import type { KnownContext, OrganizationRole, RequestContexts } from './request-contexts';

export type { OrganizationRole } from './request-contexts';

/** The organization's API-call quota after a call was counted (see database/024_request_fast_path.sql). */
export interface ApiCallQuota {
  /** -1 when the plan is unlimited. */
  limit: number;
  used: number;
  /** When the period ends, in seconds since the Unix epoch. */
  resetEpochSeconds: number;
}

/**
 * Where an instance counts API-key calls (ApiCallLeases): one call of
 * `identity` in the organization it names (none: the key's own). Undefined
 * when the call is not metered; rejects with the database's QUOTA error at
 * the limit.
 */
export interface ApiCallCounter {
  take(identity: Identity, requestedOrganizationId: string | undefined): Promise<ApiCallQuota | undefined>;
}

/** A transaction already running as the caller. */
export interface RequestTransaction {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
  /**
   * The work's last statement: it travels with the transaction's end (and,
   * when it is also the first, with its opening: the whole request in one
   * round trip). Nothing may be queried after it; a problem thrown after it
   * no longer undoes what it wrote, so use it for reads and for a write that
   * is the operation's final step.
   */
  queryLast<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
  identity: Identity;
  /** The organization selected for this request (header, else the caller's default); null when they have none. */
  organizationId: string | null;
  organizationRole: OrganizationRole | null;
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
  /** Where this instance counts API-key calls (required for them unless meterApiCall is false). */
  apiCalls?: ApiCallCounter;
  /** This instance's knowledge of callers' organizations; without it every request resolves its own. */
  contexts?: RequestContexts;
}

export interface BeginRow {
  known: boolean;
  organization_id: string | null;
  organization_role: OrganizationRole | null;
}

/** app.confirm_request's refusal: the organization or role this instance predicted no longer holds. */
const CONTEXT_CHANGED = 'CTXCH';

/**
 * The statements that open a request's transaction under `identity`, each
 * value a bind parameter: BEGIN (read-only for a read-scope API key: the
 * database refuses any write, whatever a handler attempts), SET LOCAL ROLE,
 * the transaction-local claims, statement timeout and client, and the
 * organization the request acts in. Resolved by app.begin_request (its row:
 * known, organization_id, organization_role) unless `predicted` gives the one
 * this instance already knows, which app.confirm_request checks instead, in
 * the same statement as the settings it reads. A role outside DATABASE_ROLES
 * throws. Pure: no connection needed.
 */
export function openingOf(identity: Identity, options: TransactionOptions, predicted?: KnownContext): Opening {
  if (!DATABASE_ROLES.includes(identity.role)) throw new Error(`refusing database role ${String(identity.role)}`);
  const requested = options.requestedOrganizationId || null;
  const readOnly = identity.apiKey?.scope === 'read';
  // Everything is transaction-local, so nothing outlives this request on a
  // pooled connection (safe behind PgBouncer/Supavisor in transaction mode).
  // The subject goes in request.jwt.claim.sub too, as PostgREST sets it:
  // auth.uid() then reads it without parsing the claims.
  const values: unknown[] = [
    claimsText(identity.claims),
    typeof identity.claims.sub === 'string' ? identity.claims.sub : '',
    String(Math.trunc(options.statementTimeoutMs)),
  ];
  let settings = "select set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true), set_config('statement_timeout', $3, true)";
  settings += clientSettings(options, values);
  const steps: Step[] = [{ text: readOnly ? 'begin transaction read only' : 'begin' }, { text: `set local role ${identity.role}` }];
  if (identity.role !== 'authenticated') {
    // Back-office callers name the organization they act for, if any.
    steps.push(
      { text: settings, values },
      {
        text: "select true as known, nullif(set_config('app.organization_id', coalesce($1::text, ''), true), '')::uuid as organization_id, null::public.organization_role as organization_role",
        values: [requested],
      },
    );
  } else if (predicted) {
    const at = values.length;
    values.push(predicted.organizationId, predicted.organizationRole, predicted.isDefault);
    // In the same statement, after the settings it reads (a select list is evaluated left to right).
    steps.push({ text: `${settings}, app.confirm_request($${at + 1}::uuid, $${at + 2}::public.organization_role, $${at + 3}::boolean)`, values });
  } else {
    steps.push({ text: settings, values }, { text: 'select known, organization_id, organization_role from app.begin_request($1::uuid)', values: [requested] });
  }
  return { steps, confirms: predicted !== undefined && identity.role === 'authenticated' };
}

// A caller's identity (and its claims object) is kept while its token or key
// is, so the claims' JSON is written once, not on every request.
const claimsTexts = new WeakMap<object, string>();

function claimsText(claims: Identity['claims']): string {
  let text = claimsTexts.get(claims);
  if (text === undefined) {
    text = JSON.stringify(claims);
    claimsTexts.set(claims, text);
  }
  return text;
}

/** A transaction's opening: sent with the work's first statement, in one round trip (see TransactionChannel). */
export interface Opening {
  steps: Step[];
  /** It checks what this instance assumed (app.confirm_request): work that never reached the server still waits for that answer. */
  confirms: boolean;
}

/**
 * Opens a request's transaction on a connection of one's own, as the API
 * does, and gives the organization row (tests and tools that act as a caller
 * in SQL). The caller commits or rolls back.
 */
export async function openAs(client: pg.ClientBase, identity: Identity, options: TransactionOptions): Promise<BeginRow> {
  const results = await runPipeline(client, openingOf(identity, options).steps);
  return results[results.length - 1]!.rows[0] as BeginRow;
}

/** Longest user agent the audit log keeps. */
const USER_AGENT_MAX = 512;

/** The client's address and user agent as transaction-local settings (more set_config calls, their values added to `values`), when known. */
function clientSettings(options: Pick<TransactionOptions, 'clientIp' | 'userAgent'>, values: unknown[]): string {
  let sql = '';
  if (options.clientIp) {
    values.push(options.clientIp);
    sql += `, set_config('app.client_ip', $${values.length}, true)`;
  }
  if (options.userAgent) {
    values.push(options.userAgent.slice(0, USER_AGENT_MAX));
    sql += `, set_config('app.user_agent', $${values.length}, true)`;
  }
  return sql;
}

/**
 * Only calls made with an API key count against the plan's API calls (the
 * public API); a signed-in user's session traffic has a burst limit instead.
 */
function isMeteredCaller(identity: Identity): boolean {
  return identity.role === 'authenticated' && identity.apiKey !== undefined;
}

/** A transaction on one pooled connection, for the opening and the work given. */
interface PooledTransaction<Opened> {
  /** Opens the transaction (or prepares its opening) and gives what the work needs, with the way it queries. */
  open(client: pg.PoolClient): Promise<{ opened: Opened; channel: TransactionChannel }>;
}

/**
 * The one lifecycle every transaction of this API has: a pooled connection,
 * the opening, the work, then COMMIT when the work resolves and ROLLBACK when
 * it throws (neither when nothing reached the server); a connection that broke
 * on the way is discarded, never reused.
 */
async function onPooledConnection<Opened, T>(
  pool: pg.Pool,
  transaction: PooledTransaction<Opened>,
  work: (channel: TransactionChannel, opened: Opened) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  const health = healthOf(client);
  health.broken = undefined;
  let channel: TransactionChannel | undefined;
  try {
    const opening = await transaction.open(client);
    channel = opening.channel;
    let result: T;
    try {
      result = await work(channel, opening.opened);
    } catch (error) {
      await channel.confirmUnsent();
      throw error;
    }
    await channel.confirmUnsent();
    if (channel.open) await client.query('commit');
    return result;
  } catch (error) {
    if (channel?.open ?? true) {
      try {
        await client.query('rollback');
      } catch (rollbackError) {
        // The connection itself is gone; the pool must not hand it out again.
        health.broken = rollbackError as Error;
      }
    }
    throw error;
  } finally {
    client.release(health.broken);
  }
}

/** Whether a pooled connection broke while checked out. */
interface ConnectionHealth {
  broken: Error | undefined;
}

const healthOfClient = new WeakMap<pg.PoolClient, ConnectionHealth>();

/**
 * A checked-out client whose connection drops emits 'error'; unheard, that
 * event would crash the process. The query in flight rejects on its own (and
 * becomes a 503); the client is only marked so that the pool discards it. One
 * listener per connection for its whole life, not one added and removed per
 * transaction.
 */
function healthOf(client: pg.PoolClient): ConnectionHealth {
  let health = healthOfClient.get(client);
  if (!health) {
    const created: ConnectionHealth = { broken: undefined };
    client.on('error', (error: Error) => {
      created.broken = error;
    });
    healthOfClient.set(client, created);
    health = created;
  }
  return health;
}

/**
 * How a transaction's statements reach the server. The opening waits for the
 * work's first statement and travels with it in one pipeline (one write, one
 * round trip), and the last statement may carry COMMIT: a one-statement
 * request is BEGIN to COMMIT in one round trip. Statements in a pipeline are
 * prepared statements of their connection (src/db/pipeline.ts), as are the
 * later ones with parameters.
 */
class TransactionChannel {
  private begun = false;
  private ended = false;

  constructor(
    private readonly client: pg.PoolClient,
    private pending: Opening | undefined,
  ) {
    if (!pending) this.begun = true;
  }

  /** Whether COMMIT or ROLLBACK is still to be sent. */
  get open(): boolean {
    return this.begun && !this.ended;
  }

  readonly query = async <Row extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>> => {
    this.refuseAfterEnd();
    const opening = this.takeOpening();
    // A text without parameters may hold several statements: those take the simple protocol.
    if (!opening && !params?.length) return this.client.query<Row>(text);
    const results = await runPipeline(this.client, [...(opening?.steps ?? []), { text, values: params }]);
    return results[results.length - 1] as pg.QueryResult<Row>;
  };

  readonly queryLast = async <Row extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>> => {
    this.refuseAfterEnd();
    const opening = this.takeOpening();
    // A failure anywhere leaves the transaction aborted, and still open for the ROLLBACK.
    const results = await runPipeline(this.client, [...(opening?.steps ?? []), { text, values: params }, { text: 'commit' }]);
    this.ended = true;
    return results[results.length - 2] as pg.QueryResult<Row>;
  };

  /**
   * Work that answered (or refused) without a statement has still relied on
   * what this instance assumed: the opening goes alone, with COMMIT, so that
   * the database confirms it (or refuses with CTXCH).
   */
  async confirmUnsent(): Promise<void> {
    if (!this.pending?.confirms) return;
    const opening = this.takeOpening()!;
    await runPipeline(this.client, [...opening.steps, { text: 'commit' }]);
    this.ended = true;
  }

  private takeOpening(): Opening | undefined {
    const opening = this.pending;
    this.pending = undefined;
    if (opening) this.begun = true;
    return opening;
  }

  private refuseAfterEnd(): void {
    if (this.ended) throw new Error('a statement after the last one of its transaction (queryLast)');
  }
}

/** An opening sent with the work's first statement (see TransactionChannel). */
function pipelinedOpening<Opened>(opening: Opening, opened: Opened): PooledTransaction<Opened> {
  return {
    async open(client) {
      return { opened, channel: new TransactionChannel(client, opening) };
    },
  };
}

/** An opening that resolves the request's organization first (app.begin_request), then runs the work. */
function resolvingOpening(identity: Identity, options: TransactionOptions): PooledTransaction<BeginRow> {
  return {
    async open(client) {
      const channel = new TransactionChannel(client, undefined);
      const context = await openAs(client, identity, options);
      if (context.known) return { opened: context, channel };
      // First request of a user this database has not met: give them a profile
      // and a personal organization, then resolve the organization again.
      await client.query('select app.provision_current_user()');
      const requested = options.requestedOrganizationId ?? null;
      const again = (await client.query<BeginRow>('select * from app.begin_request($1::uuid)', [requested])).rows[0]!;
      if (!again.known) {
        // The profile insert gave way to another profile with the same email.
        throw problems.conflict('Another account already uses the email address in this token.');
      }
      return { opened: again, channel };
    },
  };
}

/**
 * The one way request SQL runs: in a single transaction under the caller's
 * identity, so that row level security decides what exists. Commits when `work`
 * resolves, rolls back when it throws.
 *
 * An API key's call is counted first (options.apiCalls, in memory but for one
 * short transaction per leased block). When this instance already knows the
 * caller's organization and role (options.contexts), the opening travels with
 * the work's first statement and the database confirms that knowledge in the
 * same transaction; when it no longer holds, that attempt changed nothing and
 * the request is resolved afresh. Back-office callers resolve nothing and
 * always travel that way. So `work` may run twice, the first run having
 * changed nothing in the database: before its first statement it must not act
 * outside the database, or only idempotently (Stripe calls carry keys).
 */
export async function withRequestTransaction<T>(
  pool: pg.Pool,
  identity: Identity,
  options: TransactionOptions,
  work: (tx: RequestTransaction) => Promise<T>,
): Promise<T> {
  const requested = options.requestedOrganizationId || undefined;
  if (isMeteredCaller(identity) && options.meterApiCall !== false) {
    if (!options.apiCalls) throw new Error('an API key request is counted through ApiCallLeases; none was given');
    const quota = await options.apiCalls.take(identity, requested);
    if (quota) options.onApiCallMetered?.(quota);
  }
  try {
    return await runAsCaller(pool, identity, options, requested, work);
  } catch (error) {
    // A migration changed a table's columns under a statement this connection
    // had prepared: that attempt changed nothing, and the statement is
    // prepared afresh (src/db/pipeline.ts), so the request goes once more.
    if (!isStalePlan(error)) throw error;
    return runAsCaller(pool, identity, options, requested, work);
  }
}

function isStalePlan(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan');
}

async function runAsCaller<T>(
  pool: pg.Pool,
  identity: Identity,
  options: TransactionOptions,
  requested: string | undefined,
  work: (tx: RequestTransaction) => Promise<T>,
): Promise<T> {
  const run = (channel: TransactionChannel, context: BeginRow) => {
    if (requested && !context.organization_id) {
      throw problems.notFound('There is no such organization, or you are not a member of it.');
    }
    return work({
      query: channel.query,
      queryLast: channel.queryLast,
      identity,
      organizationId: context.organization_id,
      organizationRole: context.organization_role,
    });
  };

  if (identity.role !== 'authenticated') {
    // The back-office opening reads nothing the work needs: the organization is the one named.
    const context: BeginRow = { known: true, organization_id: requested ?? null, organization_role: null };
    return onPooledConnection(pool, pipelinedOpening(openingOf(identity, options), context), run);
  }
  const predicted = options.contexts?.predict(identity, requested);
  if (predicted) {
    const context: BeginRow = { known: true, organization_id: predicted.organizationId, organization_role: predicted.organizationRole };
    try {
      return await onPooledConnection(pool, pipelinedOpening(openingOf(identity, options, predicted), context), run);
    } catch (error) {
      if ((error as { code?: unknown }).code !== CONTEXT_CHANGED) throw error;
      options.contexts!.forget(identity, requested);
    }
  }
  return onPooledConnection(pool, resolvingOpening(identity, options), (channel, context) => {
    if (context.organization_id && context.organization_role) {
      options.contexts?.remember(identity, requested, {
        organizationId: context.organization_id,
        organizationRole: context.organization_role,
        isDefault: !requested && !identity.apiKey,
      });
    }
    return run(channel, context);
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
  const values: unknown[] = [String(Math.trunc(options.statementTimeoutMs))];
  const settings = `select set_config('statement_timeout', $1, true)${clientSettings(options, values)}`;
  const opening: Opening = { steps: [{ text: 'begin' }, { text: settings, values }, { text: 'set local role account_keeper' }], confirms: false };
  return onPooledConnection(pool, pipelinedOpening(opening, undefined), (channel) => work({ query: channel.query }));
}

/**
 * Work as a caller known by their claims alone (an API key's, while its calls
 * are leased), with no organization resolved: the request's lifecycle, its
 * opening sent with the first statement, and the last statement carrying the
 * COMMIT (queryLast), so that one statement is one round trip.
 */
export function withClaimsTransaction<T>(
  pool: pg.Pool,
  claims: Identity['claims'],
  statementTimeoutMs: number,
  work: (tx: Pick<RequestTransaction, 'query' | 'queryLast'>) => Promise<T>,
): Promise<T> {
  const values = [claimsText(claims), String(Math.trunc(statementTimeoutMs))];
  const opening: Opening = {
    steps: [
      { text: 'begin' },
      { text: 'set local role authenticated' },
      { text: "select set_config('request.jwt.claims', $1, true), set_config('statement_timeout', $2, true)", values },
    ],
    confirms: false,
  };
  return onPooledConnection(pool, pipelinedOpening(opening, undefined), (channel) => work({ query: channel.query, queryLast: channel.queryLast }));
}

/** Handlers that need an organization use this to get one or a clear 404. */
export function requireOrganization(tx: RequestTransaction): string {
  if (!tx.organizationId) throw problems.notFound('You are not a member of any organization.');
  return tx.organizationId;
}

/**
 * The organization, for operations its owners and admins alone may do (an
 * API key acts with its capped role); `refusal` is the 403's detail. The
 * policies refuse the same rows; this gives the clear answer first.
 */
export function requireOwnerOrAdmin(tx: RequestTransaction, refusal: string): string {
  const organizationId = requireOrganization(tx);
  if (tx.organizationRole !== 'owner' && tx.organizationRole !== 'admin') throw problems.forbidden(refusal);
  return organizationId;
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
