import request from 'supertest';
import { passwordVerifications } from '../src/accounts/passwords';
import { localAccounts } from '../src/accounts/settings';
import { normalizeBackupCode } from '../src/accounts/rules';
import { sha256 } from '../src/accounts/tokens';
import { codeAt } from '../src/accounts/totp';
import {
  authPost,
  bearer,
  claimsOf,
  newAccount,
  newIp,
  SAFARI_ON_IPHONE,
  signIn,
  signUp,
} from './accounts-support';
import { createTestApp, expectProblem, jwtSecret, newUser, type TestApp } from './support/harness';

// Local accounts (embedded mode), through HTTP against the real database:
// sign-up and sign-in, refresh rotation and reuse detection, logout, the
// sessions screen, the brute-force limit and two-factor authentication.

let t: TestApp;

beforeAll(() => {
  t = createTestApp({ trustProxy: true });
});
afterAll(() => t.close());

describe('signing up and in', () => {
  test('a new account signs in, and its token works on the rest of the API', async () => {
    const account = newAccount('ada');
    const created = await signUp(t.app, account, { first_name: 'Ada', last_name: 'Lovelace' });
    expect(created).toMatchObject({ token_type: 'bearer', expires_in: 3600, refresh_token: expect.stringMatching(/^rt_/) });

    const session = await signIn(t.app, account).expect(200);
    const { access_token: accessToken } = session.body;
    const me = await bearer(t.app, accessToken).get('/api/v1/me').expect(200);
    expect(me.body).toMatchObject({ id: created.user.id, email: account.email, fullName: 'Ada Lovelace' });
    const organizations = await bearer(t.app, accessToken).get('/api/v1/organizations').expect(200);
    expect(organizations.body.data).toEqual([expect.objectContaining({ id: me.body.defaultOrganizationId })]);
    await bearer(t.app, accessToken).post('/api/v1/projects').send({ name: 'Signed in', type: 'manual' }).expect(201);

    expect(session.body.user).toMatchObject({
      id: created.user.id,
      email: account.email,
      first_name: 'Ada',
      last_name: 'Lovelace',
      org_id: me.body.defaultOrganizationId,
      roles: ['owner'],
      aud: 'authenticated',
      role: 'authenticated',
    });
    const authMe = await bearer(t.app, accessToken).get('/api/v1/auth/me').expect(200);
    expect(authMe.body).toEqual(session.body.user);
  });

  test('the access token carries exactly the claims Supabase issues', async () => {
    const account = newAccount('claims');
    await signUp(t.app, account);
    const { body } = await signIn(t.app, account).expect(200);
    const claims = claimsOf(body.access_token);
    expect(Object.keys(claims).sort()).toEqual(
      ['aal', 'amr', 'app_metadata', 'aud', 'email', 'exp', 'iat', 'is_anonymous', 'iss', 'phone', 'role', 'session_id', 'sub', 'user_metadata'].sort(),
    );
    expect(claims).toMatchObject({
      aud: 'authenticated',
      role: 'authenticated',
      iss: 'http://localhost/auth/v1',
      sub: body.user.id,
      email: account.email,
      phone: '',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: expect.any(Number) }],
      app_metadata: { provider: 'email', providers: ['email'] },
      session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      is_anonymous: false,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(body.expires_at).toBe(claims.exp);
  });

  test('an email is taken whatever its case, and by a user who never set a password', async () => {
    const account = newAccount('twice');
    await signUp(t.app, account);
    const again = await authPost(t.app, '/signup', { email: account.email.toUpperCase(), password: 'another password' }, newIp()).expect(409);
    expect(again.body.code).toBe('email_taken');
    const tokenUser = await newUser(t.app, 'token-only');
    const taken = await authPost(t.app, '/signup', { email: tokenUser.email, password: 'long enough' }, newIp()).expect(409);
    expect(taken.body.code).toBe('email_taken');
  });

  test('a wrong password and an unknown email get the same 401', async () => {
    const account = newAccount('wrong');
    await signUp(t.app, account);
    const wrong = await signIn(t.app, account, { password: 'not the password' });
    const unknown = await signIn(t.app, newAccount('nobody'));
    for (const res of [wrong, unknown]) {
      expectProblem(res, 401);
      expect(res.body.code).toBe('invalid_credentials');
    }
    expect(unknown.body.detail).toBe(wrong.body.detail);
  });

  test('an unknown email costs an argon2 verification, as a wrong password does, and about as long', async () => {
    const account = newAccount('timing');
    await signUp(t.app, account);
    const time = async (who: typeof account, password: string) => {
      const before = passwordVerifications();
      const started = process.hrtime.bigint();
      await signIn(t.app, who, { password, from: newIp() }).expect(401);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(passwordVerifications() - before).toBe(1);
      return ms;
    };
    const existing: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      existing.push(await time(account, `wrong ${i}`));
      missing.push(await time(newAccount('ghost'), 'whatever'));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // Generous: a loaded machine jitters, but a path that skipped argon2 would be several times quicker.
    expect(median(missing)).toBeGreaterThan(median(existing) / 3);
  });

  test('bad input is a 400 and creates nothing', async () => {
    const ip = newIp();
    expectProblem(await authPost(t.app, '/signup', { email: 'not-an-email', password: 'long enough' }, ip), 400);
    expectProblem(await authPost(t.app, '/signup', { email: 'short@example.test', password: 'short' }, ip), 400);
    expectProblem(await authPost(t.app, '/signup', { email: 'name@example.test', password: 'long enough', first_name: 'A\u0000B' }, ip), 400);
    expectProblem(await authPost(t.app, '/login', { email: 'nul\u0000@example.test', password: 'x' }, ip), 400);
    expectProblem(await authPost(t.app, '/login', { email: 'a@example.test' }, ip), 400);
    expectProblem(await authPost(t.app, '/refresh', { refresh_token: 'rt_\u0000' }, ip), 401);
    expectProblem(await authPost(t.app, '/mfa/verify', { challenge_token: 'nope', code: '123456' }, ip), 401);
    const created = await t.admin.query("select count(*)::int as n from auth.users where email in ('short@example.test', 'name@example.test')");
    expect(created.rows[0].n).toBe(0);
  });

  test('OAuth answers 501 in embedded mode: it needs a Supabase project', async () => {
    const oauth = await request(t.app).get('/api/v1/auth/oauth/github').query({ redirectTo: 'http://localhost:5173/auth/callback' });
    expectProblem(oauth, 501);
    expect(oauth.body).toMatchObject({ code: 'not_implemented', detail: expect.stringMatching(/Supabase/) });
    const callback = await request(t.app).post('/api/v1/auth/oauth/callback').send({ code: 'c', state: 's' });
    expectProblem(callback, 501);
    expect(callback.body.code).toBe('not_implemented');
  });
});

