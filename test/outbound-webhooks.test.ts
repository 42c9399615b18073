import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createSecretBox, newSecretKey, parseSecretKey } from '../src/db/secret-box';
import { deliverDue, webhookDeliveryRetentionTask, type DeliveryAttempt } from '../src/webhooks/delivery';
import { resealWebhookSecrets } from '../src/webhooks/sealing';
import { DEFAULT_OUTBOUND_WEBHOOK_SETTINGS, type OutboundWebhookSettings } from '../src/webhooks/settings';
import { STRICT_TARGET_POLICY } from '../src/webhooks/targets';
import { addMember, as, createIsolatedTestApp, expectProblem, newOrganization, newUser, secretsKeys, testSecretBox, type TestApp, type TestUser } from './support/harness';

// Outbound webhooks (migration 027): endpoints registered by owners and
// admins, deliveries queued by the database with each activity event, sent by
// the delivery pass, signed per Standard Webhooks, retried and paused.
// The receivers listen on loopback, so this suite's app allows private targets
// and plain http; the refusals are proven with the strict defaults.

/** Loopback receivers over http; retries at 5 s and 5 min (time is moved forward in the database). */
const SETTINGS: OutboundWebhookSettings = {
  policy: { allowHttp: true, allowPrivate: true, allowedCidrs: [], allowedHosts: [] },
  timeoutMs: 2000,
  retryScheduleSeconds: [5, 300],
  autoPause: { afterFailures: 50, afterMs: 5 * 86_400_000 },
};

// Each test makes a dozen requests and a few passes; a loaded machine needs more than the default 30 s.
jest.setTimeout(120_000);

let t: TestApp;
let owner: TestUser;
let admin: TestUser;
let member: TestUser;
let outsider: TestUser;
let orgA: string;
let orgB: string;
const attempts: DeliveryAttempt[] = [];

beforeAll(async () => {
  t = await createIsolatedTestApp({}, { outboundWebhooks: SETTINGS });
  owner = await newUser(t.app, 'hooks-owner');
  admin = await newUser(t.app, 'hooks-admin');
  member = await newUser(t.app, 'hooks-member');
  outsider = await newUser(t.app, 'hooks-outsider');
  orgA = await newOrganization(t.app, owner, 'Hooks A');
  orgB = await newOrganization(t.app, outsider, 'Hooks B');
  await addMember(t, orgA, admin, 'admin');
  await addMember(t, orgA, member, 'member');
}, 120_000);
afterAll(() => t.close());
// Each test's endpoints go with it: a delivery pass claims every organization's due deliveries.
afterEach(async () => {
  await t.admin.query('delete from public.webhook_endpoints');
});

