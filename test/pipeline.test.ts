import pg from 'pg';
import { limitPreparedStatements, runPipeline } from '../src/db/pipeline';
import { createPool } from '../src/db/pool';
import { withServiceTransaction } from '../src/db/transaction';
import { as, createTestApp, newOrganization, newUser, type TestApp } from './support/harness';

// Statements sent in one round trip as prepared statements of their
// connection (src/db/pipeline.ts), against the real server: what it keeps
// prepared, and that a failure leaves the connection as good as new.

let t: TestApp;

beforeAll(() => {
  t = createTestApp({ pool: createPool(process.env.TEST_APP_DATABASE_URL!, 1) });
});
afterAll(() => t.close());

async function preparedOn(client: pg.ClientBase): Promise<string[]> {
  // The simple protocol: this query itself prepares nothing.
  return (await client.query<{ statement: string }>('select statement from pg_prepared_statements order by prepare_time')).rows.map((row) => row.statement);
}

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

test("a request's statements are prepared once on its connection and reused by the next request", async () => {
  const owner = await newUser(t.app, 'pipeline-owner');
  const organization = await newOrganization(t.app, owner, 'Pipeline');
  const project = (await as(t.app, owner, organization).post('/api/v1/projects').send({ name: 'Prepared', type: 'manual' }).expect(201)).body.id;
  for (let i = 0; i < 3; i += 1) await as(t.app, owner, organization).get(`/api/v1/projects/${project}`).expect(200);

  // One connection in this app's pool: what it prepared, asked on that connection.
  const statements = (await t.pool.query<{ statement: string; count: number }>(
    `select statement, count(*)::int as count from pg_prepared_statements group by statement`,
  )).rows;
  const reads = statements.filter((row) => /from public\.projects p where p\.id = \$1/.test(row.statement));
  expect(reads).toEqual([expect.objectContaining({ count: 1 })]);
  expect(statements.some((row) => row.statement.includes('app.confirm_request'))).toBe(true);
  // Only statements with parameters placeholders or constant texts: no value is ever part of a statement.
  expect(statements.some((row) => row.statement.includes(project) || row.statement.includes(owner.userId))).toBe(false);
});

test('a statement whose execution fails is closed and prepared afresh, and the transaction after it works', async () => {
  await withClient(async (client) => {
    await expect(runPipeline(client, [{ text: 'select 10 / $1::int as q', values: [0] }])).rejects.toMatchObject({ code: '22012' });
    const [result] = await runPipeline(client, [{ text: 'select 10 / $1::int as q', values: [5] }]);
    expect(result!.rows).toEqual([{ q: 2 }]);
    expect((await preparedOn(client)).filter((text) => text === 'select 10 / $1::int as q')).toHaveLength(1);

    // A failure inside an explicit transaction leaves it aborted, for the caller's ROLLBACK.
    await expect(runPipeline(client, [{ text: 'begin' }, { text: 'selec 1' }, { text: 'commit' }])).rejects.toMatchObject({ code: '42601' });
    await client.query('rollback');
    const [, answered] = await runPipeline(client, [{ text: 'begin' }, { text: 'select $1::text as echo', values: ["it's fine"] }, { text: 'commit' }]);
    expect(answered!.rows).toEqual([{ echo: "it's fine" }]);
  });
});

test('a prepared statement is described once on its connection; later runs read their rows in the shape it learned', async () => {
  await withClient(async (client) => {
    const connection = (client as unknown as { connection: { describe(message: unknown): void } }).connection;
    const describe = connection.describe.bind(connection);
    let describes = 0;
    connection.describe = (message) => {
      describes += 1;
      describe(message);
    };
    const read = {
      text: `select $1::int8 as n, $2::timestamptz as at, null::text as nothing, 'plain' as "__proto__" from generate_series(1, 2)`,
      values: [41, '2026-11-30T12:00:00.5Z'],
    };
    const steps = [{ text: 'begin' }, read, { text: 'commit' }];
    const first = await runPipeline(client, steps);
    expect(describes).toBe(3);
    const again = await runPipeline(client, steps);
    // Known shapes, rows and no rows alike: nothing is described again.
    expect(describes).toBe(3);
    for (const results of [first, again]) {
      expect(results.map((result) => result.command)).toEqual(['BEGIN', 'SELECT', 'COMMIT']);
      const rows = results[1]!.rows;
      expect(rows).toHaveLength(2);
      // The pool's parsers (int8 as a number, timestamps as ISO strings); a column named __proto__ is a column, not a prototype.
      expect(Object.entries(rows[0]!)).toEqual([
        ['n', 41],
        ['at', '2026-11-30T12:00:00.500Z'],
        ['nothing', null],
        ['__proto__', 'plain'],
      ]);
      expect(Object.getPrototypeOf(rows[0])).toBeNull();
      expect(results[1]!.rowCount).toBe(2);
      expect(results[1]!.fields.map((field) => field.name)).toEqual(['n', 'at', 'nothing', '__proto__']);
    }
    // A FETCH answers in the shape of whichever cursor it names: it is described on every run.
    await client.query('begin');
    for (const [query, expected] of [
      ['select 1 as a, 2 as b', { a: 1, b: 2 }],
      ["select 'x' as z", { z: 'x' }],
    ] as const) {
      await client.query(`declare pipeline_cursor no scroll cursor for ${query}`);
      const [fetched] = await runPipeline(client, [{ text: 'fetch 1 from pipeline_cursor' }]);
      expect(fetched!.rows).toEqual([expected]);
      await client.query('close pipeline_cursor');
    }
    await client.query('commit');
    expect(describes).toBe(5);
    // Unnamed statements (a pooler without prepared statements) are described every time.
    limitPreparedStatements(client, 0);
    await runPipeline(client, [read]);
    await runPipeline(client, [read]);
    expect(describes).toBe(7);
  });
});