describe('refresh tokens', () => {
  test('rotate on every use; a reused one ends the whole session, newest token and access tokens included', async () => {
    const account = newAccount('rotate');
    await signUp(t.app, account);
    const first = (await signIn(t.app, account).expect(200)).body;
    const second = (await authPost(t.app, '/refresh', { refresh_token: first.refresh_token }, account.ip).expect(200)).body;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(claimsOf(second.access_token).session_id).toBe(claimsOf(first.access_token).session_id);
    expect(second.user.id).toBe(first.user.id);
    const third = (await authPost(t.app, '/refresh', { refresh_token: second.refresh_token }, account.ip).expect(200)).body;
    await bearer(t.app, third.access_token).get('/api/v1/me').expect(200);

    const reused = await authPost(t.app, '/refresh', { refresh_token: first.refresh_token }, newIp());
    expectProblem(reused, 401);
    expect(reused.body.code).toBe('refresh_token_reused');

    const newest = await authPost(t.app, '/refresh', { refresh_token: third.refresh_token }, account.ip);
    expectProblem(newest, 401);
    expect(newest.body.code).toBe('invalid_refresh_token');
    expectProblem(await bearer(t.app, third.access_token).get('/api/v1/me'), 401);
    // Another session of the same user is untouched.
    const other = (await signIn(t.app, account).expect(200)).body;
    await bearer(t.app, other.access_token).get('/api/v1/me').expect(200);
  });

  test('two exchanges of one token at once: one rotation, one reuse', async () => {
    const account = newAccount('race');
    const { refresh_token: token } = await signUp(t.app, account);
    const answers = await Promise.all([1, 2].map(() => authPost(t.app, '/refresh', { refresh_token: token }, account.ip)));
    expect(answers.map((res) => res.status).sort()).toEqual([200, 401]);
  });

  test('logout ends the session: its refresh token and its access token stop working', async () => {
    const account = newAccount('logout');
    await signUp(t.app, account);
    const session = (await signIn(t.app, account).expect(200)).body;
    await bearer(t.app, session.access_token).post('/api/v1/auth/logout').expect(204);
    expect((await authPost(t.app, '/refresh', { refresh_token: session.refresh_token }, account.ip)).body.code).toBe('invalid_refresh_token');
    expectProblem(await bearer(t.app, session.access_token).get('/api/v1/me'), 401);
    // A token minted without a session signs out to no effect.
    const minted = await newUser(t.app, 'minted');
    await bearer(t.app, minted.token).post('/api/v1/auth/logout').expect(204);
    await bearer(t.app, minted.token).get('/api/v1/me').expect(200);
  });

  test('an ended session is refused by another instance within SESSION_CHECK_SECONDS', async () => {
    const account = newAccount('instances');
    const session = await signUp(t.app, account);
    const other = t.variant({ accounts: localAccounts(jwtSecret(), 'http://localhost/auth/v1', { sessionCheckSeconds: 0 }) });
    await bearer(other, session.access_token).get('/api/v1/me').expect(200);
    await bearer(t.app, session.access_token).post('/api/v1/auth/logout').expect(204);
    expectProblem(await bearer(other, session.access_token).get('/api/v1/me'), 401);
  });
});

