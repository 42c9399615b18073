import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import pg from 'pg';
import request from 'supertest';
import { mintToken, type MintOptions } from '../../src/auth/demo-users';
import { signHs256, type TokenClaims } from '../../src/auth/jwt';
import { createTokenVerifier } from '../../src/auth/verifier';
import { NO_BACKGROUND_WORK } from '../../src/background';
import { migrationVersions } from '../../src/db/migrations';
import { createPool } from '../../src/db/pool';
import { createApp } from '../../src/http/app';
import type { AppDeps } from '../../src/http/context';

export const jwtSecret = (): string => process.env.TEST_JWT_SECRET!;
export const databaseUrl = (): string => process.env.TEST_DATABASE_URL!;

export interface TestApp {
  app: Express;
  pool: pg.Pool;
  /** A connection as the database owner, for arranging data and checking what changed. */
  admin: pg.Pool;
  close(): Promise<void>;
}

/** The real app on the real test database, with request and response validation on. */
export function createTestApp(overrides: Partial<AppDeps> = {}): TestApp {
  const ownPool = overrides.pool === undefined;
  const pool = overrides.pool ?? createPool(databaseUrl(), 5);
  const admin = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
  const app = createApp({
    pool,
    verifyToken: createTokenVerifier({ jwtSecret: jwtSecret() }),
    statementTimeoutMs: 5000,
    validateResponses: true,
    logRequests: false,
    expectedMigrations: migrationVersions(),
    background: NO_BACKGROUND_WORK,
    ...overrides,
  });
  return {
    app,
    pool,
    admin,
    close: async () => {
      if (ownPool) await pool.end();
      await admin.end();
    },
  };
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
