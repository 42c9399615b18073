import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { codeAt } from '../src/accounts/totp';
import { createSecretBox, keyIdOf, parseSecretKey, type SecretBox } from '../src/db/secret-box';
import { signatureHeaderValue } from '../src/reflexes/hooks/signature';
import { resealTotpSecrets } from '../src/accounts/sealing';
import { resealReflexSecrets } from '../src/reflexes/sealing';
import { authPost, newAccount, signIn, signUp, type Account } from './accounts-support';
import { as, createIsolatedTestApp, newOrganization, secretsKeys, type TestApp, type TestUser } from './support/harness';

// Webhook and TOTP secrets are kept sealed under SECRETS_ENCRYPTION_KEYS.
// Rows written before sealing existed (plain text) keep working and are
// sealed by the start-up pass; a rotation puts a new key first, and the same
// pass (npm run secrets:reencrypt) moves every row to it. A database of its
// own: the rotation reseals every row it finds.

let t: TestApp;
let user: TestUser;
let account: Account;
let org: string;
let skillId: string;

/** What the server does on start and `npm run secrets:reencrypt` does (src/server.ts resealSecrets), domain by domain. */
async function resealSecrets(box: SecretBox): Promise<{ reflexSecrets: number; totpSecrets: number }> {
  const deps = { pool: t.pool, statementTimeoutMs: 5000 };
  return { reflexSecrets: await resealReflexSecrets(deps, box), totpSecrets: await resealTotpSecrets(deps, box) };
}

const oldKey = parseSecretKey(secretsKeys());
const newKey = randomBytes(32);

function deliver(app: TestApp['app'], reflexId: string, secret: string) {
  // A body of its own each time: the same signed delivery twice within a second would be a replay.
  const raw = Buffer.from(JSON.stringify({ hello: 'world', nonce: randomBytes(8).toString('hex') }));
  const timestamp = String(Math.floor(Date.now() / 1000));
  return request(app)
    .post(`/api/v1/hooks/reflexes/${reflexId}`)
    .set('Content-Type', 'application/json')
    .set('X-Reflex-Timestamp', timestamp)
    .set('X-Reflex-Signature', signatureHeaderValue(secret, timestamp, raw))
    .send(raw.toString());
}

async function storedSecret(reflexId: string): Promise<string> {
  return (await t.admin.query<{ secret: string }>('select secret from public.reflex_secrets where reflex_id = $1', [reflexId])).rows[0]!.secret;
}

async function regeneratedEntries(reflexId: string): Promise<number> {
  const found = await t.admin.query<{ n: number }>(
    `select count(*)::int as n from public.audit_log where event_type = 'security.reflex_secret_regenerated' and target_id = $1`,
    [reflexId],
  );
  return found.rows[0]!.n;
}

beforeAll(async () => {
  t = await createIsolatedTestApp();
  account = newAccount('sealer');
  const session = await signUp(t.app, account);
  const me = await request(t.app).get('/api/v1/me').set('Authorization', `Bearer ${session.access_token}`).expect(200);
  user = { email: me.body.email, token: session.access_token, userId: me.body.id, personalOrganizationId: me.body.defaultOrganizationId };
  org = await newOrganization(t.app, user, 'Sealed');
  skillId = (await as(t.app, user, org).post('/api/v1/skills').send({ name: 'Hooked', promptTemplate: 'Summarize {{text}} for me.' }).expect(201)).body.id;
});
afterAll(() => t.close());

test('a secret written in plain text before sealing keeps working, and the start-up pass seals it without calling it regenerated', async () => {
  const reflex = (await as(t.app, user, org).post('/api/v1/reflexes').send({ skillId, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201))
    .body;
  // As a row from before migration 022 holds it.
  const plain = `whsec_${randomBytes(32).toString('base64url')}`;
  await t.admin.query('update public.reflex_secrets set secret = $2 where reflex_id = $1', [reflex.id, plain]);
  const regeneratedBefore = await regeneratedEntries(reflex.id);

  expect((await deliver(t.app, reflex.id, plain)).status).toBe(202);
  const resealed = await resealSecrets(createSecretBox([oldKey]));
  expect(resealed.reflexSecrets).toBe(1);
  const stored = await storedSecret(reflex.id);
  expect(stored).toMatch(new RegExp(`^enc:v1:${keyIdOf(oldKey)}:`));
  expect((await deliver(t.app, reflex.id, plain)).status).toBe(202);
  // Nothing left to do the second time.
  expect(await resealSecrets(createSecretBox([oldKey]))).toEqual({ reflexSecrets: 0, totpSecrets: 0 });
  // Sealing again is no new secret: the audit log records no regeneration.
  expect(await regeneratedEntries(reflex.id)).toBe(regeneratedBefore);
});

test('rotation: a new key first, the old one still opening; the pass moves every secret to the new key', async () => {
  const reflex = (await as(t.app, user, org).post('/api/v1/reflexes').send({ skillId, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201))
    .body;
  const setup = (await as(t.app, user).post('/api/v1/auth/2fa/enroll').expect(200)).body;
  await as(t.app, user).post('/api/v1/auth/2fa/confirm').send({ code: codeAt(setup.secret) }).expect(200);
  expect(await storedSecret(reflex.id)).toMatch(new RegExp(`^enc:v1:${keyIdOf(oldKey)}:`));

  const rotated: SecretBox = createSecretBox([newKey, oldKey]);
  const app = t.variant({ secrets: rotated });
  // Before the pass: the old key's rows still open.
  expect((await deliver(app, reflex.id, reflex.secret)).status).toBe(202);
  const resealed = await resealSecrets(rotated);
  expect(resealed.reflexSecrets).toBeGreaterThanOrEqual(1);
  expect(resealed.totpSecrets).toBe(1);
  const sealedWith = await t.admin.query<{ secret: string }>('select secret from public.reflex_secrets union all select secret from app.mfa_factors');
  for (const row of sealedWith.rows) expect(row.secret).toMatch(new RegExp(`^enc:v1:${keyIdOf(newKey)}:`));

  // After it the old key can go: everything opens with the new one alone.
  const newOnly = t.variant({ secrets: createSecretBox([newKey]) });
  expect((await deliver(newOnly, reflex.id, reflex.secret)).status).toBe(202);
  // ... and the TOTP secret too: a password sign-in asks for the second factor (a challenge), and the next code passes.
  const challenge = (await signIn(newOnly, account)).body.challenge_token;
  expect(challenge).toEqual(expect.any(String));
  await authPost(newOnly, '/mfa/verify', { challenge_token: challenge, code: codeAt(setup.secret, Date.now() + 30_000) }, account.ip).expect(200);
});
