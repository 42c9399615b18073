import pg from 'pg';

/** A transaction as account_keeper (database/014_local_accounts.sql). */
export interface KeeperTransaction {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
}

export interface KeeperDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
}

/**
 * Signing in happens before there is a caller to run as, and touches tables no
 * request role may read (password hashes, refresh tokens): it runs as
 * account_keeper, a role the login role switches into for one transaction.
 * Everything here scopes by the ids the API verified itself.
 */
export async function withAccountKeeper<T>(deps: KeeperDeps, work: (tx: KeeperTransaction) => Promise<T>): Promise<T> {
  const client = await deps.pool.connect();
  let broken: Error | undefined;
  const onConnectionError = (error: Error) => {
    broken = error;
  };
  client.on('error', onConnectionError);
  try {
    const timeout = pg.escapeLiteral(String(Math.trunc(deps.statementTimeoutMs)));
    await client.query(`begin; select set_config('statement_timeout', ${timeout}, true); set local role account_keeper;`);
    const result = await work({ query: (text, params) => client.query(text, params) });
    await client.query('commit');
    return result;
  } catch (error) {
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.removeListener('error', onConnectionError);
    client.release(broken);
  }
}
