import type { Express } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createTokenVerifier } from '../src/auth/verifier';
import { authPost, bearer, CHROME_ON_MAC, claimsOf, newAccount, newIp, SAFARI_ON_IPHONE, signIn, type Account } from './accounts-support';
import { startGoTrue, sessionIdOf, STAND_IN_SERVICE_ROLE_KEY, type GoTrueStandIn } from './support/gotrue';
import { createTestApp, expectProblem, jwtSecret, token, type TestApp } from './support/harness';

// Supabase mode: the same /auth endpoints, through supabase-js against a
// GoTrue stand-in (test/support/gotrue.ts), with the real database behind the
// API (provisioning, the brute-force limit, pending sign-ins).

const FRONTEND = 'http://localhost:5173';
let gotrue: GoTrueStandIn;
let t: TestApp;

function supabaseAccounts(url: string) {
  return { mode: 'supabase' as const, url, anonKey: 'anon-key', redirectOrigins: [FRONTEND] };
}

beforeAll(async () => {
  gotrue = await startGoTrue(jwtSecret());
  t = createTestApp({
    trustProxy: true,
    accounts: supabaseAccounts(gotrue.url),
    verifyToken: createTokenVerifier({ jwtSecret: jwtSecret(), supabaseUrl: gotrue.url, supabaseAnonKey: 'anon-key' }),
  });
});
afterAll(async () => {
  await t.close();
  await gotrue.close();
});

async function signUp(app: Express, account: Account, names: { first_name?: string; last_name?: string } = {}) {
  const res = await authPost(app, '/signup', { email: account.email, password: account.password, ...names }, account.ip);
  if (res.status !== 201) throw new Error(`sign-up answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { access_token: string; refresh_token: string; user: { id: string } };
}

const seen = (entry: string) => gotrue.requests.filter((request) => request === entry).length;

describe('signing up and in through Supabase Auth', () => {
  test('sign-up answers a session whose token works on the API; sign-in too', async () => {
    const account = newAccount('supa');
    const created = await signUp(t.app, account, { first_name: 'Grace', last_name: 'Hopper' });
    expect(claimsOf(created.access_token)).toMatchObject({ iss: `${gotrue.url}/auth/v1`, aal: 'aal1', email: account.email });

    const session = await signIn(t.app, account).expect(200);
    expect(session.body).toMatchObject({ token_type: 'bearer', expires_in: 3600, expires_at: expect.any(Number), refresh_token: expect.any(String) });
    const me = await bearer(t.app, session.body.access_token).get('/api/v1/me').expect(200);
    expect(me.body).toMatchObject({ id: created.user.id, email: account.email, fullName: 'Grace Hopper' });
    expect(session.body.user).toMatchObject({
      id: created.user.id,
      email: account.email,
      first_name: 'Grace',
      last_name: 'Hopper',
      org_id: me.body.defaultOrganizationId,
      roles: ['owner'],
      aud: 'authenticated',
      role: 'authenticated',
    });
    const authMe = await bearer(t.app, session.body.access_token).get('/api/v1/auth/me').expect(200);
    expect(authMe.body).toEqual(session.body.user);
    await bearer(t.app, session.body.access_token).post('/api/v1/projects').send({ name: 'Through Supabase', type: 'manual' }).expect(201);
  });

  test('an email already registered is 409 email_taken', async () => {
    const account = newAccount('taken');
    await signUp(t.app, account);
    const again = await authPost(t.app, '/signup', { email: account.email, password: 'another password' }, newIp());
    expectProblem(again, 409);
    expect(again.body).toMatchObject({ code: 'email_taken', errors: [expect.objectContaining({ path: '/body/email' })] });
  });

  test('with email confirmation on, sign-up is a 202 with the user and no tokens; sign-in waits for the confirmation', async () => {
    gotrue.confirmEmails = true;
    const account = newAccount('confirm');
    try {
      const res = await authPost(t.app, '/signup', { email: account.email, password: account.password, first_name: 'Ada' }, account.ip).expect(202);
      expect(res.body).toMatchObject({
        email_confirmation_required: true,
        message: expect.stringContaining('confirmation email'),
        confirmation_sent_at: expect.any(String),
        user: { email: account.email, first_name: 'Ada', org_id: null, roles: [] },
      });
      expect(res.body.access_token).toBeUndefined();
      expect(res.body.refresh_token).toBeUndefined();
    } finally {
      gotrue.confirmEmails = false;
    }
    const early = await signIn(t.app, account);
    expectProblem(early, 403);
    expect(early.body.detail).toMatch(/not confirmed/);
    gotrue.confirm(account.email);
    await signIn(t.app, account).expect(200);
  });
});

describe('wrong passwords and the brute-force limit', () => {
  test('a wrong password is 401 invalid_credentials; after 5 the limit answers 429 without asking Supabase', async () => {
    const account = newAccount('brute');
    await signUp(t.app, account);
    const from = newIp();
    for (let attempt = 0; attempt < 5; attempt++) {
      const wrong = await signIn(t.app, account, { password: 'wrong password', from });
      expectProblem(wrong, 401);
      expect(wrong.body.code).toBe('invalid_credentials');
    }
    const asked = seen('POST /auth/v1/token?password');
    const limited = await signIn(t.app, account, { from });
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(seen('POST /auth/v1/token?password')).toBe(asked);
  });

  test('Supabase unreachable or failing is 503; its own 429 is passed on with its Retry-After and counts no failure', async () => {
    const account = newAccount('outage');
    await signUp(t.app, account);
    gotrue.failWith = { status: 503 };
    try {
      const failing = await signIn(t.app, account);
      expectProblem(failing, 503);
      expect(failing.body.code).toBe('service_unavailable');
      gotrue.failWith = { status: 429, retryAfter: '17' };
      for (let attempt = 0; attempt < 6; attempt++) {
        const limited = await signIn(t.app, account);
        expectProblem(limited, 429);
        expect(limited.headers['retry-after']).toBe('17');
      }
    } finally {
      gotrue.failWith = undefined;
    }
    // None of those counted against the account: it signs in at once.
    await signIn(t.app, account).expect(200);

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = t.variant({ trustProxy: true, accounts: supabaseAccounts(`http://127.0.0.1:${port}`) });
    const unreachable = await signIn(down, account);
    expectProblem(unreachable, 503);
    const signup = await authPost(down, '/signup', { email: newAccount().email, password: 'long enough' }, newIp());
    expectProblem(signup, 503);
  });
});

