import { codeAt } from '../src/accounts/totp';
import { authPost, bearer, newAccount, signIn, signUp } from './accounts-support';
import { createTestApp, type TestApp } from './support/harness';

/*
 * What the web frontend reads of signing in, field by field: its auth client
 * (services/api.ts: access_token and refresh_token of login, signup and
 * refresh, `detail` of an error) and its user (contexts/AuthContext.tsx: id,
 * email, first_name, last_name, org_id, roles), and the security settings'
 * types (types/settings/security.ts: UserSession, TwoFactorStatus,
 * TwoFactorSetupData, BackupCode). `?` marks a field the frontend declares
 * optional: it may be absent or null; any other must hold a value of its type.
 */

type JsonType = 'string' | 'number' | 'boolean' | 'date' | 'array' | 'object';
type Shape = Record<string, JsonType | `${JsonType}?`>;

function matches(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'date':
      return typeof value === 'string' && !Number.isNaN(new Date(value).getTime());
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

function mismatches(body: Record<string, unknown>, shape: Shape): string[] {
  return Object.entries(shape).flatMap(([field, declared]) => {
    const optional = declared.endsWith('?');
    const type = declared.replace('?', '') as JsonType;
    const value = body[field];
    if (optional && (value === undefined || value === null)) return [];
    if (!(field in body)) return [`${field}: missing`];
    return matches(value, type) ? [] : [`${field}: ${JSON.stringify(value)} is not ${type}`];
  });
}

const TOKENS: Shape = { access_token: 'string', refresh_token: 'string', user: 'object' };
const AUTH_USER: Shape = { id: 'string', email: 'string', first_name: 'string', last_name: 'string', org_id: 'string', roles: 'array' };
const USER_SESSION: Shape = { id: 'string', deviceInfo: 'object', ipAddress: 'string', location: 'object', lastActive: 'date', createdAt: 'date', isCurrent: 'boolean' };
const DEVICE_INFO: Shape = { browser: 'string', os: 'string', deviceType: 'string' };
const LOCATION: Shape = { city: 'string?', country: 'string?', region: 'string?' };
const TWO_FACTOR_STATUS: Shape = { isEnabled: 'boolean', enabledAt: 'date?', backupCodesRemaining: 'number?' };
const TWO_FACTOR_SETUP: Shape = { secret: 'string', qrCodeUrl: 'string', manualEntryKey: 'string' };
const BACKUP_CODE: Shape = { code: 'string', isUsed: 'boolean', usedAt: 'date?' };

let t: TestApp;
beforeAll(() => {
  t = createTestApp({ trustProxy: true });
});
afterAll(() => t.close());

test("signup, login and refresh answer what the auth client stores, and /auth/me the AuthContext's user", async () => {
  const account = newAccount('frontend');
  const signup = await authPost(t.app, '/signup', { email: account.email, password: account.password, first_name: 'Grace', last_name: 'Hopper' }, account.ip).expect(201);
  const login = await signIn(t.app, account).expect(200);
  const refreshed = await authPost(t.app, '/refresh', { refresh_token: login.body.refresh_token }, account.ip).expect(200);
  for (const res of [signup, login, refreshed]) {
    expect(mismatches(res.body, TOKENS)).toEqual([]);
    expect(mismatches(res.body.user, AUTH_USER)).toEqual([]);
    expect(res.body.user.roles.every((role: unknown) => typeof role === 'string')).toBe(true);
  }
  const me = await bearer(t.app, refreshed.body.access_token).get('/api/v1/auth/me').expect(200);
  expect(mismatches(me.body, AUTH_USER)).toEqual([]);
  expect(me.body).toMatchObject({ first_name: 'Grace', last_name: 'Hopper', email: account.email });
  // An error carries the `detail` the client shows.
  const failed = await signIn(t.app, account, { password: 'wrong' }).expect(401);
  expect(typeof failed.body.detail).toBe('string');
});

test('the sessions list holds UserSession items', async () => {
  const account = newAccount('frontend-sessions');
  const { access_token: token } = await signUp(t.app, account);
  const listed = await bearer(t.app, token).get('/api/v1/auth/sessions').expect(200);
  expect(listed.body.data.length).toBeGreaterThan(0);
  for (const session of listed.body.data) {
    expect(mismatches(session, USER_SESSION)).toEqual([]);
    expect(mismatches(session.deviceInfo, DEVICE_INFO)).toEqual([]);
    expect(['desktop', 'mobile', 'tablet']).toContain(session.deviceInfo.deviceType);
    expect(mismatches(session.location, LOCATION)).toEqual([]);
  }
});

test('two-factor answers TwoFactorStatus, TwoFactorSetupData and BackupCode', async () => {
  const account = newAccount('frontend-2fa');
  const { access_token: token } = await signUp(t.app, account);
  const api = bearer(t.app, token);
  expect(mismatches((await api.get('/api/v1/auth/2fa').expect(200)).body, TWO_FACTOR_STATUS)).toEqual([]);
  const setup = (await api.post('/api/v1/auth/2fa/enroll').expect(200)).body;
  expect(mismatches(setup, TWO_FACTOR_SETUP)).toEqual([]);
  const confirmed = (await api.post('/api/v1/auth/2fa/confirm').send({ code: codeAt(setup.secret) }).expect(200)).body;
  expect(mismatches(confirmed.status, TWO_FACTOR_STATUS)).toEqual([]);
  for (const code of confirmed.backupCodes) expect(mismatches(code, BACKUP_CODE)).toEqual([]);
  const status = (await api.get('/api/v1/auth/2fa').expect(200)).body;
  expect(mismatches(status, TWO_FACTOR_STATUS)).toEqual([]);
  expect(status).toEqual({ isEnabled: true, enabledAt: expect.any(String), backupCodesRemaining: 10 });
});