test('each connection keeps at most its limit of statements; 0 keeps none', async () => {
  await withClient(async (client) => {
    limitPreparedStatements(client, 2);
    for (const n of [1, 2, 3, 4, 5]) await runPipeline(client, [{ text: `select ${n} + $1::int as n`, values: [1] }]);
    const kept = await preparedOn(client);
    // Evicted statements are closed with the next pipeline: the limit, plus at most the one evicted last.
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept).toEqual(expect.arrayContaining(['select 4 + $1::int as n', 'select 5 + $1::int as n']));
  });
  await withClient(async (client) => {
    limitPreparedStatements(client, 0);
    const [result] = await runPipeline(client, [{ text: 'select $1::int + 1 as n', values: [41] }]);
    expect(result!.rows).toEqual([{ n: 42 }]);
    expect(await preparedOn(client)).toEqual([]);
  });
});

test('a request whose first statement fails rolls back, and its connection serves the next request', async () => {
  const pool = createPool(t.appUrl, 1);
  try {
    await expect(withServiceTransaction(pool, 5000, (tx) => tx.query('select * from public.no_such_table'))).rejects.toMatchObject({ code: '42P01' });
    await expect(withServiceTransaction(pool, 5000, (tx) => tx.queryLast('select * from public.no_such_table'))).rejects.toMatchObject({ code: '42P01' });
    const answered = await withServiceTransaction(pool, 5000, async (tx) => {
      await tx.query('select $1::int as n', [1]);
      return (await tx.queryLast<{ role: string }>('select current_user as role')).rows[0]!.role;
    });
    expect(answered).toBe('service_role');
    // Nothing of those transactions is left open on the connection.
    expect((await pool.query<{ status: string }>('select current_setting($1, true) as status', ['request.jwt.claims'])).rows[0]!.status).toBe('');
  } finally {
    await pool.end();
  }
});

test('a table changed under a prepared statement (a migration on a live deployment) costs the request nothing', async () => {
  const table = `pipeline_stale_${process.pid}`;
  await t.admin.query(`create table public.${table} (a int); insert into public.${table} values (1); grant select on public.${table} to service_role`);
  const pool = createPool(t.appUrl, 1);
  try {
    const read = () => withServiceTransaction(pool, 5000, async (tx) => (await tx.queryLast(`select * from public.${table}`)).rows);
    expect(await read()).toEqual([{ a: 1 }]);
    await withClient(async (client) => {
      await client.query(`set role service_role`);
      const select = { text: `select * from public.${table}` };
      await runPipeline(client, [select]);
      await t.admin.query(`alter table public.${table} add column b text default 'new'`);
      // What the server answers a connection that prepared it before (and the transaction helper retries):
      await expect(runPipeline(client, [select])).rejects.toMatchObject({ code: '0A000' });
      expect((await runPipeline(client, [select]))[0]!.rows).toEqual([{ a: 1, b: 'new' }]);
    });
    expect(await read()).toEqual([{ a: 1, b: 'new' }]);
    expect(await read()).toEqual([{ a: 1, b: 'new' }]);
  } finally {
    await pool.end();
    await t.admin.query(`drop table public.${table}`);
  }
});

test("a pipeline ends for the driver too: its read timeout is cleared, and the statement stays prepared past it", async () => {
  // query_timeout is the statement timeout plus 2 s: 2.1 s here.
  const pool = createPool(t.appUrl, 1, 100);
  try {
    const text = 'select $1::int * 2 as doubled';
    const client = await pool.connect();
    try {
      expect((await runPipeline(client, [{ text, values: [21] }]))[0]!.rows).toEqual([{ doubled: 42 }]);
      const nameOf = async () => (await client.query<{ name: string }>('select name from pg_prepared_statements where statement = $1', [text])).rows.map((row) => row.name);
      const before = await nameOf();
      expect(before).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 2600));
      expect((await runPipeline(client, [{ text, values: [4] }]))[0]!.rows).toEqual([{ doubled: 8 }]);
      // Had the timer fired on the finished pipeline, the statement would have been dropped and prepared again under a new name.
      expect(await nameOf()).toEqual(before);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
});
