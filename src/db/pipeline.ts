import pg from 'pg';

/**
 * Several statements in one write, answered after one Sync: a transaction's
 * opening and its first statement (or all of a one-statement request, BEGIN
 * to COMMIT) cost one round trip, and every value is a real bind parameter.
 *
 * Each text becomes a prepared statement of its connection the first time it
 * is sent there (Parse), and later only Bind and Execute: the server parses
 * and plans a request's statements once per connection instead of on every
 * request, which under load is most of what a short read costs the database.
 * PgBouncer 1.21+ (max_prepared_statements) and Supavisor carry such
 * protocol-level statements through transaction pooling; for a pooler that
 * cannot, DB_PREPARED_STATEMENTS=0 sends every statement unnamed (parsed each
 * time, still one round trip).
 *
 * When a statement fails the server skips the rest up to the Sync; the error
 * rejects the pipeline, and an explicit transaction is then left aborted for
 * the caller to roll back.
 */
export interface Step {
  text: string;
  values?: readonly unknown[];
}

/** Prepared statements per connection, at most this many (the least recently used is closed). */
export const DEFAULT_PREPARED_STATEMENTS = 200;

// node-postgres's own conversion of a parameter to its wire text (dates,
// arrays, JSON), which its typings leave out.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const prepareValue = (require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown }).prepareValue;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Result = require('pg/lib/result') as new () => pg.QueryResult & {
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): pg.QueryResultRow;
  addCommandComplete(message: unknown): void;
};

/** The driver's connection, as far as this module writes to it. */
interface WireConnection {
  parse(message: { name: string; text: string; types: never[] }): void;
  bind(message: { statement: string; portal: string; values: readonly unknown[]; valueMapper: (value: unknown) => unknown }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string; rows: number }): void;
  close(message: { type: 'S'; name: string }): void;
  sync(): void;
  stream: { cork?(): void; uncork?(): void };
}

/** What one connection has prepared, least recently used first. */
class PreparedStatements {
  private readonly names = new Map<string, string>();
  /** To close before the next pipeline: evicted, or parsed by one that failed (closing one that does not exist is no error). */
  private readonly evicted: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  /** The statement's name, and whether it must be parsed first. */
  nameFor(text: string): { name: string; parse: boolean } {
    const known = this.names.get(text);
    if (known !== undefined) {
      this.names.delete(text);
      this.names.set(text, known);
      return { name: known, parse: false };
    }
    const name = `s${this.next++}`;
    this.names.set(text, name);
    if (this.names.size > this.capacity) {
      const [oldestText, oldestName] = this.names.entries().next().value as [string, string];
      this.names.delete(oldestText);
      this.evicted.push(oldestName);
    }
    return { name, parse: true };
  }

  /** Statements to close before anything else is sent. */
  takeClosings(): string[] {
    return this.evicted.splice(0);
  }

  /**
   * After a failure, what the pipeline parsed may or may not exist on the
   * server: it is closed, and its text gets a new name when it comes again
   * (names are never reused).
   */
  forget(parsed: Array<{ text: string; name: string }>): void {
    for (const { text, name } of parsed) {
      if (this.names.get(text) === name) this.names.delete(text);
      this.evicted.push(name);
    }
  }
}

const statementsOf = new WeakMap<pg.ClientBase, PreparedStatements | null>();

/** How many statements `client` keeps prepared (0: none, every statement unnamed); the default until told. */
export function limitPreparedStatements(client: pg.ClientBase, capacity: number): void {
  statementsOf.set(client, capacity > 0 ? new PreparedStatements(capacity) : null);
}

function preparedStatements(client: pg.ClientBase): PreparedStatements | undefined {
  let statements = statementsOf.get(client);
  if (statements === undefined) {
    statements = new PreparedStatements(DEFAULT_PREPARED_STATEMENTS);
    statementsOf.set(client, statements);
  }
  return statements ?? undefined;
}

/**
 * A query object node-postgres runs like its own (it calls submit, then hands
 * it the server's answers): the steps' results in order, or the first error.
 */
class PipelineQuery {
  readonly results: pg.QueryResult[] = [];
  private current = new Result();
  private readonly parsed: Array<{ text: string; name: string }> = [];
  /** Each step's statement name, to forget the one that failed. */
  private readonly names: string[] = [];
  readonly done: Promise<pg.QueryResult[]>;
  private settle!: { resolve(results: pg.QueryResult[]): void; reject(error: unknown): void };
  private failed = false;
  /**
   * Set by the driver: with a read timeout (query_timeout) it wraps this to
   * clear its timer. Called once the query has ended, as the driver's own
   * queries do; never called, each timer would keep the query and its rows
   * alive until it fired, then fail a query long finished.
   */
  callback?: (error: unknown, results?: pg.QueryResult[]) => void;

  constructor(
    private readonly steps: readonly Step[],
    private readonly statements: PreparedStatements | undefined,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: WireConnection): void {
    connection.stream.cork?.();
    try {
      for (const name of this.statements?.takeClosings() ?? []) connection.close({ type: 'S', name });
      for (const step of this.steps) {
        const statement = this.statements?.nameFor(step.text) ?? { name: '', parse: true };
        this.names.push(statement.name);
        if (statement.parse) {
          connection.parse({ name: statement.name, text: step.text, types: [] });
          if (statement.name) this.parsed.push({ text: step.text, name: statement.name });
        }
        connection.bind({ statement: statement.name, portal: '', values: step.values ?? [], valueMapper: prepareValue });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    this.current.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }): void {
    this.current.rows.push(this.current.parseRow(message.fields));
  }

  handleCommandComplete(message: unknown): void {
    this.current.addCommandComplete(message);
    this.results.push(this.current);
    this.current = new Result();
  }

  handleEmptyQuery(): void {
    this.results.push(this.current);
    this.current = new Result();
  }

  handlePortalSuspended(): void {}

  handleError(error: unknown): void {
    if (this.failed) return;
    // The driver routes the Sync's ReadyForQuery past this object once an error arrived: settle now.
    this.failed = true;
    // The statement that failed is prepared afresh next time too: its plan may
    // be what failed (a table's columns changed under a cached plan).
    const failing = this.names[this.results.length];
    if (failing) this.parsed.push({ text: this.steps[this.results.length]!.text, name: failing });
    this.statements?.forget(this.parsed);
    this.settle.reject(error);
    this.callback?.(error);
  }

  handleReadyForQuery(): void {
    if (this.failed) return;
    this.settle.resolve(this.results);
    this.callback?.(null, this.results);
  }
}

/** Runs `steps` in one round trip on `client`; their results in order. */
export async function runPipeline(client: pg.ClientBase, steps: readonly Step[]): Promise<pg.QueryResult[]> {
  const query = new PipelineQuery(steps, preparedStatements(client));
  void client.query(query as unknown as pg.Submittable);
  return query.done;
}
