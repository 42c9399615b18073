import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

// What an embedded PostgreSQL leaves in DATA_DIR, read without /proc so that
// it works alike on Linux, macOS and Windows.

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** postmaster.pid: line 1 the postmaster's pid, line 4 its port (PostgreSQL's documented layout). */
export async function readPostmasterPid(databaseDir: string): Promise<{ pid: number; port: number } | null> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  return { pid, port };
}

/**
 * The server process that started the postmaster writes its own pid here, so
 * a later start can tell a database still in use (its owner alive) from one
 * left behind by a server killed hard.
 */
const ownerFile = (dataDir: string) => path.join(dataDir, 'postgres-owner.pid');

export async function claimOwnership(dataDir: string): Promise<void> {
  await writeFile(ownerFile(dataDir), `${process.pid}\n`);
}

export async function releaseOwnership(dataDir: string): Promise<void> {
  await rm(ownerFile(dataDir), { force: true });
}

/** The pid of the live server process that owns the embedded database, or null. */
export async function liveOwner(dataDir: string): Promise<number | null> {
  if (!existsSync(ownerFile(dataDir))) return null;
  const pid = Number((await readFile(ownerFile(dataDir), 'utf8')).trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid) ? pid : null;
}

export function embeddedOwnerUrl(password: string, port: number): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/app`;
}

/**
 * Whether the PostgreSQL answering on `port` serves `databaseDir`: asked over
 * SQL, so a pid that the system has since given to another program is never
 * mistaken for our postmaster.
 */
export async function servesDirectory(password: string, port: number, databaseDir: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>("select current_setting('data_directory') as dir");
    return path.resolve(rows[0]!.dir) === path.resolve(databaseDir);
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The address of the embedded PostgreSQL a running `npm start` keeps in
 * dataDir, so that a second process (`npm run worker`) can share it; null
 * when none is running there.
 */
export async function runningEmbeddedDatabaseUrl(dataDir: string): Promise<string | null> {
  const found = await readPostmasterPid(path.join(dataDir, 'postgres'));
  if (!found || !isRunning(found.pid)) return null;
  const password = (await readFile(path.join(dataDir, 'postgres-password'), 'utf8')).trim();
  return embeddedOwnerUrl(password, found.port);
}