describe('refresh and logout', () => {
  test('a refresh token rotates; a reused one is 401 invalid_refresh_token and ends the session', async () => {
    const account = newAccount('refresh');
    const first = await signUp(t.app, account);
    const next = await authPost(t.app, '/refresh', { refresh_token: first.refresh_token }, account.ip).expect(200);
    expect(next.body.refresh_token).not.toBe(first.refresh_token);
    expect(sessionIdOf(next.body.access_token)).toBe(sessionIdOf(first.access_token));
    await bearer(t.app, next.body.access_token).get('/api/v1/auth/me').expect(200);

    const reused = await authPost(t.app, '/refresh', { refresh_token: first.refresh_token }, account.ip);
    expectProblem(reused, 401);
    expect(reused.body.code).toBe('invalid_refresh_token');
    const after = await authPost(t.app, '/refresh', { refresh_token: next.body.refresh_token }, account.ip);
    expectProblem(after, 401);
    expect(after.body.code).toBe('invalid_refresh_token');
  });

  test('logout signs the session out of Supabase (scope local)', async () => {
    const account = newAccount('logout');
    const session = await signUp(t.app, account);
    await bearer(t.app, session.access_token).post('/api/v1/auth/logout').expect(204);
    expect(gotrue.logouts).toContainEqual({ scope: 'local', sessionId: sessionIdOf(session.access_token) });
    expect(gotrue.sessionLive(sessionIdOf(session.access_token))).toBe(false);
    const refresh = await authPost(t.app, '/refresh', { refresh_token: session.refresh_token }, account.ip);
    expectProblem(refresh, 401);
  });
});

