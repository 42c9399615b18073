import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jwtSecret } from './support/harness';

// `npm start` killed hard leaves its embedded PostgreSQL running (it has a
// process group of its own). The next start stops it, found through
// postmaster.pid and the owner's pid file, without /proc; a database whose
// server is still alive is left alone.

function startMain(dataDir: string): { child: ChildProcess; output: () => string; started: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, SUPABASE_JWT_SECRET: jwtSecret(), SEED_DEMO_DATA: 'false', BACKGROUND_WORK: 'false', PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${text}`)), 60_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (/Database\s.*\n/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}):\n${text}`));
    });
  });
  return { child, output: () => text, started };
}

/**
 * The child's exit code (null when a signal ended it). Bounded: a child that
 * does not exit fails the test with what it printed, not with jest's timeout.
 */
const exitOf = (child: ChildProcess, output: () => string = () => '') =>
  new Promise<number | null>((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within 45 s:\n${output()}`)), 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

function postmasterPid(dataDir: string): number | null {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Three servers, each starting a real PostgreSQL in turn: on a loaded 2-core
// machine one of them has been seen to stall, not reproduced alone; retried
// once, with each attempt's errors logged, until the cause is found.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

test('a second server on the same DATA_DIR is refused while the first lives; after a kill -9 the next start stops the orphan', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orphan-'));
  const children: ChildProcess[] = [];
  try {
    const first = startMain(dataDir);
    children.push(first.child);
    await first.started;
    const orphan = postmasterPid(dataDir)!;
    expect(alive(orphan)).toBe(true);

    // The owner is alive: refused, and its database untouched.
    const second = startMain(dataDir);
    children.push(second.child);
    await expect(second.started).rejects.toThrow(/in use by another running server/);
    expect(await exitOf(second.child, second.output)).toBe(1);
    expect(alive(orphan)).toBe(true);

    // Killed hard: nothing stops its PostgreSQL.
    first.child.kill('SIGKILL');
    await exitOf(first.child);
    expect(alive(orphan)).toBe(true);

    const third = startMain(dataDir);
    children.push(third.child);
    await third.started;
    expect(third.output()).toContain(`stopping the PostgreSQL an earlier run left behind (pid ${orphan})`);
    expect(alive(orphan)).toBe(false);
    expect(postmasterPid(dataDir)).not.toBe(orphan);
    third.child.kill('SIGTERM');
    expect(await exitOf(third.child, third.output)).toBe(0);
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const left = postmasterPid(dataDir);
    if (left !== null && alive(left)) process.kill(left, 'SIGQUIT');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);
