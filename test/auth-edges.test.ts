import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createTokenVerifier } from '../src/auth/verifier';
import { migrationVersions } from '../src/db/migrations';
import { createTestApp, expectProblem, newOrganization, newUser, signedToken, token, type TestApp } from './support/harness';

let t: TestApp;
beforeAll(() => {
  t = createTestApp();
});
afterAll(() => t.close());

const claims = (email: string) => ({
  sub: '1b4e28ba-2fa1-4d2b-883f-0016d3cca427',
  email,
  role: 'authenticated',
  aud: 'authenticated',
  exp: Math.floor(Date.now() / 1000) + 600,
});

test('only the canonical spelling of an HS256 signature is accepted', async () => {
  const good = token('canonical@example.test');
  await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${good}`).expect(200);
  const [h, p, sig] = good.split('.') as [string, string, string];
  const padded = `${h}.${p}.${sig.slice(0, 10)}!~${sig.slice(10)}`;
  expectProblem(await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${padded}`), 401);
});

test('an email the profiles table would refuse is a clear 401, not a 422', async () => {
  for (const email of ['dev@localhost', `${'a'.repeat(320)}@example.test`]) {
    const res = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${signedToken(claims(email))}`);
    expectProblem(res, 401);
    expect(res.body.detail).toMatch(/email/);
  }
});

test('X-Organization-Id is ignored where the contract does not take it', async () => {
  const stranger = await newUser(t.app, 'header');
  const other = await newUser(t.app, 'header-other');
  const foreign = await newOrganization(t.app, other, 'Foreign');
  const send = (test: request.Test) => test.set('Authorization', `Bearer ${stranger.token}`).set('X-Organization-Id', foreign);
  await send(request(t.app).get('/api/v1/me')).expect(200);
  await send(request(t.app).get('/api/v1/organizations')).expect(200);
  await send(request(t.app).post('/api/v1/organizations').send({ name: 'Still Works' })).expect(201);
  // Where it is part of the contract it still selects, and a foreign one is 404.
  expectProblem(await send(request(t.app).get('/api/v1/projects')), 404);
});

test('when Supabase Auth cannot be reached, a well-formed token gets 503, not 401', async () => {
  const offline = createTestApp({ verifyToken: createTokenVerifier({ supabaseUrl: 'http://127.0.0.1:9', supabaseAnonKey: 'anon' }) });
  try {
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'key-1' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims('offline@example.test'))).toString('base64url');
    const res = await request(offline.app).get('/api/v1/me').set('Authorization', `Bearer ${header}.${payload}.${'A'.repeat(86)}`);
    expectProblem(res, 503);
    // Forged shapes never reach Supabase: no kid, or an algorithm it does not use.
    const noKid = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
    expectProblem(await request(offline.app).get('/api/v1/me').set('Authorization', `Bearer ${noKid}.${payload}.AAAA`), 401);
  } finally {
    await offline.close();
  }
});

test('two migrations with one version stop the server from starting', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  writeFileSync(path.join(dir, '001_a.sql'), '-- migrate:up\n-- migrate:down\n');
  writeFileSync(path.join(dir, '002_b.sql'), '-- migrate:up\n-- migrate:down\n');
  expect(migrationVersions(dir)).toEqual(['001', '002']);
  writeFileSync(path.join(dir, '002_c.sql'), '-- migrate:up\n-- migrate:down\n');
  expect(() => migrationVersions(dir)).toThrow(/share version 002/);
});
