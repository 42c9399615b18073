import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { appDatabaseUrl, databaseUrl, jwtSecret, secretsKeys, token } from './support/harness';

// The server's life as an operator sees it: the drain (/ready 503 while
// requests finish), `npm start` stopped through npm, and kill -9 of the API
// process or of the database under write load, which must lose no write that
// was acknowledged.

const ROOT = path.resolve(__dirname, '..');

// What a test holds (child processes, a lock, an embedded database) is
// released after it whatever happens, a timeout included: a lock or a server
// left behind would stall the suites running beside this one.
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // best effort: the next one still runs
    }
  }
});

interface Started {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs `command` and waits for the API line (and, with an embedded database, its Database line). */
function start(command: string, args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean; waitMs?: number } = {}): Promise<Started> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  let text = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: a detached child takes its whole group (npm, its shell, the server) along.
      cleanUp(child, undefined, options.detached ?? false);
      reject(new Error(`server did not start:\n${text}`));
    }, options.waitMs ?? 90_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const api = /API\s+(http:\/\/[^\s]+?)\/api\/v1/.exec(text);
      if (api && /Database\s.*\n/.test(text)) {
        clearTimeout(timer);
        resolve({ child, baseUrl: api[1]!, output: () => text, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before starting:\n${text}`));
    });
  });
}

/** Against the test database as production runs: the login role for requests, nothing migrated or seeded, no loops. */
const againstTestDatabase = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  DATABASE_URL: appDatabaseUrl(),
  MIGRATION_DATABASE_URL: databaseUrl(),
  MIGRATE_ON_START: 'false',
  SUPABASE_JWT_SECRET: jwtSecret(),
  SECRETS_ENCRYPTION_KEYS: secretsKeys(),
  SEED_DEMO_DATA: 'false',
  BACKGROUND_WORK: 'false',
  PORT: '0',
  HOST: '127.0.0.1',
  // Load comes from one user: the per-session burst limit is not what these tests are about.
  SESSION_BURST: '100000',
  SESSION_RATE_PER_SECOND: '100000',
  ...more,
});

const embedded = (dataDir: string): NodeJS.ProcessEnv => ({
  DATABASE_URL: '',
  DATA_DIR: dataDir,
  SUPABASE_JWT_SECRET: jwtSecret(),
  SEED_DEMO_DATA: 'false',
  BACKGROUND_WORK: 'false',
  PORT: '0',
  HOST: '127.0.0.1',
  SESSION_BURST: '100000',
  SESSION_RATE_PER_SECOND: '100000',
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function postmasterPid(dataDir: string): number | null {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A run that must not outlive its test: the child (or its group), and an embedded postmaster left in dataDir. */
function cleanUp(child: ChildProcess | undefined, dataDir?: string, group = false): void {
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      if (group) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dataDir) {
    const left = postmasterPid(dataDir);
    if (left !== null && alive(left)) process.kill(left, 'SIGQUIT');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Concurrent POST /projects from `writers` loops until `stop()`; each 201's id
 * is kept. A request cut off by a kill just ends its loop's turn.
 */
function writeLoad(baseUrl: string, bearer: string, writers = 8) {
  const acknowledged: string[] = [];
  let failures = 0;
  let running = true;
  const loops = Array.from({ length: writers }, async () => {
    while (running) {
      try {
        const res = await fetch(`${baseUrl}/api/v1/projects`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `Load ${randomUUID()}`, type: 'manual' }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status === 201 && body.id) acknowledged.push(body.id);
        else failures += 1;
      } catch {
        failures += 1;
        // The server is gone (or the database): no busy loop while the test looks.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  });
  return {
    acknowledged,
    failures: () => failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function presentIds(connectionString: string, ids: string[]): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    // What makes a 201 durable: the commit is flushed to the WAL before the API answers.
    expect((await client.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]!.synchronous_commit).toBe('on');
    const found = await client.query<{ n: number }>('select count(*)::int as n from public.projects where id = any($1::uuid[])', [ids]);
    return found.rows[0]!.n;
  } finally {
    await client.end();
  }
}

test('a drain answers /ready 503 at once while requests in flight finish; /health stays 200 until exit', async () => {
  const server = await start(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], againstTestDatabase({ SHUTDOWN_DRAIN_DELAY_MS: '5000' }));
  cleanups.push(() => cleanUp(server.child));
  const locker = new pg.Client({ connectionString: databaseUrl() });
  cleanups.push(() => locker.end());
  {
    const bearer = token(`drain-${randomUUID().slice(0, 8)}@example.test`);
    const me = await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(me.status).toBe(200);
    const organizationId = ((await me.json()) as { defaultOrganizationId: string }).defaultOrganizationId;
    expect((await fetch(`${server.baseUrl}/ready`)).status).toBe(200);

    // A request held by a lock on this test's own organization (a new project
    // needs a key-share lock on it), still in flight when the signal comes.
    await locker.connect();
    await locker.query('begin');
    await locker.query('select 1 from public.organizations where id = $1 for update', [organizationId]);
    const inFlight = fetch(`${server.baseUrl}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Drained', type: 'manual' }),
    });
    await until(async () => {
      const waiting = await locker.query('select 1 from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))');
      return (waiting.rowCount ?? 0) > 0;
    }, 'the request to wait on the lock', 20_000);

    server.child.kill('SIGTERM');
    let ready: Response | undefined;
    await until(async () => (ready = await fetch(`${server.baseUrl}/ready`)).status === 503, '/ready to answer 503', 3000);
    expect(await ready!.json()).toMatchObject({ status: 'unavailable', draining: true, database: 'up' });
    // Still within the drain delay: new connections are taken, and liveness holds.
    const health = await fetch(`${server.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    await locker.query('commit');
    const answered = await inFlight;
    expect(answered.status).toBe(201);
    expect(((await answered.json()) as { name: string }).name).toBe('Drained');
    expect(await server.exited).toBe(0);
  }
}, 120_000);

test('SIGTERM to the npm of `npm start` (not to the server) stops the server and its embedded PostgreSQL', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'npm-stop-'));
  let server: Started | undefined;
  cleanups.push(() => cleanUp(server?.child, dataDir, true));
  {
    // Its own process group, as a terminal gives it; the signal goes to npm's pid only.
    server = await start('npm', ['start'], embedded(dataDir), { detached: true, waitMs: 120_000 });
    const postmaster = postmasterPid(dataDir)!;
    const owner = Number(readFileSync(path.join(dataDir, 'postgres-owner.pid'), 'utf8').trim());
    expect(alive(postmaster)).toBe(true);
    expect(owner).not.toBe(server.child.pid);
    expect(alive(owner)).toBe(true);

    server.child.kill('SIGTERM');
    await until(() => !alive(owner), 'the server to exit');
    await until(() => !alive(postmaster), 'the embedded PostgreSQL to stop');
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(server.output()).toMatch(/npm exited|SIGTERM/);
  }
}, 240_000);

test('kill -9 of the API server under write load loses no acknowledged write', async () => {
  const server = await start(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], againstTestDatabase());
  cleanups.push(() => cleanUp(server.child));
  {
    const bearer = token(`kill-api-${randomUUID().slice(0, 8)}@example.test`);
    expect((await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);
    const load = writeLoad(server.baseUrl, bearer);
    cleanups.push(() => load.stop());
    // A few seconds at most: enough acknowledged writes that the kill lands among them.
    await until(() => load.acknowledged.length >= 40, 'writes to be acknowledged', 30_000);
    server.child.kill('SIGKILL');
    expect(await server.exited).toBeNull();
    await load.stop();

    const acknowledged = [...load.acknowledged];
    expect(await presentIds(databaseUrl(), acknowledged)).toBe(acknowledged.length);
  }
}, 120_000);

test('kill -9 of the embedded PostgreSQL under write load, then a restart on the same data: every acknowledged write survived', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kill-db-'));
  let server: Started | undefined;
  let load: ReturnType<typeof writeLoad> | undefined;
  cleanups.push(() => cleanUp(server?.child, dataDir));
  cleanups.push(() => load?.stop());
  {
    server = await start(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], embedded(dataDir), { waitMs: 90_000 });
    const bearer = token(`kill-db-${randomUUID().slice(0, 8)}@example.test`);
    expect((await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);
    load = writeLoad(server.baseUrl, bearer);
    await until(() => load!.acknowledged.length >= 40, 'writes to be acknowledged', 30_000);

    // The postmaster and every backend at once (its own process group), as a crash or the OOM killer would.
    const postmaster = postmasterPid(dataDir)!;
    process.kill(-postmaster, 'SIGKILL');
    await until(() => !alive(postmaster), 'the postmaster to die');
    const failuresAtKill = load.failures();
    await until(() => load!.failures() > failuresAtKill, 'requests to fail without their database', 30_000);
    await load.stop();
    server.child.kill('SIGKILL');
    await server.exited;

    // Restarted on the same folder: crash recovery replays the WAL of every commit.
    server = await start(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], embedded(dataDir), { waitMs: 90_000 });
    const port = /embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]!;
    const password = readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
    const acknowledged = [...load.acknowledged];
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);
    expect(await presentIds(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/app`, acknowledged)).toBe(acknowledged.length);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }
}, 300_000);
