import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

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