/** One pass of the delivery loop, as the background task runs it. */
function deliver(settings: Partial<OutboundWebhookSettings> = {}, secrets = testSecretBox()): Promise<number> {
  return deliverDue({
    pool: t.pool,
    statementTimeoutMs: 5000,
    secrets,
    settings: { ...SETTINGS, ...settings },
    concurrency: 20,
    random: () => 0.5,
    onAttempt: (attempt) => attempts.push(attempt),
  });
}

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on loopback that answers the n-th request (from 1) as `answer` says. */
async function receiver(answer: (n: number) => { status: number; body?: string; headers?: Record<string, string> }) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = answer(received.length);
      res.writeHead(reply.status, reply.headers ?? { 'content-type': 'text/plain' });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function register(user: TestUser, org: string, url: string, events: string[] = ['member.joined']) {
  const res = await as(t.app, user, org).post('/api/v1/webhooks').send({ name: 'Receiver', endpointUrl: url, events });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

/** A member.joined event in `org` (the membership trigger of 025 writes it), with a fresh user. */
async function someoneJoins(org: string): Promise<TestUser> {
  const user = await newUser(t.app, 'joiner');
  await addMember(t, org, user, 'member');
  return user;
}

async function deliveryRows(webhookId: string) {
  return (await t.admin.query('select * from public.webhook_deliveries where webhook_id = $1 order by created_at, id', [webhookId])).rows;
}

/** Moves the retry schedule forward: every pending delivery is due now. */
async function timePasses(): Promise<void> {
  await t.admin.query("update public.webhook_deliveries set next_attempt_at = now() where status = 'pending'");
}

describe('a receiver that fails twice, then succeeds', () => {
  test('gets the message three times with one webhook-id and valid signatures, and exactly one success is recorded', async () => {
    const hook = await receiver((n) => (n <= 2 ? { status: 500, body: 'not yet' } : { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const joiner = await someoneJoins(orgA);

      // Queued by the database in the transaction of the change.
      const queued = await deliveryRows(endpoint.id);
      expect(queued).toHaveLength(1);
      expect(queued[0]).toMatchObject({ status: 'pending', attempt_number: 0, event_type: 'member.joined' });

      attempts.length = 0;
      expect(await deliver()).toBe(1);
      let [row] = await deliveryRows(endpoint.id);
      expect(row).toMatchObject({ status: 'pending', attempt_number: 1, response_status: 500, response_body: 'not yet', lease_until: null });
      // The first retry is due about 5 s later (no sooner: nothing is due right now).
      const wait = new Date(row.next_attempt_at).getTime() - new Date(row.last_attempt_at).getTime();
      expect(wait).toBeGreaterThanOrEqual(4000);
      expect(wait).toBeLessThanOrEqual(6000);
      expect(await deliver()).toBe(0);

      await timePasses();
      expect(await deliver()).toBe(1);
      [row] = await deliveryRows(endpoint.id);
      expect(row).toMatchObject({ status: 'pending', attempt_number: 2, response_status: 500 });
      const secondWait = new Date(row.next_attempt_at).getTime() - new Date(row.last_attempt_at).getTime();
      expect(secondWait).toBeGreaterThanOrEqual(270_000);

      await timePasses();
      expect(await deliver()).toBe(1);
      [row] = await deliveryRows(endpoint.id);
      expect(row).toMatchObject({ status: 'success', attempt_number: 3, response_status: 200, response_body: '{"ok":true}', next_attempt_at: null });
      expect(row.completed_at).not.toBeNull();
      // Nothing more to send.
      await timePasses();
      expect(await deliver()).toBe(0);

      expect(hook.received).toHaveLength(3);
      const verifier = new Webhook(endpoint.secret);
      const ids = new Set(hook.received.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
      for (const request of hook.received) {
        expect(request.headers['content-type']).toBe('application/json');
        const payload = verifier.verify(request.body, request.headers as Record<string, string>) as Record<string, unknown>;
        expect(payload).toEqual({
          type: 'member.joined',
          timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
          data: { userId: joiner.userId, role: 'member' },
        });
      }
      expect(attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'success']);

      // The same story through the API.
      const log = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}/deliveries`).expect(200);
      expect(log.body).toMatchObject({ total: 1, data: [{ status: 'success', attemptNumber: 3, responseStatus: 200, eventType: 'member.joined', webhookId: endpoint.id }] });
      const one = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}/deliveries/${log.body.data[0].id}`).expect(200);
      expect(one.body).toMatchObject({ responseBody: '{"ok":true}', payload: { type: 'member.joined' }, messageId: hook.received[0]!.headers['webhook-id'] });
      expect(one.body.durationMs).toEqual(expect.any(Number));
      const webhook = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200);
      expect(webhook.body).toMatchObject({ consecutiveFailures: 0, failingSince: null, lastTriggeredAt: expect.any(String) });
      expect(webhook.body.secret).toBeUndefined();
    } finally {
      await hook.close();
    }
  });

  test('after the last retry the delivery fails for good', async () => {
    const hook = await receiver(() => ({ status: 503 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await someoneJoins(orgA);
      await deliver();
      await timePasses();
      await deliver();
      await timePasses();
      await deliver();
      const [row] = await deliveryRows(endpoint.id);
      expect(row).toMatchObject({ status: 'failed', attempt_number: 3, response_status: 503, next_attempt_at: null });
      await timePasses();
      expect(await deliver()).toBe(0);
      expect(hook.received).toHaveLength(3);
      const webhook = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200);
      expect(webhook.body).toMatchObject({ status: 'active', consecutiveFailures: 1, failingSince: expect.any(String) });
    } finally {
      await hook.close();
    }
  });

  test('a redirect is an answer, not followed and not a success', async () => {
    const elsewhere = await receiver(() => ({ status: 200 }));
    const hook = await receiver(() => ({ status: 307, headers: { location: elsewhere.url } }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await someoneJoins(orgA);
      await deliver();
      expect((await deliveryRows(endpoint.id))[0]).toMatchObject({ status: 'pending', response_status: 307 });
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      await Promise.all([hook.close(), elsewhere.close()]);
    }
  });

  test('a worker that died mid-attempt leaves a lease that expires, and the delivery is made by another', async () => {
    const hook = await receiver(() => ({ status: 204 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await someoneJoins(orgA);
      // A claim whose worker never reports back.
      await t.admin.query("update public.webhook_deliveries set lease_until = now() + interval '1 minute', attempt_number = 1 where webhook_id = $1", [endpoint.id]);
      expect(await deliver()).toBe(0);
      await t.admin.query("update public.webhook_deliveries set lease_until = now() - interval '1 second' where webhook_id = $1", [endpoint.id]);
      expect(await deliver()).toBe(1);
      expect((await deliveryRows(endpoint.id))[0]).toMatchObject({ status: 'success', attempt_number: 2, lease_until: null });
      expect(hook.received).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });
});

describe('what is queued', () => {
  test('only the events an endpoint asked for, of its own organization, while it is active', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const joins = await register(owner, orgA, hook.url, ['member.joined']);
      const leaves = await register(owner, orgA, hook.url, ['member.left']);
      const otherOrg = await register(outsider, orgB, hook.url, ['member.joined']);
      await someoneJoins(orgA);
      expect(await deliveryRows(joins.id)).toHaveLength(1);
      expect(await deliveryRows(leaves.id)).toHaveLength(0);
      expect(await deliveryRows(otherOrg.id)).toHaveLength(0);

      await as(t.app, owner, orgA).post(`/api/v1/webhooks/${joins.id}/pause`).expect(200);
      await someoneJoins(orgA);
      expect(await deliveryRows(joins.id)).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });

  test('a paused endpoint keeps its queued deliveries until it is resumed', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await someoneJoins(orgA);
      const paused = await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/pause`).expect(200);
      expect(paused.body).toMatchObject({ status: 'paused', statusReason: expect.stringContaining(owner.email), pausedAt: expect.any(String) });
      // Pausing twice changes nothing.
      await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/pause`).expect(200);
      expect(await deliver()).toBe(0);
      expect(hook.received).toHaveLength(0);

      const resumed = await as(t.app, admin, orgA).post(`/api/v1/webhooks/${endpoint.id}/resume`).expect(200);
      expect(resumed.body).toMatchObject({ status: 'active', statusReason: null, pausedAt: null });
      expect(await deliver()).toBe(1);
      expect(hook.received).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });
});

describe('test events and redeliveries', () => {
  test('a test event is queued, delivered and signed like any other', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(admin, orgA, hook.url);
      const queued = await as(t.app, admin, orgA).post(`/api/v1/webhooks/${endpoint.id}/test`).expect(202);
      expect(queued.body).toMatchObject({ status: 'pending', eventType: 'webhook.test', attemptNumber: 0, webhookId: endpoint.id });
      expect(queued.headers.location).toBe(`/api/v1/webhooks/${endpoint.id}/deliveries/${queued.body.id}`);
      await deliver();
      expect(hook.received).toHaveLength(1);
      const payload = new Webhook(endpoint.secret).verify(hook.received[0]!.body, hook.received[0]!.headers as Record<string, string>);
      expect(payload).toMatchObject({ type: 'webhook.test', data: { webhookId: endpoint.id } });
    } finally {
      await hook.close();
    }
  });

  test('a redelivery sends the same message (payload and webhook-id) again, as a delivery of its own', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await someoneJoins(orgA);
      await deliver();
      const [first] = await deliveryRows(endpoint.id);
      const again = await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/deliveries/${first.id}/redeliver`).expect(202);
      expect(again.body).toMatchObject({ status: 'pending', redeliveryOf: first.id, messageId: first.message_id, payload: first.payload, attemptNumber: 0 });
      expect(again.body.id).not.toBe(first.id);
      await deliver();
      expect(hook.received).toHaveLength(2);
      expect(hook.received[1]!.headers['webhook-id']).toBe(hook.received[0]!.headers['webhook-id']);
      expect(hook.received[1]!.body).toBe(hook.received[0]!.body);
      const successes = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}/deliveries?status=success`).expect(200);
      expect(successes.body.total).toBe(2);
      const pending = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}/deliveries?status=pending`).expect(200);
      expect(pending.body.total).toBe(0);
    } finally {
      await hook.close();
    }
  });

  test('a rotated secret signs from the next attempt on; the old one no longer verifies', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      const rotated = await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/rotate-secret`).expect(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(endpoint.secret);
      await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/test`).expect(202);
      await deliver();
      const [request] = hook.received;
      expect(() => new Webhook(rotated.body.secret).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();
      expect(() => new Webhook(endpoint.secret).verify(request!.body, request!.headers as Record<string, string>)).toThrow();
      // Stored sealed, never in the clear.
      const stored = await t.admin.query('select secret from public.webhook_endpoints where id = $1', [endpoint.id]);
      expect(stored.rows[0].secret).toMatch(/^enc:v1:/);
    } finally {
      await hook.close();
    }
  });
});

describe('signing secrets at rest', () => {
  test('a key rotation reseals them under the new key, and deliveries still verify with the same secret', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      const rotated = createSecretBox([parseSecretKey(newSecretKey()), parseSecretKey(secretsKeys())]);
      expect(await resealWebhookSecrets({ pool: t.pool, statementTimeoutMs: 5000 }, rotated)).toBe(1);
      expect(await resealWebhookSecrets({ pool: t.pool, statementTimeoutMs: 5000 }, rotated)).toBe(0);
      const stored = await t.admin.query('select secret from public.webhook_endpoints where id = $1', [endpoint.id]);
      expect(stored.rows[0].secret.startsWith(`enc:v1:${rotated.currentKeyId}:`)).toBe(true);
      await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/test`).expect(202);
      await deliver({}, rotated);
      const [request] = hook.received;
      expect(() => new Webhook(endpoint.secret).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();
    } finally {
      await hook.close();
    }
  });

  test('a secret no configured key opens fails the attempt with a reason, and is retried', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/test`).expect(202);
      await deliver({}, createSecretBox([parseSecretKey(newSecretKey())]));
      expect((await deliveryRows(endpoint.id))[0]).toMatchObject({ status: 'pending', attempt_number: 1, error_message: expect.stringMatching(/SECRETS_ENCRYPTION_KEYS/) });
      expect(hook.received).toHaveLength(0);
    } finally {
      await hook.close();
    }
  });
});

describe('the delivery log', () => {
  test('keeps finished deliveries for 30 days; pending ones stay whatever their age', async () => {
    const endpoint = await register(owner, orgA, 'https://93.184.216.34/hook');
    await someoneJoins(orgA);
    await someoneJoins(orgA);
    await someoneJoins(orgA);
    const [old, recent, pending] = await deliveryRows(endpoint.id);
    await t.admin.query(
      `update public.webhook_deliveries set status = 'success', next_attempt_at = null, completed_at = now() - interval '31 days' where id = $1`,
      [old.id],
    );
    await t.admin.query(
      `update public.webhook_deliveries set status = 'failed', next_attempt_at = null, completed_at = now() - interval '29 days' where id = $1`,
      [recent.id],
    );
    await t.admin.query(`update public.webhook_deliveries set created_at = now() - interval '90 days' where id = $1`, [pending.id]);
    const task = webhookDeliveryRetentionTask({ pool: t.pool, statementTimeoutMs: 5000 });
    expect(await task.tick()).toBe(false);
    expect((await deliveryRows(endpoint.id)).map((row) => row.id).sort()).toEqual([recent.id, pending.id].sort());
  });
});

describe('an endpoint that keeps failing', () => {
  test('is paused automatically, with a reason, an audit entry and a webhook.paused event', async () => {
    const hook = await receiver(() => ({ status: 500 }));
    const watcher = await receiver(() => ({ status: 200 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      const watching = await register(owner, orgA, watcher.url, ['webhook.paused']);
      // No retries and a pause after two deliveries that failed for good.
      const strict = { retryScheduleSeconds: [], autoPause: { afterFailures: 2, afterMs: 5 * 86_400_000 } };
      await someoneJoins(orgA);
      await deliver(strict);
      expect((await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200)).body).toMatchObject({ status: 'active', consecutiveFailures: 1 });
      await someoneJoins(orgA);
      await deliver(strict);
      const paused = (await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200)).body;
      expect(paused).toMatchObject({ status: 'paused', consecutiveFailures: 2, statusReason: expect.stringMatching(/^Paused automatically: 2 deliveries/) });

      const audit = await t.admin.query(
        "select event_type, metadata from public.audit_log where target_id = $1 and event_type = 'integration.disconnected'",
        [endpoint.id],
      );
      expect(audit.rows).toEqual([{ event_type: 'integration.disconnected', metadata: { reason: paused.statusReason } }]);
      const events = await t.admin.query("select data from public.activity_events where type = 'webhook.paused' and subject_id = $1", [endpoint.id]);
      expect(events.rows).toEqual([{ data: expect.objectContaining({ id: endpoint.id, automatic: true, reason: paused.statusReason }) }]);
      // The notice reaches the endpoints that asked for it.
      await deliver(strict);
      expect(watcher.received.map((r) => JSON.parse(r.body).type)).toEqual(['webhook.paused']);
      expect(await deliveryRows(watching.id)).toHaveLength(1);

      // Owners and admins read the notice in the activity stream's table; members do not see the endpoint's events.
      const resumed = await as(t.app, owner, orgA).post(`/api/v1/webhooks/${endpoint.id}/resume`).expect(200);
      expect(resumed.body).toMatchObject({ status: 'active', consecutiveFailures: 0, failingSince: null });
    } finally {
      await Promise.all([hook.close(), watcher.close()]);
    }
  });

  test('or when its attempts have failed for days', async () => {
    const hook = await receiver(() => ({ status: 500 }));
    try {
      const endpoint = await register(owner, orgA, hook.url);
      await t.admin.query("update public.webhook_endpoints set failing_since = now() - interval '6 days' where id = $1", [endpoint.id]);
      await someoneJoins(orgA);
      await deliver({ retryScheduleSeconds: [] });
      const paused = (await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200)).body;
      expect(paused).toMatchObject({ status: 'paused', statusReason: expect.stringMatching(/over 6 days/) });
    } finally {
      await hook.close();
    }
  });
});

describe('SSRF', () => {
  // The defaults: https only, public addresses only.
  let strict: ReturnType<TestApp['variant']> | undefined;
  const strictApp = () => (strict ??= t.variant({ outboundWebhooks: DEFAULT_OUTBOUND_WEBHOOK_SETTINGS }));

  test('with the defaults, internal and plain-http targets are refused at registration (422 webhook_target_refused)', async () => {
    for (const url of [
      'http://127.0.0.1:9/hook',
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.1/hook',
      'https://192.168.1.1/hook',
      'https://100.64.0.1/hook',
      'https://[fd00::1]/hook',
      'https://[fe80::1]/hook',
      'https://0.0.0.0/hook',
      'https://224.0.0.1/hook',
    ]) {
      const res = await as(strictApp(), owner, orgA).post('/api/v1/webhooks').send({ name: 'Inside', endpointUrl: url, events: ['member.joined'] });
      expectProblem(res, 422);
      expect({ url, code: res.body.code, field: res.body.errors?.[0]?.path }).toEqual({ url, code: 'webhook_target_refused', field: '/body/endpointUrl' });
    }
    expect((await t.admin.query('select count(*)::int as n from public.webhook_endpoints')).rows[0].n).toBe(0);
  });

  test('a URL changed to an internal one is refused too', async () => {
    const endpoint = await register(owner, orgA, 'https://93.184.216.34/hook');
    const res = await as(strictApp(), owner, orgA).patch(`/api/v1/webhooks/${endpoint.id}`).send({ endpointUrl: 'https://127.0.0.1/' });
    expectProblem(res, 422);
    expect(res.body.code).toBe('webhook_target_refused');
  });

  test('even the operator setting never allows the cloud metadata address', async () => {
    const res = await as(t.app, owner, orgA).post('/api/v1/webhooks').send({ name: 'Meta', endpointUrl: 'http://169.254.169.254/', events: ['member.joined'] });
    expectProblem(res, 422);
  });

  test('at delivery, the address is checked again: a target that is now refused is never connected to', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      // Registered while private targets were allowed; the operator has since turned that off.
      const endpoint = await register(owner, orgA, hook.url);
      await someoneJoins(orgA);
      await deliver({ policy: { ...STRICT_TARGET_POLICY, allowHttp: true } });
      const [row] = await deliveryRows(endpoint.id);
      expect(row).toMatchObject({ status: 'pending', attempt_number: 1, response_status: null, error_message: expect.stringMatching(/loopback/) });
      expect(hook.received).toHaveLength(0);
    } finally {
      await hook.close();
    }
  });

  test('at delivery, the name is resolved once and the connection pinned to the checked address', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    try {
      const port = new URL(hook.url).port;
      const endpoint = await register(owner, orgA, hook.url);
      // A name only this pass's resolver knows.
      await t.admin.query('update public.webhook_endpoints set endpoint_url = $2 where id = $1', [endpoint.id, `http://receiver.example.test:${port}/hook`]);
      await someoneJoins(orgA);
      let lookups = 0;
      // A resolver that answers loopback the first time and a metadata address after (a rebinding attempt).
      const rebinding = async () => {
        lookups += 1;
        return [{ address: lookups === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
      };
      await deliver({ resolve: rebinding });
      expect(lookups).toBe(1);
      expect((await deliveryRows(endpoint.id))[0]).toMatchObject({ status: 'success' });
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]!.headers.host).toBe(`receiver.example.test:${port}`);
    } finally {
      await hook.close();
    }
  });
});

