import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import pg from 'pg';
import request from 'supertest';
import { localAccounts } from '../../src/accounts/settings';
import { mintToken, type MintOptions } from '../../src/auth/demo-users';
import { signHs256, type TokenClaims } from '../../src/auth/jwt';
import { createTokenVerifier } from '../../src/auth/verifier';
import { NO_BACKGROUND_WORK } from '../../src/background';
import { migrationVersions, runDbmate } from '../../src/db/migrations';
import { applyDeploymentSettings, urlAs } from '../../src/db/roles';
import { createPool } from '../../src/db/pool';
import { createSecretBox, parseSecretKey, type SecretBox } from '../../src/db/secret-box';
import { createApiKeyUsage } from '../../src/api-keys/usage';
import { createApp, type AppDeps } from '../../src/app';
import { ApiCallLeases } from '../../src/db/api-call-leases';
import { createScratchDatabase } from './scratch-database';

export const jwtSecret = (): string => process.env.TEST_JWT_SECRET!;
/** The run's key for secrets at rest, as SECRETS_ENCRYPTION_KEYS would give it. */
export const secretsKeys = (): string => process.env.TEST_SECRETS_ENCRYPTION_KEYS!;
export const testSecretBox = (): SecretBox => createSecretBox([parseSecretKey(secretsKeys())]);
/** The test database as its owner (a superuser): arranging data, checking what changed. */
export const databaseUrl = (): string => process.env.TEST_DATABASE_URL!;
/** The test database as the app logs in: a role that can only SET ROLE to the request roles. */
export const appDatabaseUrl = (): string => process.env.TEST_APP_DATABASE_URL!;

export interface TestApp {
  app: Express;
  pool: pg.Pool;
  /** A connection as the database owner, for arranging data and checking what changed. */
  admin: pg.Pool;
  /** Where the app's pool connects (the login role), for tests that open pools of their own. */
  appUrl: string;
  /**
   * Where the app counts API-key calls. It leases them in blocks: settle()
   * hands back the unused ones, after which the counter holds the calls made.
   */
  apiCalls: { settle(): Promise<void> };
  /** Another app on the same databases and pool, with some settings changed (closed with this one). */
  variant(overrides: Partial<AppDeps>): Express;
  close(): Promise<void>;
}

/**
 * The real app on the real test database, with request and response
 * validation on. That database counts usage but refuses nothing (its
 * deployment settings say so); quota tests use createQuotaTestApp, suites
 * whose passes claim work across organizations createIsolatedTestApp.
 */
export function createTestApp(overrides: Partial<AppDeps> = {}): TestApp {
  return assembleTestApp(appDatabaseUrl(), databaseUrl(), overrides);
}

function assembleTestApp(appUrl: string, ownerUrl: string, overrides: Partial<AppDeps>): TestApp {
  const ownPool = overrides.pool === undefined;
  const pool = overrides.pool ?? createPool(appUrl, 5);
  const admin = new pg.Pool({ connectionString: ownerUrl, max: 2 });
  // API-key usage is written every few seconds: closed (and flushed) before the pool ends.
  const apiKeyUsage = createApiKeyUsage({ pool, statementTimeoutMs: 5000 });
  const apiCallLeases = new ApiCallLeases(pool, 5000);
  const build = (more: Partial<AppDeps>) =>
    createApp({
      pool,
      verifyToken: createTokenVerifier({ jwtSecret: jwtSecret() }),
      statementTimeoutMs: 5000,
      validateResponses: true,
      logRequests: false,
      expectedMigrations: migrationVersions(),
      background: NO_BACKGROUND_WORK,
      accounts: localAccounts(jwtSecret(), 'http://localhost/auth/v1'),
      // Suites fire requests as one user far faster than a person does; the
      // burst limit is tested on its own (test/rate-limits.test.ts) with a low one.
      sessionBurst: { ratePerSecond: 1_000_000, burst: 1_000_000 },
      apiKeyUsage,
      apiCallLeases,
      secrets: testSecretBox(),
      ...overrides,
      ...more,
    });
  return {
    app: build({}),
    apiCalls: { settle: () => apiCallLeases.returnUnused() },
    appUrl,
    pool,
    admin,
    variant: (more) => build(more),
    close: async () => {
      await Promise.all([apiKeyUsage.close(), apiCallLeases.returnUnused()]);
      if (ownPool) await pool.end();
      await admin.end();
    },
  };
}

export interface IsolatedDatabaseOptions {
  /** Plan quotas refuse past their limits (as in production); off by default, as on the shared test database. */
  quotasEnforced?: boolean;
}

/**
 * The real app on a database of its own, migrated from nothing: for suites
 * whose background passes (scheduler, billing roll-over) claim work across
 * every organization, so that they see only their own rows and other suites
 * never see theirs. Quotas are off unless asked for, written to
 * app.deployment_settings as the owner does at start-up. Each one costs a
 * migration run: use it only where the shared database cannot do. Call
 * close() to drop it.
 */
