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

/**
 * What a statement's rows look like: its columns and each one's parser (the
 * pool's type parsers: int8 as numbers, timestamps as ISO strings). A prepared
 * statement always answers in the same shape (a table changed under it is an
 * error, 0A000, never another shape), so a connection learns it once and
 * later executions skip the Describe: no RowDescription to send, read and
 * turn into parsers again on every request.
 */
class RowShape {
  /** As the server described them; shared by every result in this shape (nothing writes to a result's fields). */
  readonly fields: pg.FieldDef[];
  private readonly names: string[];
  private readonly parsers: Array<(text: string) => unknown>;
  /** A column named __proto__ would set a plain object's prototype: such rows are built without one. */
  private readonly bare: boolean;

  constructor(fields: pg.FieldDef[]) {
    this.fields = fields;
    this.names = fields.map((field) => field.name);
    this.parsers = fields.map((field) => {
      if (field.format !== 'text') throw new Error(`column ${field.name} came in ${field.format} format; pipelines ask for text`);
      return pg.types.getTypeParser(field.dataTypeID, 'text') as (text: string) => unknown;
    });
    this.bare = this.names.includes('__proto__');
  }

  row(values: ReadonlyArray<string | null>): pg.QueryResultRow {
    const row: pg.QueryResultRow = this.bare ? Object.create(null) : {};
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      row[this.names[i]!] = value === null || value === undefined ? null : this.parsers[i]!(value);
    }
    return row;
  }
}

/**
 * Statements whose answer's shape the statement itself fixes. Others (FETCH,
 * SHOW, EXPLAIN, a utility's output) may answer in another shape each time
 * and are described on every run.
 */
const FIXED_SHAPE = /^\s*(select|with|insert|update|delete|values|begin|commit|rollback|set|savepoint|release)\b/i;

/** A statement that returns no rows (BEGIN, SET, an INSERT without RETURNING). */
const NO_ROWS = new RowShape([]);

const COMMAND_TAG = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

/** One statement's answer, as node-postgres gives one. */
class StepResult implements pg.QueryResult {
  command = '';
  rowCount: number | null = null;
  oid = 0;
  readonly rows: pg.QueryResultRow[] = [];
  fields: pg.FieldDef[] = [];

  constructor(public shape: RowShape | undefined) {
    if (shape) this.fields = shape.fields;
  }

  describe(shape: RowShape): void {
    this.shape = shape;
    this.fields = shape.fields;
  }

  complete(tag: string): void {
    const match = COMMAND_TAG.exec(tag);
    if (!match) return;
    this.command = match[1]!;
    // INSERT gives "INSERT oid rows"; the others "COMMAND rows".
    if (match[3] !== undefined) {
      this.oid = Number(match[2]);
      this.rowCount = Number(match[3]);
    } else if (match[2] !== undefined) {
      this.rowCount = Number(match[2]);
    }
  }
}

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
  /** Statement text to name, least recently used first. */
  private readonly names = new Map<string, string>();
  /** By name, for the statements still prepared: the shape of their rows, once a Describe has told it. */
  private readonly shapes = new Map<string, RowShape | null>();
  /** To close before the next pipeline: evicted, or parsed by one that failed (closing one that does not exist is no error). */
  private readonly evicted: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  /** The statement's name, whether it must be parsed first, and its rows' shape when known (no Describe needed). */
  nameFor(text: string): { name: string; parse: boolean; shape: RowShape | undefined } {
    const known = this.names.get(text);
    if (known !== undefined) {
      this.names.delete(text);
      this.names.set(text, known);
      return { name: known, parse: false, shape: this.shapes.get(known) ?? undefined };
    }
    const name = `s${this.next++}`;
    this.names.set(text, name);
    this.shapes.set(name, null);
    if (this.names.size > this.capacity) {
      const [oldestText, oldestName] = this.names.entries().next().value as [string, string];
      this.names.delete(oldestText);
      this.shapes.delete(oldestName);
      this.evicted.push(oldestName);
    }
    return { name, parse: true, shape: undefined };
  }

  /** What a Describe told of a statement still prepared here. */
  learnShape(name: string, shape: RowShape): void {
    if (this.shapes.has(name)) this.shapes.set(name, shape);
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
      this.shapes.delete(name);
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
  private readonly parsed: Array<{ text: string; name: string }> = [];
  /** Each step's statement name (to forget the one that failed, to learn a shape). */
  private readonly names: string[] = [];
  /** Each step's known shape (undefined: a Describe went with it this time). */
  private readonly shapes: Array<RowShape | undefined> = [];
  private current!: StepResult;
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
        const statement = this.statements?.nameFor(step.text) ?? { name: '', parse: true, shape: undefined };
        this.names.push(statement.name);
        this.shapes.push(statement.shape);
        if (statement.parse) {
          connection.parse({ name: statement.name, text: step.text, types: [] });
          if (statement.name) this.parsed.push({ text: step.text, name: statement.name });
        }
        connection.bind({ statement: statement.name, portal: '', values: step.values ?? [], valueMapper: prepareValue });
        if (statement.shape === undefined) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    this.current = new StepResult(this.shapes[0]);
  }

  handleRowDescription(message: { fields: pg.FieldDef[] }): void {
    const shape = new RowShape(message.fields);
    this.current.describe(shape);
    this.learn(shape);
  }

  handleDataRow(message: { fields: Array<string | null> }): void {
    if (this.failed) return;
    const { shape } = this.current;
    if (!shape) {
      this.fail(new Error('the server sent a row before describing it'));
      return;
    }
    this.current.rows.push(shape.row(message.fields));
  }

  handleCommandComplete(message: { text: string }): void {
    // Described, and no RowDescription came: the server said NoData.
    if (!this.current.shape) this.learn(NO_ROWS);
    this.current.complete(message.text);
    this.nextStep();
  }

  handleEmptyQuery(): void {
    this.nextStep();
  }

  handlePortalSuspended(): void {}

  handleError(error: unknown): void {
    this.fail(error);
  }

  handleReadyForQuery(): void {
    if (this.failed) return;
    this.settle.resolve(this.results);
    this.callback?.(null, this.results);
  }

  private nextStep(): void {
    this.results.push(this.current);
    this.current = new StepResult(this.shapes[this.results.length]);
  }

  /** A statement that is prepared here keeps what its Describe said, when its kind answers in one shape. */
  private learn(shape: RowShape): void {
    const step = this.results.length;
    const name = this.names[step];
    if (name && this.shapes[step] === undefined && FIXED_SHAPE.test(this.steps[step]!.text)) this.statements?.learnShape(name, shape);
  }

  private fail(error: unknown): void {
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
}

/** Runs `steps` in one round trip on `client`; their results in order. */
export async function runPipeline(client: pg.ClientBase, steps: readonly Step[]): Promise<pg.QueryResult[]> {
  const query = new PipelineQuery(steps, preparedStatements(client));
  void client.query(query as unknown as pg.Submittable);
  return query.done;
}
