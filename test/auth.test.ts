import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { localUserId, mintToken } from '../src/auth/demo-users';
import { decodeUnverified, verifyHs256, type TokenClaims } from '../src/auth/jwt';
import { createTokenVerifier } from '../src/auth/verifier';
import {
  addMember,
  as,
  createTestApp,
  expectProblem,
  jwtSecret,
  newOrganization,
  newUser,
  signedToken,
  token,
  type TestApp,
} from './support/harness';
import { es256Key, signEs256, startFakeSupabaseAuth, type FakeSupabaseAuth } from './support/jwks';

const ROOT = path.resolve(__dirname, '..');

let t: TestApp;
beforeAll(() => {
  t = createTestApp();
});
afterAll(() => t.close());

const now = (): number => Math.floor(Date.now() / 1000);
const freshEmail = (label: string): string => `${label}-${randomUUID().slice(0, 8)}@example.test`;

/** Claims of a valid user token; an override set to undefined drops that claim. */
function userClaims(overrides: Partial<TokenClaims> = {}): TokenClaims {
  return {
    aud: 'authenticated',
    role: 'authenticated',
    sub: randomUUID(),
    email: freshEmail('claims'),
    iat: now(),
    exp: now() + 3600,
    ...overrides,
  };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Rows anything could have written for this subject or email: the user, their profile, their organizations. */
async function footprint(sub: unknown, email: unknown): Promise<number> {
  const { rows } = await t.admin.query<{ n: number }>(
    `select (select count(*) from auth.users where id::text = $1 or lower(email) = lower($2))
          + (select count(*) from public.profiles where id::text = $1 or lower(email) = lower($2))
          + (select count(*) from public.organizations where created_by::text = $1) as n`,
    [String(sub ?? ''), String(email ?? '')],
  );
  return Number(rows[0]!.n);
}

describe('refused credentials: 401 problem, WWW-Authenticate: Bearer, nothing written', () => {
  interface Refused {
    /** The Authorization header to send (undefined: none). */
    authorization: string | undefined;
    sub?: unknown;
    email?: unknown;
  }
  const bearer = (claims: TokenClaims, secret?: string): Refused => ({
    authorization: `Bearer ${signedToken(claims, secret)}`,
    sub: claims.sub,
    email: claims.email,
  });

  const cases: Array<[string, () => Refused]> = [
    ['no Authorization header', () => ({ authorization: undefined })],
    ['a Basic credential', () => ({ authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` })],
    [
      'a valid token under another scheme',
      () => {
        const claims = userClaims();
        return { authorization: `Token ${signedToken(claims)}`, sub: claims.sub, email: claims.email };
      },
    ],
    ['Bearer with no token', () => ({ authorization: 'Bearer ' })],
    ['a token that is not a JWT', () => ({ authorization: 'Bearer not-a-jwt' })],
    ['a JWT whose segments are not JSON', () => ({ authorization: 'Bearer abc.def.ghi' })],
    ['a token signed with another secret', () => bearer(userClaims(), 'not-the-secret-of-this-api-0123456789')],
    [
      'a token with a tampered payload',
      () => {
        const claims = userClaims();
        const [header, , signature] = signedToken(userClaims()).split('.');
        return { authorization: `Bearer ${header}.${b64(claims)}.${signature}`, sub: claims.sub, email: claims.email };
      },
    ],
    ['a token expired beyond the 30 s leeway', () => bearer(userClaims({ iat: now() - 3600, exp: now() - 60 }))],
    ['a token not valid before a later time', () => bearer(userClaims({ nbf: now() + 600 }))],
    ['a token for another audience', () => bearer(userClaims({ aud: 'somebody-else' }))],
    ['a token with no audience', () => bearer(userClaims({ aud: undefined }))],
    [
      "alg 'none' with an empty signature",
      () => {
        const claims = userClaims();
        return { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, sub: claims.sub, email: claims.email };
      },
    ],
    [
      "alg 'none' with a made-up signature",
      () => {
        const claims = userClaims();
        return { authorization: `Bearer ${b64({ alg: 'none' })}.${b64(claims)}.ZmFrZQ`, sub: claims.sub, email: claims.email };
      },
    ],
    [
      'an HS256 signature under an RS256 header',
      () => {
        const claims = userClaims();
        const [, payload, signature] = signedToken(claims).split('.');
        return { authorization: `Bearer ${b64({ alg: 'RS256', typ: 'JWT' })}.${payload}.${signature}`, sub: claims.sub, email: claims.email };
      },
    ],
    ["role 'anon'", () => bearer(userClaims({ role: 'anon' }))],
    ["role 'postgres'", () => bearer(userClaims({ role: 'postgres' }))],
    ['no role', () => bearer(userClaims({ role: undefined }))],
    ['no sub', () => bearer(userClaims({ sub: undefined }))],
    ['a sub that is not a uuid', () => bearer(userClaims({ sub: 'user-42' }))],
    ['no email', () => bearer(userClaims({ email: undefined }))],
    ['an email without @', () => bearer(userClaims({ email: 'nobody.example.test' }))],
    ['no exp', () => bearer(userClaims({ exp: undefined }))],
  ];

  test.each(cases)('%s', async (_name, build) => {
    const refused = build();
    const organizationName = `Refused ${randomUUID().slice(0, 8)}`;
    const attempts = [
      request(t.app).get('/api/v1/me'),
      request(t.app).get('/api/v1/projects'),
      request(t.app).post('/api/v1/organizations').send({ name: organizationName }),
    ];
    for (const attempt of attempts) {
      if (refused.authorization !== undefined) attempt.set('Authorization', refused.authorization);
      const res = await attempt;
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }

    const created = await t.admin.query('select 1 from public.organizations where name = $1', [organizationName]);
    expect(created.rowCount).toBe(0);
    if (refused.sub !== undefined || refused.email !== undefined) {
      expect(await footprint(refused.sub, refused.email)).toBe(0);
    }
  });

  test('a token expired less than 30 s ago is still accepted (clock leeway)', async () => {
    const claims = userClaims({ exp: now() - 5 });
    const res = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${signedToken(claims)}`).expect(200);
    expect(res.body.id).toBe(claims.sub);
  });
});

describe('first sign-in provisions the user', () => {
  test('GET /me for an unknown user returns them with a personal organization on the Free plan', async () => {
    const email = freshEmail('Newcomer');
    const sub = localUserId(email);
    expect(await footprint(sub, email)).toBe(0);

    const res = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${token(email)}`).expect(200);
    expect(res.body.id).toBe(sub);
    expect(res.body.email).toBe(email.toLowerCase());
    expect(res.body.organizations).toHaveLength(1);
    const [personal] = res.body.organizations;
    expect(personal).toEqual(
      expect.objectContaining({ id: res.body.defaultOrganizationId, isPersonal: true, role: 'owner', planTier: 'free' }),
    );
    expect(personal.name).toBe(`${email.toLowerCase().split('@')[0]}'s workspace`);

    // A second request finds the user and changes nothing.
    const again = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${token(email)}`).expect(200);
    expect(again.body).toEqual(res.body);
    const rows = await t.admin.query(
      `select (select count(*) from auth.users where id = $1)::int as users,
              (select count(*) from public.profiles where id = $1)::int as profiles,
              (select count(*) from public.organizations where created_by = $1)::int as organizations,
              (select count(*) from public.organization_members where user_id = $1)::int as memberships`,
      [sub],
    );
    expect(rows.rows[0]).toEqual({ users: 1, profiles: 1, organizations: 1, memberships: 1 });
  });

  test('five concurrent first requests create one profile and one personal organization', async () => {
    const email = freshEmail('racer');
    const bearer = token(email);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${bearer}`)),
    );
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.body.organizations).toHaveLength(1);
    }
    const defaults = new Set(responses.map((res) => res.body.defaultOrganizationId));
    expect(defaults.size).toBe(1);

    const sub = localUserId(email);
    const rows = await t.admin.query(
      `select (select count(*) from auth.users where id = $1)::int as users,
              (select count(*) from public.profiles where id = $1)::int as profiles,
              (select count(*) from public.organizations where created_by = $1 and is_personal)::int as personal,
              (select count(*) from public.organization_members where user_id = $1)::int as memberships,
              (select default_organization_id from public.profiles where id = $1) as default_organization_id`,
      [sub],
    );
    expect(rows.rows[0]).toEqual({ users: 1, profiles: 1, personal: 1, memberships: 1, default_organization_id: [...defaults][0] });
  });
});

