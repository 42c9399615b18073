import type pg from 'pg';
import { withKeeperTransaction, type KeeperTransaction } from '../db/transaction';

export type { KeeperTransaction };

export interface KeeperDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
}

/** Who is signing in, as the request shows it. */
export interface Client {
  ip: string | undefined;
  userAgent: string | null;
}

/**
 * Account work as account_keeper (see withKeeperTransaction). The client, when
 * the work serves a request, goes into the transaction's settings so that what
 * the audit log records of a sign-in carries its address and user agent.
 */
export function withAccountKeeper<T>(deps: KeeperDeps, work: (tx: KeeperTransaction) => Promise<T>, client?: Client): Promise<T> {
  return withKeeperTransaction(
    deps.pool,
    { statementTimeoutMs: deps.statementTimeoutMs, clientIp: client?.ip, userAgent: client?.userAgent ?? undefined },
    work,
  );
}
