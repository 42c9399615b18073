import express, { type Router } from 'express';
import { withServiceTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import type pg from 'pg';

type Readiness = components['schemas']['Readiness'];

export function healthRouter(deps: { pool: pg.Pool; statementTimeoutMs: number; expectedMigrations: string[] }): Router {
  const router = express.Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' } satisfies components['schemas']['Health']);
  });

  // Ready means: the database answers and has every migration this code expects.
  router.get('/ready', async (_req, res) => {
    const expected = deps.expectedMigrations;
    const body: Readiness = { status: 'unavailable', database: 'down', migrations: { applied: 0, expected: expected.length } };
    try {
      // The login role itself may read nothing; the back office reads the migrations table.
      const result = await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) =>
        tx.query<{ version: string }>('select version from public.schema_migrations'),
      );
      const applied = new Set(result.rows.map((row) => row.version));
      body.database = 'up';
      body.migrations.applied = expected.filter((version) => applied.has(version)).length;
      if (body.migrations.applied === expected.length) body.status = 'ready';
    } catch (error) {
      const code = (error as { code?: string }).code;
      // The database answers but no migration has run yet: no such table (42P01), or not even the roles (22023).
      if (code === '42P01' || code === '22023') body.database = 'up';
    }
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });

  return router;
}