describe('X-Organization-Id', () => {
  test('a member acts in the organization they name; anyone else gets 404; a malformed id gets 400', async () => {
    const owner = await newUser(t.app, 'owner');
    const member = await newUser(t.app, 'member');
    const outsider = await newUser(t.app, 'outsider');
    const organizationId = await newOrganization(t.app, owner, 'Team');
    await addMember(t, organizationId, member, 'member');

    const teamProject = `Team ${randomUUID().slice(0, 8)}`;
    const personalProject = `Mine ${randomUUID().slice(0, 8)}`;
    await as(t.app, owner, organizationId).post('/api/v1/projects').send({ name: teamProject, type: 'manual', privacy: 'shared' }).expect(201);
    // Without the header the owner acts in their default (personal) organization.
    await as(t.app, owner).post('/api/v1/projects').send({ name: personalProject, type: 'manual', privacy: 'shared' }).expect(201);

    const names = (res: request.Response): string[] => res.body.data.map((project: { name: string }) => project.name);
    const ownerTeam = await as(t.app, owner, organizationId).get('/api/v1/projects').expect(200);
    expect(names(ownerTeam)).toEqual([teamProject]);
    expect(ownerTeam.body.data[0].organizationId).toBe(organizationId);
    const ownerPersonal = await as(t.app, owner).get('/api/v1/projects').expect(200);
    expect(names(ownerPersonal)).toEqual([personalProject]);
    const ownerPersonalByHeader = await as(t.app, owner, owner.personalOrganizationId).get('/api/v1/projects').expect(200);
    expect(names(ownerPersonalByHeader)).toEqual([personalProject]);

    const memberTeam = await as(t.app, member, organizationId).get('/api/v1/projects').expect(200);
    expect(names(memberTeam)).toEqual([teamProject]);
    // The member's default is still their own personal organization.
    const memberDefault = await as(t.app, member).get('/api/v1/projects').expect(200);
    expect(names(memberDefault)).toEqual([]);

    expectProblem(await as(t.app, outsider, organizationId).get('/api/v1/projects'), 404);
    expectProblem(await as(t.app, outsider, owner.personalOrganizationId).get('/api/v1/projects'), 404);
    expectProblem(await as(t.app, member, owner.personalOrganizationId).get('/api/v1/projects'), 404);
    expectProblem(await as(t.app, owner, randomUUID()).get('/api/v1/projects'), 404);

    // Not being a member must not let a write through either.
    const sneaky = `Sneaky ${randomUUID().slice(0, 8)}`;
    expectProblem(await as(t.app, outsider, organizationId).post('/api/v1/projects').send({ name: sneaky, type: 'manual' }), 404);
    expect((await t.admin.query('select 1 from public.projects where name = $1', [sneaky])).rowCount).toBe(0);

    for (const malformed of ['not-a-uuid', '12345', `${organizationId}x`]) {
      expectProblem(await as(t.app, owner, malformed).get('/api/v1/projects'), 400);
    }
  });
});