describe('sessions', () => {
  test('list mine with the device, end one, end all others; never another user’s', async () => {
    const alice = newAccount('alice');
    await signUp(t.app, alice);
    const laptop = (await signIn(t.app, alice).expect(200)).body;
    const phone = (await signIn(t.app, alice, { userAgent: SAFARI_ON_IPHONE, from: '10.9.8.7' }).expect(200)).body;
    const laptopSession = claimsOf(laptop.access_token).session_id as string;
    const phoneSession = claimsOf(phone.access_token).session_id as string;

    const listed = await bearer(t.app, laptop.access_token).get('/api/v1/auth/sessions').expect(200);
    expect(listed.body).toMatchObject({ total: 3, page: 1, hasMore: false });
    const byId = Object.fromEntries(listed.body.data.map((s: { id: string }) => [s.id, s]));
    expect(byId[laptopSession]).toMatchObject({ isCurrent: true, deviceInfo: { browser: 'Chrome', os: 'macOS', deviceType: 'desktop' }, ipAddress: alice.ip, location: {} });
    expect(byId[phoneSession]).toMatchObject({ isCurrent: false, deviceInfo: { browser: 'Safari', os: 'iOS', deviceType: 'mobile' }, ipAddress: '10.9.8.7' });
    expect(listed.body.data.filter((s: { isCurrent: boolean }) => s.isCurrent)).toHaveLength(1);

    // Bob sees none of them and can end none of them.
    const bob = newAccount('bob');
    const bobSession = await signUp(t.app, bob);
    const bobs = await bearer(t.app, bobSession.access_token).get('/api/v1/auth/sessions').expect(200);
    expect(bobs.body.data.map((s: { id: string }) => s.id)).toEqual([claimsOf(bobSession.access_token).session_id]);
    expectProblem(await bearer(t.app, bobSession.access_token).delete(`/api/v1/auth/sessions/${phoneSession}`), 404);
    expect((await bearer(t.app, bobSession.access_token).delete('/api/v1/auth/sessions').expect(200)).body).toEqual({ endedCount: 0 });
    await bearer(t.app, phone.access_token).get('/api/v1/me').expect(200);

    // Alice ends her phone's session, then every other.
    await bearer(t.app, laptop.access_token).delete(`/api/v1/auth/sessions/${phoneSession}`).expect(204);
    expectProblem(await bearer(t.app, laptop.access_token).delete(`/api/v1/auth/sessions/${phoneSession}`), 404);
    expectProblem(await bearer(t.app, phone.access_token).get('/api/v1/me'), 401);
    expect((await authPost(t.app, '/refresh', { refresh_token: phone.refresh_token }, alice.ip)).status).toBe(401);
    expect((await bearer(t.app, laptop.access_token).delete('/api/v1/auth/sessions').expect(200)).body).toEqual({ endedCount: 1 });
    const left = await bearer(t.app, laptop.access_token).get('/api/v1/auth/sessions').expect(200);
    expect(left.body.data.map((s: { id: string }) => s.id)).toEqual([laptopSession]);
    expectProblem(await bearer(t.app, laptop.access_token).delete('/api/v1/auth/sessions/not-a-uuid'), 400);
  });
});

