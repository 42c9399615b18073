import pg from 'pg';
import { localUserId } from '../src/auth/demo-users';

export const ACME_ORGANIZATION_ID = 'a0000000-0000-4000-8000-000000000001';
export const PAYMENTS_PROJECT_ID = 'a0000000-0000-4000-8000-000000000101';
export const GLOBEX_ORGANIZATION_ID = 'b0000000-0000-4000-8000-000000000001';
/** Globex's size in the benchmark: the small organization Acme's large page is compared with. */
export const SMALL_ORGANIZATION_PROJECTS = 1000;

/** A search that matches only "Load test 12345" and "Load test 123450".."123459": few enough rows for an exact count. */
export const NARROW_SEARCH = 'test 12345';

/**
 * Adds `count` shared projects by alice to Acme, so that list and count costs
 * are those of a large organization rather than of three demo rows, and
 * SMALL_ORGANIZATION_PROJECTS by carol to Globex; both go on the unlimited plan. Runs as
 * the database owner (outside row level security) but keeps the triggers on:
 * each project also gets its creator as project admin, as one created through
 * the API would.
 */
export async function addBulkProjects(databaseUrl: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-bulk-data' });
  await client.connect();
  try {
    for (const [organizationId, email, rows] of [
      [ACME_ORGANIZATION_ID, 'alice@acme.test', count],
      [GLOBEX_ORGANIZATION_ID, 'carol@globex.test', SMALL_ORGANIZATION_PROJECTS],
    ] as const) {
      await client.query(
        `insert into public.projects
           (organization_id, user_id, name, description, type, status, privacy, created_at, updated_at)
         select $1::uuid, $2::uuid,
                'Load test ' || i,
                'Bulk project ' || i || ' for the benchmark.',
                (array['repository', 'files', 'manual']::public.project_type[])[1 + i % 3],
                (array['draft', 'processing', 'active', 'error']::public.project_status[])[1 + i % 4],
                'shared',
                now() - make_interval(secs => i),
                now() - make_interval(secs => i)
         from generate_series(1, $3::int) i`,
        [organizationId, localUserId(email), rows],
      );
    }
    // A run makes far more requests than Pro's monthly API calls: Acme goes on
    // the unlimited plan, where every request is still metered (the counter
    // row is written), so the cost of metering stays in the figures.
    await client.query(`update public.subscriptions set plan_id = 'enterprise' where organization_id = any($1::uuid[])`, [
      [ACME_ORGANIZATION_ID, GLOBEX_ORGANIZATION_ID],
    ]);
    // VACUUM as well as ANALYZE: after a bulk insert autovacuum would otherwise
    // wake up in the middle of a measured run (insert threshold), and the
    // visibility map lets the capped count use index-only scans, as it would
    // on a settled production table.
    await client.query('vacuum (analyze) public.projects, public.project_members');
  } finally {
    await client.end();
  }
}
