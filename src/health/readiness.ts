import type pg from 'pg';
import { withServiceTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import { APPLIED_MIGRATIONS } from './sql';

export type Health = components['schemas']['Health'];
export type Readiness = components['schemas']['Readiness'];

export interface ReadinessDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Migration versions this code expects to be applied. */
  expectedMigrations: string[];
  /** True once the instance has begun to shut down: it then answers not ready, whatever the database says. */
  isDraining?: () => boolean;
}

/** Ready when every expected migration is among the applied ones. */
export function readinessOf(applied: ReadonlySet<string>, expected: string[]): Readiness {
  const count = expected.filter((version) => applied.has(version)).length;
  return { status: count === expected.length ? 'ready' : 'unavailable', database: 'up', migrations: { applied: count, expected: expected.length } };
}

/** Failures that still prove the database answers: migrations have not created the table (42P01), or not even the roles (22023). */
const ANSWERED_CODES = new Set(['42P01', '22023']);

/** Ready means: the instance is not shutting down, and the database answers and has every migration this code expects. */
export async function readiness(deps: ReadinessDeps): Promise<Readiness> {
  if (deps.isDraining?.()) return { ...(await databaseReadiness(deps)), status: 'unavailable', draining: true };
  return databaseReadiness(deps);
}

async function databaseReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const expected = deps.expectedMigrations;
  try {
    // The login role itself may read nothing; the back office reads the migrations table.
    const result = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) => tx.query<{ version: string }>(APPLIED_MIGRATIONS));
    return readinessOf(new Set(result.rows.map((row) => row.version)), expected);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const database = code !== undefined && ANSWERED_CODES.has(code) ? 'up' : 'down';
    return { status: 'unavailable', database, migrations: { applied: 0, expected: expected.length } };
  }
}