describe('the brute-force limit', () => {
  test('the 6th failed sign-in in a minute for one email is 429 with Retry-After, from any address, even with the right password', async () => {
    const account = newAccount('locked');
    await signUp(t.app, account);
    for (let i = 0; i < 5; i += 1) expect((await signIn(t.app, account, { password: 'wrong', from: newIp() })).status).toBe(401);
    const refused = await signIn(t.app, account, { from: newIp() });
    expectProblem(refused, 429);
    expect(refused.body.code).toBe('quota_exceeded');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another account is not held up by it.
    const other = newAccount('free');
    await signUp(t.app, other);
    await signIn(t.app, other).expect(200);
  });

  test('the 6th failed sign-in in a minute from one address is 429, whichever email it names', async () => {
    const from = newIp();
    for (let i = 0; i < 5; i += 1) expect((await signIn(t.app, newAccount('spray'), { from })).status).toBe(401);
    const account = newAccount('victim-of-ip');
    await signUp(t.app, account);
    const refused = await signIn(t.app, account, { from });
    expectProblem(refused, 429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    await signIn(t.app, account, { from: newIp() }).expect(200);
  });

  test('sign-ups count too (each costs a password hash): the 6th in a minute from one address is 429, before any work', async () => {
    const from = newIp();
    for (let i = 0; i < 5; i += 1) {
      const account = { ...newAccount('burst'), ip: from };
      await signUp(t.app, account);
    }
    const sixth = newAccount('burst-six');
    const refused = await authPost(t.app, '/signup', { email: sixth.email, password: sixth.password }, from);
    expectProblem(refused, 429);
    expect(refused.body.detail).toMatch(/sign-ups from this address/);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    // Nothing was made for it, and another address signs up as before.
    const { rows } = await t.admin.query<{ n: number }>('select count(*)::int as n from auth.users where email = $1', [sixth.email]);
    expect(rows[0]!.n).toBe(0);
    await signUp(t.app, sixth);
  });

  test('successful sign-ins do not count', async () => {
    const account = newAccount('often');
    await signUp(t.app, account);
    for (let i = 0; i < 7; i += 1) await signIn(t.app, account).expect(200);
  });

  test('counted in the database: concurrent failures never let more than 5 through', async () => {
    const account = newAccount('burst');
    await signUp(t.app, account);
    const answers = await Promise.all(Array.from({ length: 10 }, () => signIn(t.app, account, { password: 'wrong', from: newIp() })));
    expect(answers.filter((res) => res.status === 401)).toHaveLength(5);
    expect(answers.filter((res) => res.status === 429)).toHaveLength(5);
    const rows = await t.admin.query("select count(*)::int as n from app.sign_in_failures where key = $1 and failed_at > now() - interval '1 minute'", [
      `email:${account.email}`,
    ]);
    expect(rows.rows[0].n).toBe(5);
  });
});

describe('two-factor authentication', () => {
  test('enrol, confirm, sign in with a code, then with a backup code once, then turn it off', async () => {
    const account = newAccount('totp');
    const first = await signUp(t.app, account);
    const api = bearer(t.app, first.access_token);
    expect((await api.get('/api/v1/auth/2fa').expect(200)).body).toEqual({ isEnabled: false });

    const setup = (await api.post('/api/v1/auth/2fa/enroll').expect(200)).body;
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(setup.qrCodeUrl).toMatch(/^data:image\/png;base64,/);
    expect(setup.otpauthUri).toMatch(/^otpauth:\/\/totp\/.+secret=/);
    expect(setup.manualEntryKey.replace(/ /g, '')).toBe(setup.secret);
    // Not on until confirmed: signing in still takes the password alone.
    await signIn(t.app, account).expect(200);

    const wrong = await api.post('/api/v1/auth/2fa/confirm').send({ code: '000000' === codeAt(setup.secret) ? '111111' : '000000' });
    expectProblem(wrong, 422);
    expect(wrong.body.code).toBe('invalid_mfa_code');
    const confirmed = (await api.post('/api/v1/auth/2fa/confirm').send({ code: codeAt(setup.secret) }).expect(200)).body;
    expect(confirmed.status).toMatchObject({ isEnabled: true, backupCodesRemaining: 10 });
    expect(confirmed.backupCodes).toHaveLength(10);
    expect(new Set(confirmed.backupCodes.map((c: { code: string }) => c.code)).size).toBe(10);
    expectProblem(await api.post('/api/v1/auth/2fa/enroll'), 409);
    // Kept as sha256 hashes, never as the codes themselves.
    const stored = await t.admin.query<{ hash: Buffer }>('select code_hash as hash from app.mfa_backup_codes where user_id = $1', [first.user.id]);
    expect(stored.rows.map((r) => r.hash.toString('hex')).sort()).toEqual(
      confirmed.backupCodes.map((c: { code: string }) => sha256(normalizeBackupCode(c.code)).toString('hex')).sort(),
    );

    // The password alone is no longer enough.
    const challenged = await signIn(t.app, account);
    expectProblem(challenged, 401);
    expect(challenged.body).toMatchObject({ code: 'mfa_required', challenge_token: expect.stringMatching(/^mfa_/), expires_in: 300 });
    const badCode = await authPost(t.app, '/mfa/verify', { challenge_token: challenged.body.challenge_token, code: 'zzzzz-zzzzz' }, account.ip);
    expect(badCode.body.code).toBe('invalid_mfa_code');
    // The code of the next time step (the current one was used to confirm, and a code works once).
    const verified = await authPost(t.app, '/mfa/verify', { challenge_token: challenged.body.challenge_token, code: codeAt(setup.secret, Date.now() + 30_000) }, account.ip).expect(200);
    expect(claimsOf(verified.body.access_token)).toMatchObject({ aal: 'aal2', amr: expect.arrayContaining([expect.objectContaining({ method: 'totp' })]) });
    await bearer(t.app, verified.body.access_token).get('/api/v1/me').expect(200);
    // A challenge works once.
    expect((await authPost(t.app, '/mfa/verify', { challenge_token: challenged.body.challenge_token, code: codeAt(setup.secret) }, account.ip)).body.code).toBe(
      'invalid_mfa_challenge',
    );

    // A backup code works once.
    const backup = confirmed.backupCodes[3].code as string;
    const again = (await signIn(t.app, account)).body.challenge_token;
    const withBackup = await authPost(t.app, '/mfa/verify', { challenge_token: again, code: backup.toUpperCase() }, account.ip).expect(200);
    expect(claimsOf(withBackup.body.access_token)).toMatchObject({ aal: 'aal2' });
    const third = (await signIn(t.app, account)).body.challenge_token;
    expect((await authPost(t.app, '/mfa/verify', { challenge_token: third, code: backup }, account.ip)).body.code).toBe('invalid_mfa_code');
    expect((await api.get('/api/v1/auth/2fa').expect(200)).body).toMatchObject({ isEnabled: true, backupCodesRemaining: 9 });

    // Off: the password and a code (here a backup code).
    const badPassword = await api.post('/api/v1/auth/2fa/disable').send({ password: 'not it', code: confirmed.backupCodes[5].code });
    expectProblem(badPassword, 422);
    expect(badPassword.body.code).toBe('invalid_credentials');
    expect((await api.post('/api/v1/auth/2fa/disable').send({ password: account.password, code: confirmed.backupCodes[5].code }).expect(200)).body).toEqual({
      isEnabled: false,
    });
    await signIn(t.app, account).expect(200);
    expect((await t.admin.query('select count(*)::int as n from app.mfa_backup_codes where user_id = $1', [first.user.id])).rows[0].n).toBe(0);
  });

  test('wrong codes count as failed sign-ins', async () => {
    const account = newAccount('guess');
    const first = await signUp(t.app, account);
    const api = bearer(t.app, first.access_token);
    const { secret } = (await api.post('/api/v1/auth/2fa/enroll').expect(200)).body;
    await api.post('/api/v1/auth/2fa/confirm').send({ code: codeAt(secret) }).expect(200);
    const challenge = (await signIn(t.app, account)).body.challenge_token;
    for (let i = 0; i < 5; i += 1) expect((await authPost(t.app, '/mfa/verify', { challenge_token: challenge, code: 'wrong-guess' }, newIp())).status).toBe(401);
    const refused = await authPost(t.app, '/mfa/verify', { challenge_token: challenge, code: codeAt(secret, Date.now() + 30_000) }, newIp());
    expectProblem(refused, 429);
    expectProblem(await signIn(t.app, account, { from: newIp() }), 429);
  });

  test('needs an account with a password', async () => {
    const minted = await newUser(t.app, 'no-password');
    expectProblem(await bearer(t.app, minted.token).post('/api/v1/auth/2fa/enroll'), 409);
    expect((await bearer(t.app, minted.token).get('/api/v1/auth/2fa').expect(200)).body).toEqual({ isEnabled: false });
  });
});

describe('an API key is not its creator at the sign-in endpoints', () => {
  test('a key cannot read or end its creator’s sessions, nor enrol, confirm or turn off two-factor', async () => {
    const account = newAccount('key-holder');
    const created = await signUp(t.app, account);
    const me = await bearer(t.app, created.access_token).get('/api/v1/me').expect(200);
    const org: string = me.body.defaultOrganizationId;
    const session = (await signIn(t.app, account).expect(200)).body;
    const key = (
      await bearer(t.app, session.access_token).post('/api/v1/api-keys').set('X-Organization-Id', org).send({ name: 'CI', scopes: ['admin'], expiration: 'never' }).expect(201)
    ).body.key as string;

    const withKey = bearer(t.app, key);
    expectProblem(await withKey.get('/api/v1/auth/sessions'), 403);
    expectProblem(await withKey.delete('/api/v1/auth/sessions'), 403);
    expectProblem(await withKey.delete(`/api/v1/auth/sessions/${claimsOf(session.access_token).session_id}`), 403);
    expectProblem(await withKey.get('/api/v1/auth/2fa'), 403);
    expectProblem(await withKey.post('/api/v1/auth/2fa/enroll').send({}), 403);
    expectProblem(await withKey.post('/api/v1/auth/2fa/confirm').send({ code: '123456' }), 403);
    expectProblem(await withKey.post('/api/v1/auth/2fa/disable').send({ password: account.password, code: '123456' }), 403);
    expectProblem(await withKey.post('/api/v1/auth/logout').send({}), 403);
    // Nothing changed: both sessions still live, no enrolment started.
    const listed = await bearer(t.app, session.access_token).get('/api/v1/auth/sessions').expect(200);
    expect(listed.body.total).toBe(2);
    const { rows } = await t.admin.query<{ n: number }>('select count(*)::int as n from app.mfa_factors where user_id = $1', [created.user.id]);
    expect(rows[0]!.n).toBe(0);
  });
});
