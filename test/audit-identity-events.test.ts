import { authPost, bearer, claimsOf, newAccount, signIn, signUp, SAFARI_ON_IPHONE } from './accounts-support';
import { createTokenVerifier } from '../src/auth/verifier';
import { newApiKey } from './support/api-keys';
import { startGoTrue, type GoTrueStandIn } from './support/gotrue';
import { as, createTestApp, jwtSecret, newOrganization, newUser, type TestApp } from './support/harness';

// Sign-ins, sign-outs, ended sessions and API keys in the audit log: written
// by the database in the transaction of the change, with the request's
// address and user agent (database/018_audit_identity_events.sql).

let t: TestApp;

beforeAll(() => {
  t = createTestApp({ trustProxy: true });
});
afterAll(() => t.close());

interface Entry {
  event_type: string;
  target_type: string;
  target_id: string | null;
  target_name: string | null;
  actor_user_id: string | null;
  ip_address: string | null;
  user_agent: string | null;
  metadata: Record<string, unknown>;
}

async function entries(organizationId: string, eventTypes: string[]): Promise<Entry[]> {
  const { rows } = await t.admin.query<Entry>(
    `select event_type, target_type, target_id, target_name, actor_user_id, host(ip_address) as ip_address, user_agent, metadata
     from public.audit_log where organization_id = $1 and event_type = any($2) order by created_at, id`,
    [organizationId, eventTypes],
  );
  return rows;
}

describe('sessions of local accounts', () => {
  test('a sign-in, a failed one, an ended session and a sign-out are recorded in the organization, with address and user agent', async () => {
    const account = newAccount('audited');
    const created = await signUp(t.app, account);
    // The first request provisions the person's profile and personal organization.
    const me = await bearer(t.app, created.access_token).get('/api/v1/me').expect(200);
    const org: string = me.body.defaultOrganizationId;
    const userId = created.user.id;

    const session = await signIn(t.app, account, { userAgent: SAFARI_ON_IPHONE }).expect(200);
    const other = await signIn(t.app, account).expect(200);
    await signIn(t.app, account, { password: 'not-the-password' }).expect(401);
    await bearer(t.app, session.body.access_token).delete('/api/v1/auth/sessions').set('X-Forwarded-For', account.ip).expect(200);
    await authPost(t.app, '/logout', {}, account.ip).set('Authorization', `Bearer ${session.body.access_token}`).expect(204);

    const recorded = await entries(org, ['user.login', 'user.logout', 'security.login_failed', 'security.session_terminated']);
    // Ending the other sessions ends the sign-up's session and the second sign-in's.
    expect(recorded.map((e) => e.event_type)).toEqual([
      'user.login',
      'user.login',
      'security.login_failed',
      'security.session_terminated',
      'security.session_terminated',
      'user.logout',
    ]);
    for (const entry of recorded) {
      expect(entry.actor_user_id).toBe(userId);
      expect(entry.ip_address).toBe(account.ip);
    }
    const first = claimsOf(session.body.access_token).session_id;
    const second = claimsOf(other.body.access_token).session_id;
    expect(recorded[0]).toMatchObject({ target_type: 'session', target_id: first, user_agent: SAFARI_ON_IPHONE, metadata: { aal: 'aal1', methods: ['password'] } });
    expect(recorded[1]).toMatchObject({ target_type: 'session', target_id: second });
    expect(recorded[2]).toMatchObject({ target_type: 'account', target_id: userId, target_name: account.email, metadata: { reason: 'invalid_credentials' } });
    const terminated = recorded.filter((e) => e.event_type === 'security.session_terminated');
    expect(terminated.map((e) => e.target_id)).toContain(second);
    expect(terminated.map((e) => e.target_id)).not.toContain(first);
    expect(terminated.map((e) => e.metadata)).toEqual([{ reason: 'ended' }, { reason: 'ended' }]);
    expect(recorded[5]).toMatchObject({ target_type: 'session', target_id: first });
  });

  test('a failed sign-in for an email nobody uses records nothing anywhere', async () => {
    const ghost = newAccount('ghost');
    await signIn(t.app, ghost).expect(401);
    const { rows } = await t.admin.query<{ n: number }>("select count(*)::int as n from public.audit_log where target_name = $1", [ghost.email]);
    expect(rows[0]!.n).toBe(0);
  });
});

