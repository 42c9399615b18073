import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { MIGRATION_LOCK_KEY, migrateUnderLock, migrationVersions, runDbmate } from '../src/db/migrations';
import { startServer, type RunningServer } from '../src/server';
import { appDatabaseUrl, jwtSecret, secretsKeys, token } from './support/harness';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database';

// Several API instances and a worker on one external database, as a rolling
// deploy starts them: each migrates on start, under one advisory lock.

/** The same server as `url`, another database. */
function onDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function environment(scratch: ScratchDatabase, dataDir: string, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    // Requests as the run's login role (roles are shared by the server's databases), migrations as the owner.
    DATABASE_URL: onDatabase(appDatabaseUrl(), scratch.name),
    MIGRATION_DATABASE_URL: scratch.url,
    SUPABASE_JWT_SECRET: jwtSecret(),
    // Every instance of a deployment shares its sealing key, as it shares the token secret.
    SECRETS_ENCRYPTION_KEYS: secretsKeys(),
    SEED_DEMO_DATA: 'false',
    BACKGROUND_WORK: 'false',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    ...more,
  };
}

/** Runs `npm run worker`'s entry point; resolves once it runs its loops. */
function startWorker(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; running: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'worker.ts')], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const running = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Worker    running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the worker exited (${code}):\n${output}`)));
  });
  return { child, output: () => output, running };
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const appliedCount = (lines: string[]): number => {
  const line = lines.find((l) => l.startsWith('Migrations '));
  const match = /^Migrations applied (\d+)/.exec(line ?? '');
  return match ? Number(match[1]) : 0;
};

let scratch: ScratchDatabase;
let dataDir: string;

beforeEach(async () => {
  scratch = await createScratchDatabase('instances');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'instances-'));
});

afterEach(async () => {
  await scratch.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('two instances and a worker starting at once on a fresh database: one migrates, the others wait, all become ready', async () => {
  const config = loadConfig(environment(scratch, dataDir));
  const logs: string[][] = [[], []];
  const worker = startWorker(environment(scratch, dataDir));
  const servers: RunningServer[] = [];
  try {
    const started = await Promise.allSettled(logs.map((lines) => startServer(config, (line) => lines.push(line))));
    for (const outcome of started) if (outcome.status === 'fulfilled') servers.push(outcome.value);
    expect(started.map((outcome) => (outcome.status === 'rejected' ? String(outcome.reason) : 'started'))).toEqual(['started', 'started']);
    await worker.running;

    // Every migration applied exactly once, by one of the three.
    const versions = migrationVersions();
    const workerLines = worker.output().split('\n');
    expect(appliedCount(logs[0]!) + appliedCount(logs[1]!) + appliedCount(workerLines)).toBe(versions.length);
    const { rows } = await scratch.client.query<{ version: string }>('select version from public.schema_migrations order by version');
    expect(rows.map((row) => row.version)).toEqual(versions);

    // Both ready, and each accepts a token the other would (one shared secret, no per-instance one).
    const bearer = token('two-instances@example.test');
    for (const server of servers) {
      const ready = await fetch(`${server.baseUrl}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', migrations: { applied: versions.length, expected: versions.length } });
      const me = await fetch(`${server.baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${bearer}` } });
      expect(me.status).toBe(200);
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await stopWorker(worker.child);
  }
}, 120_000);

test('a worker told not to migrate waits until another process has, then runs', async () => {
  const worker = startWorker(environment(scratch, dataDir, { MIGRATE_ON_START: 'false' }));
  try {
    const deadline = Date.now() + 30_000;
    while (!worker.output().includes('waiting for the migrations') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(worker.output()).toContain('Worker    waiting for the migrations (0 of');
    expect(worker.output()).not.toContain('Worker    running');

    const outcome = await migrateUnderLock(scratch.url);
    expect(outcome.applied).toEqual(migrationVersions());
    await worker.running;
  } finally {
    await stopWorker(worker.child);
  }
}, 90_000);

test('a run that waited for the lock finds nothing to do', async () => {
  // This session plays the instance that got the lock first and migrates.
  const key = MIGRATION_LOCK_KEY.toString();
  await scratch.client.query('select pg_advisory_lock($1::bigint)', [key]);
  const lines: string[] = [];
  const second = migrateUnderLock(scratch.url, { log: (line) => lines.push(line) });
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(lines).toEqual(['Migrations another instance is migrating; waiting for it']);
  const before = await scratch.client.query("select to_regclass('public.schema_migrations') as found");
  expect(before.rows[0].found).toBeNull(); // it has not touched the database while waiting

  await runDbmate(scratch.url, ['up', '--strict'], { quiet: true });
  await scratch.client.query('select pg_advisory_unlock($1::bigint)', [key]);
  expect(await second).toEqual({ applied: [], waited: true });
}, 60_000);

test('an external database with no way to verify tokens is refused before anything starts', async () => {
  const env = environment(scratch, dataDir);
  delete env.SUPABASE_JWT_SECRET;
  await expect(startServer(loadConfig(env), () => undefined)).rejects.toThrow(/DATABASE_URL is set but nothing verifies tokens: set SUPABASE_JWT_SECRET/);
  const { rows } = await scratch.client.query("select to_regclass('public.schema_migrations') as found");
  expect(rows[0].found).toBeNull();
});
