import { spawn, type ChildProcess } from 'node:child_process';
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

test('SIGTERM stops taking requests, finishes the one in flight, then exits cleanly', async () => {
  const { child, baseUrl } = await startMain();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const bearer = token('draining@example.test');
  await fetch(`${baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${bearer}` } });

  // Hold a lock the request needs, so it is still running when the signal comes.
  const locker = new pg.Client({ connectionString: databaseUrl() });
  await locker.connect();
  await locker.query('begin');
  await locker.query('lock table public.profiles in access exclusive mode');
  const inFlight = fetch(`${baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${bearer}` } });
  await new Promise((resolve) => setTimeout(resolve, 500));

  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  // New connections are refused while the old request drains.
  await expect(fetch(`${baseUrl}/health`)).rejects.toThrow();

  await locker.query('commit');
  await locker.end();
  const response = await inFlight;
  expect(response.status).toBe(200);
  expect(((await response.json()) as { email: string }).email).toBe('draining@example.test');
  expect(await exited).toBe(0);
});

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
