import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { verifyHs256 } from '../src/auth/jwt';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The README's TOKEN=$(npm run -s token -- alice@acme.test): stdout holds the token alone,
// without npm's banner and without the project's .npmrc silencing every npm command.

test('npm run -s token prints one line, a token the local secret verifies', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'token-cli-'));
  try {
    const env = { ...process.env, DATABASE_URL: '', SUPABASE_JWT_SECRET: '', SUPABASE_URL: '', DATA_DIR: dataDir };
    const { stdout } = await run(npm, ['run', '-s', 'token', '--', 'alice@acme.test'], { cwd: root, env });
    const lines = stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const secret = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
    expect(verifyHs256(lines[0]!, secret, {})).toMatchObject({ email: 'alice@acme.test', aud: 'authenticated' });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

test('with DATABASE_URL and no shared secret it prints nothing on stdout and says why on stderr', async () => {
  const env = { ...process.env, DATABASE_URL: 'postgres://db.example.com/app', SUPABASE_JWT_SECRET: '', SUPABASE_URL: '' };
  const failed = await run(npm, ['run', '-s', 'token', '--', 'alice@acme.test'], { cwd: root, env }).then(
    () => null,
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  expect(failed).not.toBeNull();
  expect(failed!.code).toBe(2);
  expect(failed!.stdout).toBe('');
  expect(failed!.stderr).toContain('DATABASE_URL is set but nothing verifies tokens');
}, 60_000);
