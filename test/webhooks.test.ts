import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { digestsEqual, isFresh, readSignatureHeaders, signatureHeaderValue } from '../src/reflexes/hooks/signature';
import { createReflex, createSkill, executionsOf, reflexRow } from './reflexes-fixtures';
import { as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// alice owns organization A and its webhook reflexes; carol owns organization B.
let t: TestApp;
let alice: TestUser;
let carol: TestUser;
let orgA: string;
let orgB: string;
let skillA: string;
let skillB: string;
const woken: string[] = [];
const MAX_BODY = 2048;

beforeAll(async () => {
  t = createTestApp({
    background: { wake: (name) => void woken.push(name), stop: async () => undefined },
    reflexWebhooks: { maxBodyBytes: MAX_BODY, toleranceSeconds: 300 },
  });
  alice = await newUser(t.app, 'alice');
  carol = await newUser(t.app, 'carol');
  orgA = await newOrganization(t.app, alice, 'Hooks A');
  orgB = await newOrganization(t.app, carol, 'Hooks B');
  skillA = await createSkill(t, orgA, alice);
  skillB = await createSkill(t, orgB, carol);
});
afterAll(() => t.close());

const hook = (reflexId: string) => `/api/v1/hooks/reflexes/${reflexId}`;
const now = () => String(Math.floor(Date.now() / 1000));

async function webhookReflex(options: { conditions?: unknown; method?: 'POST' | 'GET'; user?: TestUser; org?: string; skill?: string } = {}) {
  const created = await createReflex(t, options.user ?? alice, options.org ?? orgA, {
    skillId: options.skill ?? skillA,
    triggerType: 'webhook',
    triggerConfig: { method: options.method ?? 'POST' },
    ...(options.conditions ? { conditions: options.conditions } : {}),
  });
  return { id: created.id, secret: created.secret! };
}

/** Sends a body signed the way the webhook details describe. */
function deliver(reflexId: string, secret: string, body: unknown, options: { timestamp?: string; signature?: string } = {}) {
  const raw = Buffer.from(JSON.stringify(body));
  const timestamp = options.timestamp ?? now();
  return request(t.app)
    .post(hook(reflexId))
    .set('Content-Type', 'application/json')
    .set('X-Reflex-Timestamp', timestamp)
    .set('X-Reflex-Signature', options.signature ?? signatureHeaderValue(secret, timestamp, raw))
    .send(raw.toString());
}

/** Every refusal is the same document, whatever the reason. */
function expectRefused(res: request.Response): void {
  expectProblem(res, 401);
  // Alike but for the request's own id, which names this response (its X-Request-Id), not why it was refused.
  const { requestId, ...refusal } = res.body;
  expect(requestId).toBe(res.headers['x-request-id']);
  expect(refusal).toEqual({ type: '/problems/unauthorized', code: 'unauthorized', title: 'Unauthorized', status: 401, detail: 'The delivery was not accepted.', instance: expect.stringMatching(/^\/api\/v1\/hooks\/reflexes\//) });
}

describe('signed deliveries', () => {
  test('a good delivery starts an execution of the skill as the reflex owner and wakes the worker', async () => {
    const reflex = await webhookReflex();
    woken.length = 0;
    const res = await deliver(reflex.id, reflex.secret, { action: 'opened', pull_request: { title: 'Fix login' } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ matched: true, executionId: expect.any(String) });
    const executions = await executionsOf(t, reflex.id);
    expect(executions).toEqual([
      expect.objectContaining({
        id: res.body.executionId,
        organization_id: orgA,
        skill_id: skillA,
        user_id: alice.userId,
        execution_type: 'reflex',
        status: 'pending',
        input: { action: 'opened', pull_request: { title: 'Fix login' } },
      }),
    ]);
    expect(woken).toContain('executions');
    expect(await reflexRow(t, reflex.id)).toEqual(expect.objectContaining({ trigger_count: 1, last_triggered_at: expect.any(String) }));
  });

  test('an array body becomes { payload }', async () => {
    const reflex = await webhookReflex();
    const res = await deliver(reflex.id, reflex.secret, [1, 2]);
    expect(res.status).toBe(202);
    expect((await executionsOf(t, reflex.id))[0]!.input).toEqual({ payload: [1, 2] });
  });

  test('conditions that do not match accept the delivery but start nothing', async () => {
    const reflex = await webhookReflex({ conditions: { filters: [{ field: 'action', operator: 'equals', value: 'closed' }] } });
    const res = await deliver(reflex.id, reflex.secret, { action: 'opened' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ matched: false, executionId: null });
    expect(await executionsOf(t, reflex.id)).toEqual([]);
    const matching = await deliver(reflex.id, reflex.secret, { action: 'closed' });
    expect(matching.status).toBe(202);
  });

  test('a reflex whose skill is inactive accepts the delivery and starts nothing', async () => {
    const idleSkill = await createSkill(t, orgA, alice, { isActive: false });
    const reflex = await webhookReflex({ skill: idleSkill });
    const res = await deliver(reflex.id, reflex.secret, { a: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ matched: false, executionId: null });
    expect(await executionsOf(t, reflex.id)).toEqual([]);
  });

  test('a GET reflex takes signed GETs over an empty body', async () => {
    const reflex = await webhookReflex({ method: 'GET' });
    const timestamp = now();
    const res = await request(t.app)
      .get(hook(reflex.id))
      .set('X-Reflex-Timestamp', timestamp)
      .set('X-Reflex-Signature', signatureHeaderValue(reflex.secret, timestamp, Buffer.alloc(0)));
    expect(res.status).toBe(202);
    expect((await executionsOf(t, reflex.id))[0]!.input).toEqual({});
    // ...and refuses POSTs, like any other bad delivery.
    expectRefused(await deliver(reflex.id, reflex.secret, { a: 1 }));
  });
});

describe('refused deliveries all look the same', () => {
  let reflex: { id: string; secret: string };
  beforeAll(async () => {
    reflex = await webhookReflex();
  });

  test('unsigned', async () => {
    expectRefused(await request(t.app).post(hook(reflex.id)).send({ a: 1 }));
    expectRefused(await request(t.app).post(hook(reflex.id)).set('X-Reflex-Timestamp', now()).send({ a: 1 }));
  });

  test('badly signed: wrong secret, another reflex\'s secret, tampered body, malformed header', async () => {
    expectRefused(await deliver(reflex.id, 'whsec_not-the-secret', { a: 1 }));
    const other = await webhookReflex();
    expectRefused(await deliver(reflex.id, other.secret, { a: 1 }));
    const timestamp = now();
    const signature = signatureHeaderValue(reflex.secret, timestamp, Buffer.from(JSON.stringify({ a: 1 })));
    expectRefused(await deliver(reflex.id, reflex.secret, { a: 2 }, { timestamp, signature }));
    expectRefused(await deliver(reflex.id, reflex.secret, { a: 1 }, { signature: 'md5=abc' }));
    // The signature covers the timestamp: the same digest under another time is refused.
    expectRefused(await deliver(reflex.id, reflex.secret, { a: 1 }, { timestamp: String(Number(timestamp) - 1), signature }));
  });

  test('stale or from the future', async () => {
    const old = String(Math.floor(Date.now() / 1000) - 400);
    const future = String(Math.floor(Date.now() / 1000) + 400);
    expectRefused(await deliver(reflex.id, reflex.secret, { a: 1 }, { timestamp: old }));
    expectRefused(await deliver(reflex.id, reflex.secret, { a: 1 }, { timestamp: future }));
  });

  test('replayed', async () => {
    const timestamp = now();
    const first = await deliver(reflex.id, reflex.secret, { replay: true }, { timestamp });
    expect(first.status).toBe(202);
    expectRefused(await deliver(reflex.id, reflex.secret, { replay: true }, { timestamp }));
    expect((await executionsOf(t, reflex.id)).filter((e) => e.input.replay === true)).toHaveLength(1);
  });

  test('two copies of one delivery sent at once: one is accepted', async () => {
    const timestamp = now();
    const statuses = (await Promise.all([0, 1].map(() => deliver(reflex.id, reflex.secret, { twin: true }, { timestamp })))).map((r) => r.status);
    expect(statuses.sort()).toEqual([202, 401]);
  });

  test('unknown reflex, not an id, or a reflex that is not a webhook', async () => {
    expectRefused(await deliver(randomUUID(), reflex.secret, { a: 1 }));
    expectRefused(await deliver('not-a-uuid', reflex.secret, { a: 1 }));
    const eventReflex = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'event', triggerConfig: { eventName: 'x' } });
    expectRefused(await deliver(eventReflex.id, reflex.secret, { a: 1 }));
  });

  test('inactive reflex', async () => {
    const inactive = await webhookReflex();
    await as(t.app, alice, orgA).post(`/api/v1/reflexes/${inactive.id}/deactivate`).expect(200);
    expectRefused(await deliver(inactive.id, inactive.secret, { a: 1 }));
    expect(await executionsOf(t, inactive.id)).toEqual([]);
  });

  test('an old secret once regenerated', async () => {
    const rotated = await webhookReflex();
    const res = await as(t.app, alice, orgA).post(`/api/v1/reflexes/${rotated.id}/regenerate-secret`).expect(200);
    expect(res.body.secret).not.toBe(rotated.secret);
    expectRefused(await deliver(rotated.id, rotated.secret, { a: 1 }));
    expect((await deliver(rotated.id, res.body.secret, { a: 1 })).status).toBe(202);
  });

  test('nothing refused started anything', async () => {
    expect((await executionsOf(t, reflex.id)).map((e) => e.input)).toEqual([{ replay: true }, { twin: true }]);
  });
});

describe('replay records', () => {
  test('an accepted delivery is remembered until its window ends, and expired records are pruned', async () => {
    const reflex = await webhookReflex();
    await t.admin.query(
      "insert into public.reflex_webhook_deliveries (reflex_id, signature, expires_at) values ($1, $2, now() - interval '1 second')",
      [reflex.id, 'e'.repeat(64)],
    );
    const timestamp = now();
    expect((await deliver(reflex.id, reflex.secret, { kept: true }, { timestamp })).status).toBe(202);
    const rows = await t.admin.query<{ signature: string; expires_at: string }>(
      'select signature, expires_at from public.reflex_webhook_deliveries where reflex_id = $1',
      [reflex.id],
    );
    expect(rows.rows).toEqual([{ signature: expect.stringMatching(/^[0-9a-f]{64}$/), expires_at: expect.any(String) }]);
    expect(Date.parse(rows.rows[0]!.expires_at)).toBe((Number(timestamp) + 300) * 1000);
  });
});

describe('limits and tenancy', () => {
  test('a body over the limit is 413 and starts nothing', async () => {
    const reflex = await webhookReflex();
    const res = await deliver(reflex.id, reflex.secret, { text: 'x'.repeat(MAX_BODY) });
    expectProblem(res, 413);
    expect(await executionsOf(t, reflex.id)).toEqual([]);
  });

  test("organization B's secret never opens organization A's reflex, and each delivery runs in its own organization", async () => {
    const a = await webhookReflex();
    const b = await webhookReflex({ user: carol, org: orgB, skill: skillB });
    expectRefused(await deliver(a.id, b.secret, { a: 1 }));
    const res = await deliver(b.id, b.secret, { b: 1 });
    expect(res.status).toBe(202);
    const [execution] = await executionsOf(t, b.id);
    expect(execution).toEqual(expect.objectContaining({ organization_id: orgB, skill_id: skillB, user_id: carol.userId }));
    expect(await executionsOf(t, a.id)).toEqual([]);
  });

  test('signed-in users cannot read secrets or delivery records, not even their own', async () => {
    const reflex = await webhookReflex();
    const client = await t.admin.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: alice.userId, role: 'authenticated' })]);
      await client.query('set local role authenticated');
      await expect(client.query('select secret from public.reflex_secrets where reflex_id = $1', [reflex.id])).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      client.release();
    }
    const client2 = await t.admin.connect();
    try {
      await client2.query('begin');
      await client2.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: alice.userId, role: 'authenticated' })]);
      await client2.query('set local role authenticated');
      await expect(client2.query('select * from public.reflex_webhook_deliveries')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client2.query('rollback');
      client2.release();
    }
  });

  test('a member cannot fire a webhook reflex through the database function', async () => {
    const reflex = await webhookReflex();
    const client = await t.admin.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('request.jwt.claims', $1, true), set_config('app.organization_id', $2, true)", [
        JSON.stringify({ sub: alice.userId, role: 'authenticated' }),
        orgA,
      ]);
      await client.query('set local role authenticated');
      await expect(client.query("select app.fire_reflex($1, '{}'::jsonb)", [reflex.id])).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('signature helpers', () => {
  test('the tolerance window is inclusive on both sides', () => {
    expect(isFresh('1000', 300, 1_300_000)).toBe(true);
    expect(isFresh('1000', 300, 1_300_001)).toBe(false);
    expect(isFresh('1000', 300, 700_000)).toBe(true);
    expect(isFresh('1000', 300, 699_999)).toBe(false);
  });
  test('headers must have the documented form', () => {
    const digest = 'a'.repeat(64);
    expect(readSignatureHeaders(`sha256=${digest.toUpperCase()}`, '1700000000')).toEqual({ digest, timestamp: '1700000000' });
    expect(readSignatureHeaders(digest, '1700000000')).toBeUndefined();
    expect(readSignatureHeaders(`sha256=${digest}`, '17e8')).toBeUndefined();
    expect(readSignatureHeaders(`sha256=${digest}`, undefined)).toBeUndefined();
  });
  test('digests compare by value, and different lengths never match', () => {
    expect(digestsEqual('ab'.repeat(32), 'ab'.repeat(32))).toBe(true);
    expect(digestsEqual('ab'.repeat(32), 'ac'.repeat(32))).toBe(false);
    expect(digestsEqual('ab'.repeat(32), 'ab'.repeat(31))).toBe(false);
  });
});