describe('API keys', () => {
  test('creating and revoking a key are recorded, never its secret; another organization sees neither', async () => {
    const owner = await newUser(t.app, 'audit-keys');
    const org = await newOrganization(t.app, owner, 'Audited keys');
    const other = await newUser(t.app, 'audit-keys-other');
    const otherOrg = await newOrganization(t.app, other, 'Other keys');
    const key = await newApiKey(t.app, owner, org, ['read', 'write']);
    await as(t.app, owner, org).post(`/api/v1/api-keys/${key.id}/revoke`).expect(200);

    const recorded = await entries(org, ['security.api_key_created', 'security.api_key_revoked']);
    expect(recorded).toEqual([
      expect.objectContaining({ event_type: 'security.api_key_created', target_id: key.id, actor_user_id: owner.userId, metadata: expect.objectContaining({ keyPrefix: key.keyPrefix, scopes: ['read', 'write'] }) }),
      expect.objectContaining({ event_type: 'security.api_key_revoked', target_id: key.id, actor_user_id: owner.userId, metadata: { keyPrefix: key.keyPrefix } }),
    ]);
    expect(JSON.stringify(recorded)).not.toContain(key.key);
    expect(await entries(otherOrg, ['security.api_key_created', 'security.api_key_revoked'])).toEqual([]);

    // Through the API too: the owner reads them with the frontend's filter.
    const listed = await as(t.app, owner, org).get('/api/v1/audit-log?eventCategory=security').expect(200);
    expect(listed.body.data.map((e: { eventType: string }) => e.eventType)).toEqual(
      expect.arrayContaining(['security.api_key_created', 'security.api_key_revoked']),
    );
  });

  test('a key whose creation fails leaves no entry (same transaction)', async () => {
    const owner = await newUser(t.app, 'audit-keys-fail');
    const org = await newOrganization(t.app, owner, 'Failed key');
    const before = (await entries(org, ['security.api_key_created'])).length;
    // A duplicate hash violates a unique constraint after the row trigger ran: the whole insert rolls back.
    const { rows } = await t.admin.query<{ secret_hash: Buffer; public_id: string }>(
      'select secret_hash, public_id from public.api_keys limit 1',
    );
    const client = await t.admin.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: owner.userId, role: 'authenticated' })]);
      await expect(
        client.query(
          `insert into public.api_keys (organization_id, created_by, name, public_id, secret_hash, scopes) values ($1, $2, 'dup', 'abcdefabcdef', $3, '{read}')`,
          [org, owner.userId, rows[0]!.secret_hash],
        ),
      ).rejects.toMatchObject({ code: '23505' });
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect((await entries(org, ['security.api_key_created'])).length).toBe(before);
  });
});

describe('sessions of Supabase Auth (no trigger sees them: the API records them)', () => {
  let gotrue: GoTrueStandIn;
  let supa: TestApp;

  beforeAll(async () => {
    gotrue = await startGoTrue(jwtSecret());
    supa = createTestApp({
      trustProxy: true,
      accounts: { mode: 'supabase', url: gotrue.url, anonKey: 'anon-key', redirectOrigins: ['http://localhost:5173'] },
      verifyToken: createTokenVerifier({ jwtSecret: jwtSecret(), supabaseUrl: gotrue.url, supabaseAnonKey: 'anon-key' }),
    });
  });
  afterAll(async () => {
    await supa.close();
    await gotrue.close();
  });

  test('a sign-in, a failed one, ending the others and a sign-out are recorded with address and user agent', async () => {
    const account = newAccount('supa-audit');
    const created = await signUp(supa.app, account);
    const me = await bearer(supa.app, created.access_token).get('/api/v1/me').expect(200);
    const org: string = me.body.defaultOrganizationId;

    const session = await signIn(supa.app, account, { userAgent: SAFARI_ON_IPHONE }).expect(200);
    await signIn(supa.app, account, { password: 'not-the-password' }).expect(401);
    await bearer(supa.app, session.body.access_token).delete('/api/v1/auth/sessions').set('X-Forwarded-For', account.ip).expect(200);
    await authPost(supa.app, '/logout', {}, account.ip).set('Authorization', `Bearer ${session.body.access_token}`).expect(204);

    const recorded = await entries(org, ['user.login', 'user.logout', 'security.login_failed', 'security.session_terminated']);
    expect(recorded.map((e) => e.event_type)).toEqual(['user.login', 'security.login_failed', 'security.session_terminated', 'user.logout']);
    for (const entry of recorded) {
      expect(entry.actor_user_id).toBe(created.user.id);
      expect(entry.ip_address).toBe(account.ip);
    }
    const sessionId = claimsOf(session.body.access_token).session_id;
    expect(recorded[0]).toMatchObject({ target_type: 'session', target_id: sessionId, user_agent: SAFARI_ON_IPHONE, metadata: { aal: 'aal1', methods: ['password'] } });
    expect(recorded[1]).toMatchObject({ target_type: 'account', target_name: account.email, metadata: { reason: 'invalid_credentials' } });
    expect(recorded[2]).toMatchObject({ target_id: null, metadata: { reason: 'ended', scope: 'others' } });
    expect(recorded[3]).toMatchObject({ target_type: 'session', target_id: sessionId });
  });
});
