import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PORT, DEFAULT_WEB_APP_URL, loadConfig, tokenVerificationProblem } from './config';

const root = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The variables config.ts reads: every text(), int() and bool() names one. */
function variablesReadByConfig(): string[] {
  const source = read('src/config.ts');
  return [...new Set([...source.matchAll(/\b(?:text|int|bool)\('([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!))].sort();
}

describe('every variable the server reads is written down', () => {
  const variables = variablesReadByConfig();

  test('config.ts reads variables (the pattern still finds them)', () => {
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'PORT', 'SUPABASE_JWT_SECRET', 'WEB_APP_URL']));
    expect(variables.length).toBeGreaterThan(40);
  });

  test('.env.example lists each of them, and nothing else', () => {
    const listed = [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect([...new Set(listed)].sort()).toEqual(variables);
  });

  test("the README's configuration table has a row for each", () => {
    const rows = new Set([...read('README.md').matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!));
    expect(variables.filter((name) => !rows.has(name))).toEqual([]);
  });
});

describe('defaults of a newcomer', () => {
  test("the API and the web frontend's dev server do not share a port", () => {
    const config = loadConfig({});
    expect(config.port).toBe(DEFAULT_PORT);
    expect(new URL(config.billing.webAppUrl).port).not.toBe(String(config.port));
    expect(config.billing.webAppUrl).toBe(DEFAULT_WEB_APP_URL);
  });
});

describe('token verification with an external database', () => {
  test('the embedded sandbox may make up its own secret', () => {
    expect(tokenVerificationProblem(loadConfig({}))).toBeNull();
  });

  test('DATABASE_URL without a shared secret or a Supabase project is refused, with what to set', () => {
    const problem = tokenVerificationProblem(loadConfig({ DATABASE_URL: 'postgres://db.example.com/app' }));
    expect(problem).toMatch(/SUPABASE_JWT_SECRET/);
    expect(problem).toMatch(/SUPABASE_URL/);
  });

  test.each([
    { SUPABASE_JWT_SECRET: 'a-shared-secret' },
    { SUPABASE_URL: 'https://project.supabase.co', SUPABASE_ANON_KEY: 'anon' },
  ])('DATABASE_URL with %o is fine', (settings) => {
    expect(tokenVerificationProblem(loadConfig({ DATABASE_URL: 'postgres://db.example.com/app', ...settings }))).toBeNull();
  });

  test('DATABASE_CA_FILE must name a file that exists', () => {
    expect(() => loadConfig({ DATABASE_CA_FILE: path.join(root, 'no-such-ca.pem') })).toThrow(/DATABASE_CA_FILE/);
    expect(loadConfig({ DATABASE_CA_FILE: path.join(root, '.env.example') }).databaseCaFile).toBe(path.join(root, '.env.example'));
  });
});
