import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { applyDeploymentSettings } from './roles';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'database');

function dbmateBinary(): string {
  const suffix = process.platform === 'win32' ? '.exe' : '';
  return require.resolve(`@dbmate/${process.platform}-${process.arch}/bin/dbmate${suffix}`);
}

/** Whether a database URL names this machine (where servers rarely speak TLS). */
export function isLoopbackUrl(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
}

/** dbmate's Postgres driver wants TLS unless told otherwise; loopback servers have none. */
export function dbmateUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (isLoopbackUrl(url) && !url.searchParams.has('sslmode')) url.searchParams.set('sslmode', 'disable');
  return url.toString();
}

/** Versions of the migration files, in the order dbmate applies them. */
export function migrationVersions(dir = MIGRATIONS_DIR): string[] {
  const files = readdirSync(dir)
    .filter((name) => /^\d+_.*\.sql$/.test(name))
    .sort();
  const versions = files.map((name) => name.slice(0, name.indexOf('_')));
  // Two branches that both added "002_..." would have dbmate apply only one.
  const duplicate = versions.find((version, i) => versions.indexOf(version) !== i);
  if (duplicate !== undefined) {
    throw new Error(`two migrations share version ${duplicate}: ${files.filter((f) => f.startsWith(`${duplicate}_`)).join(', ')}; renumber one`);
  }
  return versions;
}

/**
 * Runs the dbmate binary shipped in its npm package. The schema dump is off:
 * it needs a pg_dump of the server's major version, which nothing here ships.
 */
export function runDbmate(
  databaseUrl: string,
  args: string[],
  options: { quiet?: boolean; migrationsDir?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      dbmateBinary(),
      ['--migrations-dir', options.migrationsDir ?? MIGRATIONS_DIR, '--no-dump-schema', ...args],
      {
        env: { ...process.env, DATABASE_URL: dbmateUrl(databaseUrl) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (!options.quiet) process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`dbmate ${args.join(' ')} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}

/** The session advisory lock every instance takes around its migrations (any fixed number; this one spells "migrate"). */
export const MIGRATION_LOCK_KEY = 0x6d696772617465n;

export interface MigrationOutcome {
  /** Versions this process applied; empty when another instance had done it. */
  applied: string[];
  /** Whether another instance held the lock when this one asked. */
  waited: boolean;
}

/** The versions dbmate reports applying ("Applying: 003_habits_scheduler.sql"). */
export function appliedVersionsOf(dbmateOutput: string): string[] {
  return [...dbmateOutput.matchAll(/^Applying: (\d+)_/gm)].map((match) => match[1]!);
}

/**
 * Applies pending migrations, then `afterwards` (the deployment settings),
 * while holding a session-level advisory lock on a connection of its own, so
 * that instances starting together migrate one after the other: the first
 * applies everything, the next wait, then find nothing to do. dbmate takes no
 * lock itself. A session lock needs a session of its own, which a transaction
 * pooler (PgBouncer in transaction mode) does not give: ownerUrl must reach
 * PostgreSQL directly (MIGRATION_DATABASE_URL).
 */
export async function migrateUnderLock(
  ownerUrl: string,
  options: { afterwards?: () => Promise<void>; log?: (line: string) => void; quiet?: boolean } = {},
): Promise<MigrationOutcome> {
  const lock = new pg.Client({ connectionString: ownerUrl, application_name: 'devtools-backend migrations' });
  // A lost connection ends the session and its lock: reported by the query in flight, never as a crash.
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    const key = MIGRATION_LOCK_KEY.toString();
    const first = await lock.query<{ locked: boolean }>('select pg_catalog.pg_try_advisory_lock($1::bigint) as locked', [key]);
    const waited = !first.rows[0]!.locked;
    if (waited) {
      options.log?.('Migrations another instance is migrating; waiting for it');
      await lock.query('select pg_catalog.pg_advisory_lock($1::bigint)', [key]);
    }
    try {
      const output = await runDbmate(ownerUrl, ['up', '--strict'], { quiet: options.quiet ?? true });
      await options.afterwards?.();
      return { applied: appliedVersionsOf(output), waited };
    } finally {
      await lock.query('select pg_catalog.pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
    }
  } finally {
    await lock.end().catch(() => undefined);
  }
}

/** One start-up line about what this process's migration run did. */
export function describeMigrations(outcome: MigrationOutcome): string {
  const { applied } = outcome;
  if (applied.length === 0) return `Migrations up to date${outcome.waited ? ' (another instance applied them)' : ''}`;
  return `Migrations applied ${applied.length} (${applied[0]}${applied.length > 1 ? ` to ${applied[applied.length - 1]}` : ''})`;
}

/**
 * What every starting process (API instance, worker, `npm run db:migrate`)
 * does: the migrations, then the deployment settings only the owner may write,
 * both under the shared lock.
 */
export async function migrateAndApplySettings(
  ownerUrl: string,
  settings: { quotasEnforced: boolean },
  log: (line: string) => void,
  options: { quiet?: boolean } = {},
): Promise<MigrationOutcome> {
  const outcome = await migrateUnderLock(ownerUrl, { log, quiet: options.quiet, afterwards: () => applyDeploymentSettings(ownerUrl, settings) });
  log(describeMigrations(outcome));
  return outcome;
}