describe('sessions', () => {
  // GoTrue keeps its sessions in auth.sessions of this same database; the stand-in
  // does not, so each test writes the rows GoTrue would have written.
  async function asGoTrueWould(userId: string, sessionId: string, userAgent: string, ip: string, ageMinutes: number) {
    await t.admin.query(
      `insert into auth.sessions (id, user_id, created_at, updated_at, refreshed_at, aal, user_agent, ip)
       values ($1, $2, now() - make_interval(mins => $5), now() - make_interval(mins => $5), (now() - make_interval(mins => $5)) at time zone 'utc', 'aal1', $3, $4)`,
      [sessionId, userId, userAgent, ip, ageMinutes],
    );
  }

  test('my sessions are listed from Supabase Auth, mine only, newest activity first, the current one marked', async () => {
    const account = newAccount('sessions');
    const first = await signUp(t.app, account);
    const second = (await signIn(t.app, account).expect(200)).body;
    await asGoTrueWould(first.user.id, sessionIdOf(first.access_token), SAFARI_ON_IPHONE, '198.51.100.7', 30);
    await asGoTrueWould(first.user.id, sessionIdOf(second.access_token), CHROME_ON_MAC, '198.51.100.8', 1);
    // Someone else's session in the same table.
    const stranger = newAccount('stranger');
    const theirs = await signUp(t.app, stranger);
    await asGoTrueWould(theirs.user.id, sessionIdOf(theirs.access_token), CHROME_ON_MAC, '203.0.113.9', 5);

    const list = await bearer(t.app, second.access_token).get('/api/v1/auth/sessions').expect(200);
    expect(list.body.total).toBe(2);
    expect(list.body.data).toEqual([
      expect.objectContaining({ id: sessionIdOf(second.access_token), ipAddress: '198.51.100.8', isCurrent: true }),
      expect.objectContaining({ id: sessionIdOf(first.access_token), ipAddress: '198.51.100.7', isCurrent: false }),
    ]);
    expect(list.body.data[1].deviceInfo).toMatchObject({ os: expect.stringMatching(/iOS/) });

    // Another user's session is not mine to end: 404, and it stays.
    expectProblem(await bearer(t.app, second.access_token).delete(`/api/v1/auth/sessions/${sessionIdOf(theirs.access_token)}`), 404);
    await bearer(t.app, second.access_token).delete(`/api/v1/auth/sessions/${sessionIdOf(first.access_token)}`).expect(204);
    const { rows } = await t.admin.query<{ id: string }>('select id from auth.sessions where user_id = any($1) order by id', [[first.user.id, theirs.user.id]]);
    expect(rows.map((r) => r.id).sort()).toEqual([sessionIdOf(second.access_token), sessionIdOf(theirs.access_token)].sort());
    expectProblem(await bearer(t.app, second.access_token).delete(`/api/v1/auth/sessions/${sessionIdOf(first.access_token)}`), 404);
    // Recorded in the audit log of the user's organization, in the same transaction.
    const ended = await t.admin.query<{ n: number }>(
      "select count(*)::int as n from public.audit_log where event_type = 'security.session_terminated' and target_id = $1 and actor_user_id = $2",
      [sessionIdOf(first.access_token), first.user.id],
    );
    expect(ended.rows[0]!.n).toBe(1);
  });

  test('where the database does not let its owner read Supabase Auth sessions, the functions refuse with 0A000 (the API answers 501)', async () => {
    const account = newAccount('no-sessions');
    const session = await signUp(t.app, account);
    const client = await t.admin.connect();
    try {
      // As on a database whose migration owner may not read auth.sessions: the
      // functions owned by a role without that right (rolled back afterwards).
      await client.query('begin');
      await client.query('create role sessions_blind nologin');
      await client.query('grant usage on schema app, auth to sessions_blind');
      await client.query('alter function app.auth_sessions_reachable(text) owner to sessions_blind');
      await client.query('alter function app.my_auth_sessions() owner to sessions_blind');
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: session.user.id, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      await expect(client.query('select * from app.my_auth_sessions()')).rejects.toMatchObject({ code: '0A000' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  test('ending all others signs them out (scope others)', async () => {
    const account = newAccount('others');
    const first = await signUp(t.app, account);
    const second = (await signIn(t.app, account).expect(200)).body;
    const others = await bearer(t.app, second.access_token).delete('/api/v1/auth/sessions').expect(200);
    expect(others.body).toEqual({ endedCount: 0 });
    expect(gotrue.logouts).toContainEqual({ scope: 'others', sessionId: sessionIdOf(second.access_token) });
    expect(gotrue.sessionLive(sessionIdOf(first.access_token))).toBe(false);
    expect(gotrue.sessionLive(sessionIdOf(second.access_token))).toBe(true);
  });
});

describe('two-factor authentication through Supabase', () => {
  test('enrol, confirm, then sign-in needs the code; the code finishes it at aal2; disable needs password and code', async () => {
    const account = newAccount('mfa');
    const session = await signUp(t.app, account);
    const as = bearer(t.app, session.access_token);
    expect((await as.get('/api/v1/auth/2fa').expect(200)).body).toEqual({ isEnabled: false });
    const setup = await as.post('/api/v1/auth/2fa/enroll').expect(200);
    expect(setup.body).toMatchObject({ secret: expect.stringMatching(/^[A-Z2-7]+$/), qrCodeUrl: expect.stringMatching(/^data:image\/svg\+xml/), otpauthUri: expect.stringMatching(/^otpauth:\/\/totp\//) });
    expect(setup.body.manualEntryKey.replace(/ /g, '')).toBe(setup.body.secret);

    const wrong = await as.post('/api/v1/auth/2fa/confirm').send({ code: '000000' });
    expectProblem(wrong, 422);
    expect(wrong.body.code).toBe('invalid_mfa_code');
    const confirmed = await as.post('/api/v1/auth/2fa/confirm').send({ code: gotrue.totpCode(account.email) }).expect(200);
    expect(confirmed.body).toMatchObject({ status: { isEnabled: true, backupCodesRemaining: 0 }, backupCodes: [] });
    expect((await as.get('/api/v1/auth/2fa').expect(200)).body).toMatchObject({ isEnabled: true, enabledAt: expect.any(String), backupCodesRemaining: 0 });

    const first = await signIn(t.app, account);
    expectProblem(first, 401);
    expect(first.body).toMatchObject({ code: 'mfa_required', challenge_token: expect.stringMatching(/^mfa_/), expires_in: 300 });
    const challenge = first.body.challenge_token as string;
    // The aal1 session waits sealed: the database holds neither its tokens nor anything that opens them.
    const pending = await t.admin.query<{ sealed: Buffer }>("select sealed from app.pending_sign_ins where kind = 'mfa'");
    expect(pending.rows.length).toBeGreaterThan(0);
    for (const row of pending.rows) expect(row.sealed.toString('latin1')).not.toContain('refresh_token');

    const badCode = await authPost(t.app, '/mfa/verify', { challenge_token: challenge, code: '000000' }, account.ip);
    expectProblem(badCode, 401);
    expect(badCode.body.code).toBe('invalid_mfa_code');
    const verified = await authPost(t.app, '/mfa/verify', { challenge_token: challenge, code: gotrue.totpCode(account.email) }, account.ip).expect(200);
    expect(claimsOf(verified.body.access_token)).toMatchObject({ aal: 'aal2' });
    expect(verified.body.user).toMatchObject({ email: account.email });
    await bearer(t.app, verified.body.access_token).get('/api/v1/me').expect(200);
    const again = await authPost(t.app, '/mfa/verify', { challenge_token: challenge, code: gotrue.totpCode(account.email) }, account.ip);
    expectProblem(again, 401);
    expect(again.body.code).toBe('invalid_mfa_challenge');

    const badPassword = await as.post('/api/v1/auth/2fa/disable').send({ password: 'not it', code: gotrue.totpCode(account.email) });
    expectProblem(badPassword, 422);
    expect(badPassword.body.code).toBe('invalid_credentials');
    await as.post('/api/v1/auth/2fa/disable').send({ password: account.password, code: gotrue.totpCode(account.email) }).expect(200, { isEnabled: false });
    await signIn(t.app, account).expect(200);
  });

  test('a token Supabase did not issue (minted here) is a 401 for two-factor; an API key or none cannot use it', async () => {
    const minted = token(newAccount('minted').email, { issuer: `${gotrue.url}/auth/v1` });
    const status = await bearer(t.app, minted).get('/api/v1/auth/2fa');
    expectProblem(status, 401);
    expect(status.body.detail).toMatch(/Supabase/);
    expectProblem(await request(t.app).post('/api/v1/auth/2fa/enroll'), 401);
  });
});

describe('OAuth through Supabase', () => {
  const start = (provider: string, redirectTo?: string) => request(t.app).get(`/api/v1/auth/oauth/${provider}`).query(redirectTo === undefined ? {} : { redirectTo });

  test('the provider URL carries the redirect and a PKCE challenge; the code is exchanged with the kept verifier', async () => {
    const started = await start('github', `${FRONTEND}/auth/callback`).expect(200);
    const url = new URL(started.body.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${gotrue.url}/auth/v1/authorize`);
    expect(url.searchParams.get('provider')).toBe('github');
    expect(url.searchParams.get('redirect_to')).toBe(`${FRONTEND}/auth/callback`);
    expect(url.searchParams.get('code_challenge_method')).toBe('s256');
    const challenge = url.searchParams.get('code_challenge')!;
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started.body.state).toMatch(/^oa_/);

    const email = newAccount('octo').email;
    const code = gotrue.authorize(email, challenge);
    const session = await authPost(t.app, '/oauth/callback', { code, state: started.body.state }, newIp()).expect(200);
    expect(session.body.user).toMatchObject({ email, first_name: 'Octo', last_name: 'Cat', roles: ['owner'] });
    await bearer(t.app, session.body.access_token).get('/api/v1/me').expect(200);
    expect(seen('POST /auth/v1/token?pkce')).toBeGreaterThan(0);

    const replay = await authPost(t.app, '/oauth/callback', { code, state: started.body.state }, newIp());
    expectProblem(replay, 401);
    expect(replay.body.code).toBe('invalid_oauth_state');
  });

  test("a code is refused with another flow's verifier, and an unknown state is refused", async () => {
    const first = await start('google', `${FRONTEND}/done`).expect(200);
    const second = await start('google', `${FRONTEND}/done`).expect(200);
    const code = gotrue.authorize(newAccount('goog').email, new URL(first.body.url).searchParams.get('code_challenge')!, 'google');
    const mismatched = await authPost(t.app, '/oauth/callback', { code, state: second.body.state }, newIp());
    expectProblem(mismatched, 401);
    expect(mismatched.body.code).toBe('invalid_oauth_code');
    const unknown = await authPost(t.app, '/oauth/callback', { code, state: 'oa_nothing-like-it' }, newIp());
    expectProblem(unknown, 401);
    expect(unknown.body.code).toBe('invalid_oauth_state');
    await authPost(t.app, '/oauth/callback', { code, state: first.body.state }, newIp()).expect(200);
  });

  test('only github and google, and only redirects to an allowed origin', async () => {
    expectProblem(await start('gitlab', `${FRONTEND}/cb`), 400);
    for (const redirectTo of ['https://evil.example/cb', 'javascript:alert(1)', `http://user:pw@localhost:5173/cb`, 'http://localhost:5173.evil.example/cb', '/relative']) {
      const res = await start('github', redirectTo);
      expectProblem(res, 400);
    }
    expectProblem(await start('github'), 400);
  });
});

describe('erasing an account that signs in through Supabase Auth', () => {
  test('with the service role key: erased here and deleted from Supabase Auth; the old token and the password stop working', async () => {
    const app = t.variant({ accounts: { ...supabaseAccounts(gotrue.url), serviceRoleKey: STAND_IN_SERVICE_ROLE_KEY } });
    const account = newAccount('supa-erase');
    const created = await signUp(app, account);
    await bearer(app, created.access_token).post('/api/v1/me/erase').send({ confirmEmail: account.email }).expect(204);
    expect(seen(`DELETE /auth/v1/admin/users/${created.user.id}`)).toBe(1);
    expectProblem(await bearer(app, created.access_token).get('/api/v1/me'), 401);
    expectProblem(await signIn(app, account), 401);
    expect((await t.admin.query('select count(*)::int as n from public.profiles where id = $1', [created.user.id])).rows[0].n).toBe(0);
  });

  test('without it: erased here, left in Supabase Auth for the operator, and the account cannot come back through an old token', async () => {
    const account = newAccount('supa-keep');
    const created = await signUp(t.app, account);
    await bearer(t.app, created.access_token).post('/api/v1/me/erase').send({ confirmEmail: account.email }).expect(204);
    expect(seen(`DELETE /auth/v1/admin/users/${created.user.id}`)).toBe(0);
    expectProblem(await bearer(t.app, created.access_token).get('/api/v1/me'), 401);
    expect((await t.admin.query('select count(*)::int as n from public.profiles where id = $1', [created.user.id])).rows[0].n).toBe(0);
  });
});