export async function createIsolatedTestApp(options: IsolatedDatabaseOptions = {}, overrides: Partial<AppDeps> = {}): Promise<TestApp> {
  const quotasEnforced = options.quotasEnforced ?? false;
  const scratch = await createScratchDatabase(quotasEnforced ? 'quota' : 'isolated');
  try {
    await runDbmate(scratch.url, ['up', '--strict'], { quiet: true });
    await applyDeploymentSettings(scratch.url, { quotasEnforced });
    await scratch.client.end();
  } catch (error) {
    await scratch.drop();
    throw error;
  }
  const login = new URL(appDatabaseUrl());
  const t = assembleTestApp(urlAs(scratch.url, decodeURIComponent(login.username), decodeURIComponent(login.password)), scratch.url, {
    quotasEnabled: quotasEnforced,
    ...overrides,
  });
  return {
    ...t,
    close: async () => {
      await t.close();
      await scratch.drop();
    },
  };
}

/** The real app on a database of its own where plan quotas refuse past their limits, as in production. */
export function createQuotaTestApp(overrides: Partial<AppDeps> = {}): Promise<TestApp> {
  return createIsolatedTestApp({ quotasEnforced: true }, overrides);
}

export function token(email: string, options: Partial<MintOptions> = {}): string {
  return mintToken(email, { secret: jwtSecret(), ...options });
}

export function signedToken(claims: TokenClaims, secret = jwtSecret()): string {
  return signHs256(claims, secret);
}

export interface TestUser {
  email: string;
  token: string;
  userId: string;
  personalOrganizationId: string;
}

/** A brand-new user, provisioned through the API the way a first sign-in is. */
export async function newUser(app: Express, label = 'user'): Promise<TestUser> {
  const email = `${label}-${randomUUID().slice(0, 8)}@example.test`;
  const bearer = token(email);
  const me = await request(app).get('/api/v1/me').set('Authorization', `Bearer ${bearer}`).expect(200);
  return { email, token: bearer, userId: me.body.id, personalOrganizationId: me.body.defaultOrganizationId };
}

/** An organization owned by `owner`, created through the API. */
export async function newOrganization(app: Express, owner: TestUser, name = 'Org'): Promise<string> {
  const res = await request(app)
    .post('/api/v1/organizations')
    .set('Authorization', `Bearer ${owner.token}`)
    .send({ name: `${name} ${randomUUID().slice(0, 6)}` })
    .expect(201);
  return res.body.id;
}

/** Organization membership is arranged directly until its endpoints exist. */
export async function addMember(t: TestApp, organizationId: string, user: TestUser, role: 'owner' | 'admin' | 'member'): Promise<void> {
  await t.admin.query('insert into public.organization_members (organization_id, user_id, role) values ($1, $2, $3)', [
    organizationId,
    user.userId,
    role,
  ]);
}

/** A supertest request with the user's token and, optionally, an organization header. */
export function as(app: Express, user: TestUser, organizationId?: string) {
  const wrap = (test: request.Test) => {
    test.set('Authorization', `Bearer ${user.token}`);
    if (organizationId) test.set('X-Organization-Id', organizationId);
    return test;
  };
  return {
    get: (url: string) => wrap(request(app).get(url)),
    post: (url: string) => wrap(request(app).post(url)),
    patch: (url: string) => wrap(request(app).patch(url)),
    put: (url: string) => wrap(request(app).put(url)),
    delete: (url: string) => wrap(request(app).delete(url)),
  };
}

/** Every problem response has the RFC 9457 shape and media type. */
export function expectProblem(res: request.Response, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toEqual(expect.objectContaining({ status, title: expect.any(String), detail: expect.any(String), type: expect.any(String) }));
}

export type ProjectRole = 'admin' | 'manager' | 'developer' | 'viewer' | 'auditor';

/** A project membership arranged directly, for tests about what each role may do. */
export async function addProjectMember(t: TestApp, projectId: string, user: TestUser, role: ProjectRole | string): Promise<string> {
  const inserted = await t.admin.query<{ id: string }>(
    'insert into public.project_members (project_id, user_id, email, role) values ($1, $2, $3, $4) returning id',
    [projectId, user.userId, user.email, role],
  );
  return inserted.rows[0]!.id;
}

/** A new user who is a plain member of the organization and has `role` on the project. */
export async function newProjectMember(t: TestApp, organizationId: string, projectId: string, role: ProjectRole): Promise<TestUser> {
  const user = await newUser(t.app, role);
  await addMember(t, organizationId, user, 'member');
  await addProjectMember(t, projectId, user, role);
  return user;
}

/**
 * The client round trips the app makes while `work` runs: each is one query
 * call on a pooled connection, however many statements its message holds.
 */
export async function countRoundTrips(work: () => Promise<unknown>): Promise<number> {
  const spy = jest.spyOn(pg.Client.prototype, 'query');
  try {
    await work();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}
