import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { appDatabaseUrl, databaseUrl, jwtSecret, secretsKeys, token } from './support/harness';

// The real entry point, as `npm start` runs it, against the test database.
function startMain(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], {
    cwd: path.resolve(__dirname, '..'),
    env: {
      ...process.env,
      // Requests as the login role, as in production; the test database is migrated already.
      DATABASE_URL: appDatabaseUrl(),
      MIGRATION_DATABASE_URL: databaseUrl(),
      MIGRATE_ON_START: 'false',
      SUPABASE_JWT_SECRET: jwtSecret(),
      SECRETS_ENCRYPTION_KEYS: secretsKeys(),
      SEED_DEMO_DATA: 'false',
      // The test database is shared with every other test file: this server's
      // loops must not run their queued executions or due habits.
      BACKGROUND_WORK: 'false',
      PORT: '0',
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /API\s+(http:\/\/[^\s]+?)\/api\/v1/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, baseUrl: match[1]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before starting:\n${output}`)));
  });
}

// A lock or a server left behind by a failed run would stall the suites beside this one.
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

test('SIGTERM stops taking requests, finishes the one in flight, then exits cleanly', async () => {
  const { child, baseUrl } = await startMain();
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const bearer = token(`draining-${randomUUID().slice(0, 8)}@example.test`);
  const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${bearer}` } });
  expect(me.status).toBe(200);
  const organizationId = ((await me.json()) as { defaultOrganizationId: string }).defaultOrganizationId;

  // Hold a lock on this test's own organization only (a new project needs a
  // key-share lock on it): the request is still running when the signal comes,
  // and no other suite sharing the database waits on it.
  const locker = new pg.Client({ connectionString: databaseUrl() });
  cleanups.push(() => locker.end());
  await locker.connect();
  await locker.query('begin');
  await locker.query('select 1 from public.organizations where id = $1 for update', [organizationId]);
  const inFlight = fetch(`${baseUrl}/api/v1/projects`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Drained', type: 'manual' }),
  });
  const waitUntil = Date.now() + 20_000;
  for (;;) {
    const waiting = await locker.query('select 1 from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))');
    if ((waiting.rowCount ?? 0) > 0) break;
    if (Date.now() > waitUntil) throw new Error('the request never waited on the lock');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  // New connections are refused while the old request drains.
  await expect(fetch(`${baseUrl}/health`)).rejects.toThrow();

  await locker.query('commit');
  const response = await inFlight;
  expect(response.status).toBe(201);
  expect(((await response.json()) as { name: string }).name).toBe('Drained');
  expect(await exited).toBe(0);
}, 60_000);

test('Ctrl-C in a terminal (SIGINT to the whole process group) drains too, with the embedded database', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ctrl-c-'));
  // detached: its own process group, as a terminal gives `npm start`, so the signal can go to the group.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, SUPABASE_JWT_SECRET: jwtSecret(), PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    const output = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${text}`)), 60000);
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        if (/Database\s.*\n/.test(text)) {
          clearTimeout(timer);
          resolve(text);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
    const baseUrl = /API\s+(http:\/\/[^\s]+?)\/api\/v1/.exec(output)![1]!;
    const databasePort = /embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(output)![1]!;
    const password = readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const bearer = token('alice@acme.test');

    const locker = new pg.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${databasePort}/app` });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table public.profiles in access exclusive mode');
    const inFlight = fetch(`${baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${bearer}` } });
    await new Promise((resolve) => setTimeout(resolve, 500));

    process.kill(-child.pid!, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await locker.query('commit');
    await locker.end();

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await exited).toBe(0);
    // The database went down with the server, not before it.
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    // A failed run must not leave its database behind (it runs in its own process group).
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90000);
