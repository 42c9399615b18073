import { createHmac, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { TokenClaims } from '../src/auth/jwt';
import { isAccountEmail } from '../src/auth/email';
import { createTestApp, expectProblem, jwtSecret, newOrganization, newUser, signedToken, type TestApp, type TestUser } from './support/harness';

// Correctly signed tokens whose claims hold text the database cannot store or
// should not trust are refused as tokens (401), never as data (422) or bugs (500).
let t: TestApp;
let user: TestUser;
let org: string;

beforeAll(async () => {
  t = createTestApp();
  user = await newUser(t.app, 'token-text');
  org = await newOrganization(t.app, user, 'Token Text');
});
afterAll(() => t.close());

function claims(overrides: Partial<TokenClaims> = {}): TokenClaims {
  return {
    sub: randomUUID(),
    email: `text-${randomUUID().slice(0, 8)}@example.test`,
    role: 'authenticated',
    aud: 'authenticated',
    exp: Math.floor(Date.now() / 1000) + 600,
    ...overrides,
  };
}

const me = (token: string) => request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${token}`);

test.each([
  ['NUL', 'nul\u0000@example.test'],
  ['a NUL at the end', 'trailing@example.test\u0000'],
  ['a control character', 'bell\u0007@example.test'],
  ['DEL', 'del\u007f@example.test'],
  ['a C1 control character', 'next\u0085line@example.test'],
  ['a lone surrogate', 'half\ud800@example.test'],
])('an email claim with %s is a 401', async (_label, email) => {
  const res = await me(signedToken(claims({ email })));
  expectProblem(res, 401);
  expect(res.body.detail).toMatch(/email/);
});

test.each([
  ['sub with NUL', { sub: `${randomUUID()}\u0000` }],
  ['sub with a line break', { sub: `${randomUUID()}\n` }],
  ['role with NUL', { role: 'authenticated\u0000' }],
  ['role service_role with NUL', { role: 'service_role\u0000' }],
  ['role with a control character', { role: '\u0001authenticated' }],
  ['NUL in user_metadata', { user_metadata: { name: 'Mallory\u0000' } }],
  ['NUL in a claim name', { ['x\u0000y']: true }],
  ['a lone surrogate in app_metadata', { app_metadata: { provider: '\udc00' } }],
  ['claims nested 100 levels deep', { user_metadata: JSON.parse('{"a":'.repeat(100) + '1' + '}'.repeat(100)) }],
])('a token with %s is a 401', async (_label, overrides) => {
  expectProblem(await me(signedToken(claims(overrides))), 401);
});

test('claims nested 5,000 levels deep (user_metadata is the user\'s to edit) are a 401, not a stack overflow', async () => {
  // Built as text: JSON.stringify itself would run out of stack on the way.
  const payload = `{"sub":"${randomUUID()}","email":"deep@example.test","role":"authenticated","aud":"authenticated","exp":${Math.floor(Date.now() / 1000) + 600},"user_metadata":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
  const body = Buffer.from(payload).toString('base64url');
  const signature = createHmac('sha256', jwtSecret()).update(`${header}.${body}`).digest('base64url');
  const res = await me(`${header}.${body}.${signature}`);
  expectProblem(res, 401);
  expect(res.body.detail).toMatch(/nests more than 32 levels/);
});

test('NUL in a claim of a user the database already knows is still a 401', async () => {
  const res = await request(t.app).get('/api/v1/projects').set('Authorization', `Bearer ${signedToken(claims({ sub: user.userId, email: user.email, user_metadata: { nick: '\u0000' } }))}`);
  expectProblem(res, 401);
});

test.each([
  ['not a UUID', 'not-a-uuid'],
  ['SQL', "'; select pg_sleep(10); --"],
  ['a UUID with trailing junk', `${randomUUID()}x`],
  ['a UUID in braces', `{${randomUUID()}}`],
  ['8 KB of text', 'a'.repeat(8192)],
  ['Latin-1 bytes', '\u00e9\u00ff'],
  ['an unknown organization', randomUUID()],
  ['the nil UUID', '00000000-0000-0000-0000-000000000000'],
  ['empty', ''],
])('X-Organization-Id %s is a 4xx problem, never a 5xx', async (_label, header) => {
  for (const path of ['/api/v1/projects', '/api/v1/skills', '/api/v1/billing/usage', '/api/v1/me']) {
    const res = await request(t.app).get(path).set('Authorization', `Bearer ${user.token}`).set('X-Organization-Id', header);
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) expectProblem(res, res.status);
  }
});

test('the organization header in upper case still selects the organization', async () => {
  await request(t.app).get('/api/v1/projects').set('Authorization', `Bearer ${user.token}`).set('X-Organization-Id', org.toUpperCase()).expect(200);
});

test('isAccountEmail: the profiles check, and no control characters or broken UTF-16', () => {
  expect(isAccountEmail('dev@example.test')).toBe(true);
  expect(isAccountEmail('d\u00e9v@ex\u00e4mple.test')).toBe(true);
  expect(isAccountEmail('smile\u{1F600}@example.test')).toBe(true);
  for (const bad of ['dev@localhost', 'a\u0000b@example.test', 'a\tb@example.test', 'a\u009fb@example.test', 'a\ud83d@example.test', 'a\ude00@example.test']) {
    expect(isAccountEmail(bad)).toBe(false);
  }
});