describe('who may manage webhooks', () => {
  test('owners and admins; members get 403', async () => {
    const endpoint = await register(owner, orgA, 'https://93.184.216.34/hook');
    await as(t.app, admin, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200);
    expectProblem(await as(t.app, member, orgA).get('/api/v1/webhooks'), 403);
    expectProblem(await as(t.app, member, orgA).get(`/api/v1/webhooks/${endpoint.id}`), 403);
    expectProblem(await as(t.app, member, orgA).post('/api/v1/webhooks').send({ name: 'Mine', endpointUrl: 'https://93.184.216.34/', events: ['member.joined'] }), 403);
    expectProblem(await as(t.app, member, orgA).post(`/api/v1/webhooks/${endpoint.id}/pause`), 403);
    expectProblem(await as(t.app, member, orgA).delete(`/api/v1/webhooks/${endpoint.id}`), 403);
    expectProblem(await as(t.app, member, orgA).get(`/api/v1/webhooks/${endpoint.id}/deliveries`), 403);
  });

  test('a second organization cannot read, list, change, test, redeliver or delete another one\'s endpoint (404)', async () => {
    const endpoint = await register(owner, orgA, 'https://93.184.216.34/hook');
    await someoneJoins(orgA);
    const [delivery] = await deliveryRows(endpoint.id);
    const other = as(t.app, outsider, orgB);
    expect((await other.get('/api/v1/webhooks').expect(200)).body.data).toEqual([]);
    expectProblem(await other.get(`/api/v1/webhooks/${endpoint.id}`), 404);
    expectProblem(await other.patch(`/api/v1/webhooks/${endpoint.id}`).send({ name: 'Taken' }), 404);
    expectProblem(await other.post(`/api/v1/webhooks/${endpoint.id}/pause`), 404);
    expectProblem(await other.post(`/api/v1/webhooks/${endpoint.id}/resume`), 404);
    expectProblem(await other.post(`/api/v1/webhooks/${endpoint.id}/rotate-secret`), 404);
    expectProblem(await other.post(`/api/v1/webhooks/${endpoint.id}/test`), 404);
    expectProblem(await other.get(`/api/v1/webhooks/${endpoint.id}/deliveries`), 404);
    expectProblem(await other.get(`/api/v1/webhooks/${endpoint.id}/deliveries/${delivery.id}`), 404);
    expectProblem(await other.post(`/api/v1/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`), 404);
    expectProblem(await other.delete(`/api/v1/webhooks/${endpoint.id}`), 404);
    // Naming the other organization in the header does not help an outsider either.
    expect([403, 404]).toContain((await as(t.app, outsider, orgA).get(`/api/v1/webhooks/${endpoint.id}`)).status);
    const unchanged = await as(t.app, owner, orgA).get(`/api/v1/webhooks/${endpoint.id}`).expect(200);
    expect(unchanged.body).toMatchObject({ name: 'Receiver', status: 'active' });
    expect(await deliveryRows(endpoint.id)).toHaveLength(1);
  });
});

