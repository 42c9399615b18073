import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { signatureHeaderValue } from '../src/reflexes/hooks/signature';
import { createReflex, createSkill, executionsOf } from './reflexes-fixtures';
import { createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// Webhook reflexes also take Standard Webhooks deliveries (webhook-id,
// webhook-timestamp, webhook-signature), signed by the standardwebhooks
// package exactly as a sender would. A message accepted once is a duplicate
// when it comes again (2xx, nothing runs); a forgery is a 401.

jest.setTimeout(120_000);

let t: TestApp;
let alice: TestUser;
let carol: TestUser;
let orgA: string;
let orgB: string;
let skillA: string;
let skillB: string;

beforeAll(async () => {
  t = createTestApp({ reflexWebhooks: { maxBodyBytes: 4096, toleranceSeconds: 300 } });
  alice = await newUser(t.app, 'std-alice');
  carol = await newUser(t.app, 'std-carol');
  orgA = await newOrganization(t.app, alice, 'Standard A');
  orgB = await newOrganization(t.app, carol, 'Standard B');
  skillA = await createSkill(t, orgA, alice);
  skillB = await createSkill(t, orgB, carol);
}, 120_000);
afterAll(() => t.close());

async function webhookReflex(user = alice, org = orgA, skill = skillA) {
  const created = await createReflex(t, user, org, { skillId: skill, triggerType: 'webhook', triggerConfig: { method: 'POST' } });
  return { id: created.id as string, secret: created.secret as string };
}

/** A delivery as a Standard Webhooks sender makes it (any of the headers may be overridden). */
function send(reflexId: string, secret: string, body: unknown, options: { id?: string; at?: Date; headers?: Record<string, string | undefined> } = {}) {
  const raw = JSON.stringify(body);
  const id = options.id ?? `msg_${randomUUID()}`;
  const at = options.at ?? new Date();
  const headers: Record<string, string | undefined> = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, raw),
    ...options.headers,
  };
  let req = request(t.app).post(`/api/v1/hooks/reflexes/${reflexId}`).set('Content-Type', 'application/json');
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) req = req.set(name, value);
  return req.send(raw);
}

describe('Standard Webhooks deliveries to a webhook reflex', () => {
  test('a reflex secret is taken as it is by the standardwebhooks package', async () => {
    const reflex = await webhookReflex();
    expect(reflex.secret).toMatch(/^whsec_[A-Za-z0-9]{43}$/);
    expect(() => new Webhook(reflex.secret)).not.toThrow();
  });

  test('a signed delivery starts one execution; its repeat (same webhook-id, signed again) is a duplicate', async () => {
    const reflex = await webhookReflex();
    const id = `msg_${randomUUID()}`;
    const first = await send(reflex.id, reflex.secret, { stage: 'deployed', run: 1 }, { id });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ matched: true, executionId: expect.any(String) });

    // The sender's retry: a later timestamp, so a new signature, same message.
    const retry = await send(reflex.id, reflex.secret, { stage: 'deployed', run: 1 }, { id, at: new Date(Date.now() + 2000) });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ matched: false, executionId: null, duplicate: true });
    // Exactly the same request again is a duplicate too.
    const again = await send(reflex.id, reflex.secret, { stage: 'deployed', run: 1 }, { id });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);

    const runs = await executionsOf(t, reflex.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: first.body.executionId, input: { stage: 'deployed', run: 1 } });
  });

  test('a forgery is a 401, even one that reuses an accepted message id', async () => {
    const reflex = await webhookReflex();
    const id = `msg_${randomUUID()}`;
    expect((await send(reflex.id, reflex.secret, { a: 1 }, { id })).status).toBe(202);
    const forger = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const forged = await send(reflex.id, forger, { a: 1 }, { id });
    expectProblem(forged, 401);
    expect(forged.body.detail).toBe('The delivery was not accepted.');
    expectProblem(await send(reflex.id, forger, { a: 2 }), 401);
    // A genuine signature over another body.
    const genuine = await send(reflex.id, reflex.secret, { a: 3 });
    expect(genuine.status).toBe(202);
    const at = new Date();
    const tampered = await send(reflex.id, reflex.secret, { a: 4 }, {
      at,
      headers: { 'webhook-id': 'msg_tampered', 'webhook-signature': new Webhook(reflex.secret).sign('msg_tampered', at, JSON.stringify({ a: 5 })) },
    });
    expectProblem(tampered, 401);
    expect(await executionsOf(t, reflex.id)).toHaveLength(2);
  });

  test('another reflex\'s secret does not sign for this one (a second organization\'s included)', async () => {
    const mine = await webhookReflex();
    const theirs = await webhookReflex(carol, orgB, skillB);
    expectProblem(await send(mine.id, theirs.secret, { x: 1 }), 401);
    expectProblem(await send(theirs.id, mine.secret, { x: 1 }), 401);
    expect(await executionsOf(t, mine.id)).toHaveLength(0);
    expect(await executionsOf(t, theirs.id)).toHaveLength(0);
  });

  test('timestamps outside the tolerance are refused, either side', async () => {
    const reflex = await webhookReflex();
    expectProblem(await send(reflex.id, reflex.secret, { old: true }, { at: new Date(Date.now() - 301_000) }), 401);
    expectProblem(await send(reflex.id, reflex.secret, { future: true }, { at: new Date(Date.now() + 301_000) }), 401);
    expect(await executionsOf(t, reflex.id)).toHaveLength(0);
  });

  test('a missing or malformed header is refused; several signatures are fine when one matches', async () => {
    const reflex = await webhookReflex();
    expectProblem(await send(reflex.id, reflex.secret, { a: 1 }, { headers: { 'webhook-signature': undefined } }), 401);
    expectProblem(await send(reflex.id, reflex.secret, { a: 1 }, { headers: { 'webhook-id': undefined } }), 401);
    expectProblem(await send(reflex.id, reflex.secret, { a: 1 }, { headers: { 'webhook-timestamp': 'yesterday' } }), 401);
    expectProblem(await send(reflex.id, reflex.secret, { a: 1 }, { headers: { 'webhook-signature': 'v2,abc' } }), 401);
    const at = new Date();
    const id = `msg_${randomUUID()}`;
    const good = new Webhook(reflex.secret).sign(id, at, JSON.stringify({ a: 1 }));
    const other = new Webhook(`whsec_${Buffer.alloc(32, 2).toString('base64')}`).sign(id, at, JSON.stringify({ a: 1 }));
    const res = await send(reflex.id, reflex.secret, { a: 1 }, { id, at, headers: { 'webhook-signature': `${other} ${good}` } });
    expect(res.status).toBe(202);
  });

  test('the older X-Reflex-Signature scheme keeps working beside it', async () => {
    const reflex = await webhookReflex();
    const raw = Buffer.from(JSON.stringify({ legacy: true }));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const res = await request(t.app)
      .post(`/api/v1/hooks/reflexes/${reflex.id}`)
      .set('Content-Type', 'application/json')
      .set('X-Reflex-Timestamp', timestamp)
      .set('X-Reflex-Signature', signatureHeaderValue(reflex.secret, timestamp, raw))
      .send(raw.toString());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ matched: true, executionId: expect.any(String) });
  });
});
