import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, jwtSecret, token } from './support/harness';

// The real entry point, as `npm start` runs it, against the test database.
function startMain(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], {
    cwd: path.resolve(__dirname, '..'),
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl(),
      SUPABASE_JWT_SECRET: jwtSecret(),
      SEED_DEMO_DATA: 'false',
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