describe('the endpoint resource', () => {
  test('create, list, change, delete; a secret of your own is kept', async () => {
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const created = await as(t.app, owner, orgA)
      .post('/api/v1/webhooks')
      .send({ name: 'Own secret', endpointUrl: 'https://93.184.216.34/in', events: ['execution.completed', 'invoice.paid'], secret })
      .expect(201);
    expect(created.headers.location).toBe(`/api/v1/webhooks/${created.body.id}`);
    expect(created.body).toMatchObject({
      name: 'Own secret',
      endpointUrl: 'https://93.184.216.34/in',
      events: ['execution.completed', 'invoice.paid'],
      status: 'active',
      secret,
      organizationId: orgA,
      createdBy: owner.userId,
      lastTriggeredAt: null,
    });
    const list = await as(t.app, owner, orgA).get('/api/v1/webhooks?status=active').expect(200);
    expect(list.body).toMatchObject({ total: 1, data: [{ id: created.body.id }] });
    expect(list.body.data[0].secret).toBeUndefined();
    expect((await as(t.app, owner, orgA).get('/api/v1/webhooks?status=paused').expect(200)).body.total).toBe(0);

    const changed = await as(t.app, owner, orgA).patch(`/api/v1/webhooks/${created.body.id}`).send({ name: 'Renamed', events: ['member.left'] }).expect(200);
    expect(changed.body).toMatchObject({ name: 'Renamed', events: ['member.left'], endpointUrl: 'https://93.184.216.34/in' });

    await as(t.app, owner, orgA).delete(`/api/v1/webhooks/${created.body.id}`).expect(204);
    expectProblem(await as(t.app, owner, orgA).get(`/api/v1/webhooks/${created.body.id}`), 404);
    const audit = await t.admin.query('select event_type from public.audit_log where target_id = $1 order by created_at', [created.body.id]);
    expect(audit.rows.map((r) => r.event_type)).toEqual(['integration.connected', 'integration.disconnected']);
  });

  test('bad input is a 400 problem, never a 500', async () => {
    const post = (body: unknown) => as(t.app, owner, orgA).post('/api/v1/webhooks').send(body as object);
    expectProblem(await post({ name: 'x', endpointUrl: 'https://93.184.216.34/', events: ['no.such.event'] }), 400);
    expectProblem(await post({ name: 'x', endpointUrl: 'https://93.184.216.34/', events: [] }), 400);
    expectProblem(await post({ name: 'x', endpointUrl: 'https://93.184.216.34/', events: ['member.joined'], secret: 'plain' }), 400);
    expectProblem(await post({ name: ' ', endpointUrl: 'https://93.184.216.34/', events: ['member.joined'] }), 400);
    expectProblem(await post({ name: 'x', endpointUrl: 'https://93.184.216.34/', events: ['member.joined'], extra: 1 }), 400);
    expectProblem(await as(t.app, owner, orgA).patch('/api/v1/webhooks/not-a-uuid').send({ name: 'y' }), 400);
    expectProblem(await as(t.app, owner, orgA).patch(`/api/v1/webhooks/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`).send({}), 400);
    const res = await post({ name: 'x', endpointUrl: 'not a url', events: ['member.joined'] });
    expectProblem(res, 422);
    expect(res.body.code).toBe('webhook_target_refused');
  });
});