describe('service_role tokens', () => {
  test('GET /me is refused with 403 (it is for users), not 401', async () => {
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    const { payload } = decodeUnverified(service);
    expect(payload.sub).toBeUndefined();
    expect(payload.email).toBeUndefined();
    expect(payload.role).toBe('service_role');

    const res = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${service}`);
    expectProblem(res, 403);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});

describe('Supabase project with asymmetric (ES256) signing keys', () => {
  const ANON_KEY = 'anon-key-for-tests';
  const signingKey = es256Key(randomUUID());
  const impostorKey = es256Key(signingKey.kid);
  let auth: FakeSupabaseAuth;
  let supabaseApp: TestApp;

  const es256Claims = (overrides: Partial<TokenClaims> = {}): TokenClaims =>
    userClaims({ iss: `${auth.url}/auth/v1`, email: freshEmail('es256'), ...overrides });
  const me = (app: TestApp, bearer: string) => request(app.app).get('/api/v1/me').set('Authorization', `Bearer ${bearer}`);

  beforeAll(async () => {
    auth = await startFakeSupabaseAuth([signingKey.publicJwk]);
    supabaseApp = createTestApp({ verifyToken: createTokenVerifier({ supabaseUrl: auth.url, supabaseAnonKey: ANON_KEY }) });
  });
  afterAll(async () => {
    await supabaseApp.close();
    await auth.close();
  });

  test('a valid ES256 token is verified against the JWKS, locally, and provisions the user', async () => {
    const claims = es256Claims();
    const res = await me(supabaseApp, signEs256(claims, signingKey)).expect(200);
    expect(res.body.id).toBe(claims.sub);
    expect(res.body.email).toBe(claims.email);
    expect(auth.requests).toContain('GET /auth/v1/.well-known/jwks.json');
    // The signature was checked with the public key, not by asking Supabase.
    expect(auth.requests).not.toContain('GET /auth/v1/user');
  });

  test.each([
    ['a wrong issuer', () => ({ claims: es256Claims({ iss: 'https://other-project.supabase.co/auth/v1' }), key: signingKey })],
    ['no issuer', () => ({ claims: es256Claims({ iss: undefined }), key: signingKey })],
    ['another key under the same kid', () => ({ claims: es256Claims(), key: impostorKey })],
    ['an expired token', () => ({ claims: es256Claims({ iat: now() - 3600, exp: now() - 120 }), key: signingKey })],
    ['another audience', () => ({ claims: es256Claims({ aud: 'somebody-else' }), key: signingKey })],
    ["role 'anon'", () => ({ claims: es256Claims({ role: 'anon' }), key: signingKey })],
  ])('%s is refused with 401', async (_name, build) => {
    const { claims, key } = build();
    const res = await me(supabaseApp, signEs256(claims, key));
    expectProblem(res, 401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(await footprint(claims.sub, claims.email)).toBe(0);
  });

  test('a tampered payload under a valid ES256 signature is refused', async () => {
    const [header, , signature] = signEs256(es256Claims(), signingKey).split('.');
    const claims = es256Claims();
    expectProblem(await me(supabaseApp, `${header}.${b64(claims)}.${signature}`), 401);
    expect(await footprint(claims.sub, claims.email)).toBe(0);
  });

  test("alg 'none' under a known kid is refused", async () => {
    const claims = es256Claims();
    const forged = `${b64({ alg: 'none', typ: 'JWT', kid: signingKey.kid })}.${b64(claims)}.`;
    expectProblem(await me(supabaseApp, forged), 401);
    const fake = `${b64({ alg: 'none', typ: 'JWT', kid: signingKey.kid })}.${b64(claims)}.ZmFrZQ`;
    expectProblem(await me(supabaseApp, fake), 401);
    expect(await footprint(claims.sub, claims.email)).toBe(0);
  });

  test('without the JWT secret, an HS256 token is left to Supabase (GET /auth/v1/user), which refuses it', async () => {
    const claims = es256Claims();
    const before = auth.requests.filter((line) => line === 'GET /auth/v1/user').length;
    const res = await me(supabaseApp, signedToken(claims));
    expectProblem(res, 401);
    expect(auth.requests.filter((line) => line === 'GET /auth/v1/user').length).toBe(before + 1);
    expect(await footprint(claims.sub, claims.email)).toBe(0);
  });

  test('with the JWT secret as well, HS256 tokens are checked locally and must carry the project issuer', async () => {
    const both = createTestApp({
      verifyToken: createTokenVerifier({ jwtSecret: jwtSecret(), supabaseUrl: auth.url, supabaseAnonKey: ANON_KEY }),
    });
    try {
      const userRequestsBefore = auth.requests.filter((line) => line === 'GET /auth/v1/user').length;
      const email = freshEmail('hs256');
      const res = await me(both, token(email, { issuer: `${auth.url}/auth/v1` })).expect(200);
      expect(res.body.id).toBe(localUserId(email));

      const noIssuer = freshEmail('hs256-noiss');
      const refused = await me(both, token(noIssuer));
      expectProblem(refused, 401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      const otherIssuer = freshEmail('hs256-otheriss');
      expectProblem(await me(both, token(otherIssuer, { issuer: 'https://other-project.supabase.co/auth/v1' })), 401);
      expect(await footprint(localUserId(noIssuer), noIssuer)).toBe(0);
      expect(await footprint(localUserId(otherIssuer), otherIssuer)).toBe(0);
      expect(auth.requests.filter((line) => line === 'GET /auth/v1/user').length).toBe(userRequestsBefore);

      // ES256 tokens of the project still pass alongside.
      const claims = es256Claims();
      await me(both, signEs256(claims, signingKey)).expect(200);
    } finally {
      await both.close();
    }
  });
});

describe('token CLI (npm run token)', () => {
  interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
  }
  const cliEnv = (dataDir: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
    for (const name of ['SUPABASE_JWT_SECRET', 'SUPABASE_URL', 'SUPABASE_ANON_KEY']) delete env[name];
    return env;
  };
  const runCli = (args: string[], dataDir: string): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn('npx', ['tsx', 'src/cli/token.ts', ...args], { cwd: ROOT, env: cliEnv(dataDir) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'token-cli-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('prints one token line for the user, and reuses the secret it keeps in DATA_DIR', async () => {
    const email = 'alice@acme.test';
    const [first, badEmail] = await Promise.all([runCli([email], dataDir), runCli(['not-an-email'], dataDir)]);

    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const secretFile = path.join(dataDir, 'jwt-secret');
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);

    const firstToken = first.stdout.trim();
    const claims = verifyHs256(firstToken, secret);
    expect(claims).toEqual(
      expect.objectContaining({ sub: localUserId(email), email, role: 'authenticated', aud: 'authenticated' }),
    );
    expect(claims.iss).toBeUndefined();

    const second = await runCli([email], dataDir);
    expect(second.code).toBe(0);
    expect(second.stdout.split('\n')).toHaveLength(2);
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
    expect(verifyHs256(second.stdout.trim(), secret).sub).toBe(localUserId(email));
    expect(() => verifyHs256(firstToken, secret)).not.toThrow();

    expect(badEmail.code).toBe(2);
    expect(badEmail.stdout).toBe('');
    expect(badEmail.stderr).toMatch(/usage: npm run -s token/);
  }, 60000);

  test('the seeded demo users have the ids the CLI puts in sub', () => {
    const seed = readFileSync(path.join(ROOT, 'db', 'seed.sql'), 'utf8');
    const idsByName = new Map([...seed.matchAll(/^\s*(\w+) constant uuid := '([0-9a-f-]{36})';/gim)].map((m) => [m[1]!, m[2]!]));
    const usersInsert = /insert into auth\.users \(id, email\) values([\s\S]*?)on conflict/i.exec(seed);
    expect(usersInsert).not.toBeNull();
    const users = [...usersInsert![1]!.matchAll(/\((\w+),\s*'([^']+)'\)/g)].map((m) => ({ name: m[1]!, email: m[2]! }));

    expect(users.map((user) => user.email).sort()).toEqual(['alice@acme.test', 'bob@acme.test', 'carol@globex.test']);
    for (const user of users) {
      expect({ email: user.email, id: idsByName.get(user.name) }).toEqual({ email: user.email, id: localUserId(user.email) });
    }
  });
});

describe('an email already taken by another account', () => {
  test('a token whose new sub carries a known email gets 409 and creates nothing', async () => {
    const t2 = createTestApp();
    try {
      const first = await newUser(t2.app, 'taken');
      const otherSub = randomUUID();
      const bearer = signedToken({
        sub: otherSub,
        email: first.email,
        role: 'authenticated',
        aud: 'authenticated',
        exp: Math.floor(Date.now() / 1000) + 600,
      });
      const res = await request(t2.app).get('/api/v1/me').set('Authorization', `Bearer ${bearer}`);
      expectProblem(res, 409);
      const rows = await t2.admin.query('select count(*)::int as n from public.profiles where id = $1', [otherSub]);
      expect(rows.rows[0].n).toBe(0);
    } finally {
      await t2.close();
    }
  });
});
