import pg from 'pg';
import { DEFAULT_PREPARED_STATEMENTS, limitPreparedStatements } from './pipeline';

// node-postgres hands back int8 as strings and timestamps as local Dates.
// Counts and token totals fit a JS number; timestamps leave as UTC ISO-8601;
// numeric (money) stays a string so no amount ever passes through a float.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
// pg's own parser reads every year correctly (new Date() would take year 50 for
// 1950). Every time column is timestamptz; the database bounds them to years 1-9999.
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => (parseTimestamptz(value) as Date).toISOString());
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

/**
 * `preparedStatements`: how many statements each connection keeps prepared
 * (DB_PREPARED_STATEMENTS; 0 for a pooler that cannot carry them).
 */
export function createPool(connectionString: string, max: number, statementTimeoutMs = 5000, preparedStatements = DEFAULT_PREPARED_STATEMENTS): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    // A server that stops answering without closing the socket is noticed:
    // TCP keep-alive for idle connections, and a client-side limit a little
    // above the server's statement timeout for busy ones.
    keepAlive: true,
    query_timeout: statementTimeoutMs + 2000,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    application_name: 'devtools-backend',
  });
  // An idle client whose server went away emits here; without a listener the
  // process would crash. The pool discards the client and reconnects later.
  pool.on('connect', (client) => limitPreparedStatements(client, preparedStatements));
  pool.on('error', (error) => {
    console.error(`database connection lost: ${error.message}`);
  });
  return pool;
}
