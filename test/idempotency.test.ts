import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import { loadConfig } from '../src/config';
import { loadContract } from '../src/http/contract';
import { takesIdempotencyKey } from '../src/idempotency/contract';
import { idempotencyPurgeTask } from '../src/idempotency/purge';
import { createSkillRunner } from '../src/skills/runner';
import { as, createTestApp, expectProblem, newOrganization, newUser, token, type TestApp, type TestUser } from './support/harness';

// Idempotency-Key on the creating POSTs: a retry replays, a reuse for another
// request is refused, a duplicate sent while the first runs is refused, and
// concurrent duplicates do the work once.

let t: TestApp;
/** The same app with `?wait=true` holding a request for 1.5 s (no worker runs here, so it always holds that long). */
let holding: Express;
let alice: TestUser;
let bob: TestUser;
let orgA: string;
let orgB: string;
let skillId: string;

const key = () => randomUUID();
const sha256 = (text: string) => createHash('sha256').update(text).digest();

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await t.admin.query<{ n: number }>(sql, params)).rows[0]!.n;
}
const projectsNamed = (name: string) => count('select count(*)::int as n from public.projects where name = $1', [name]);
const executionsOfSkill = () => count('select count(*)::int as n from public.skill_executions where skill_id = $1', [skillId]);
const recordsOfKey = (value: string) => count('select count(*)::int as n from public.idempotency_keys where key_hash = $1', [sha256(value)]);

beforeAll(async () => {
  t = createTestApp();
  holding = t.variant({ skills: { runner: createSkillRunner(loadConfig({})), executeWaitMaxMs: 1500 } });
  alice = await newUser(t.app, 'idem-alice');
  bob = await newUser(t.app, 'idem-bob');
  orgA = await newOrganization(t.app, alice, 'Idempotent A');
  orgB = await newOrganization(t.app, bob, 'Idempotent B');
  skillId = (
    await as(t.app, alice, orgA)
      .post('/api/v1/skills')
      .send({ name: 'Echo', promptTemplate: 'Echo {{text}} back.', inputSchema: [{ name: 'text', type: 'string', required: true }] })
      .expect(201)
  ).body.id;
}, 60_000);
afterAll(() => t.close());

describe('the contract', () => {
  // Every POST that is not marked x-idempotent: false (and is not open to anyone) takes the key: a new one does by
  // default. Marking one false is a decision this list makes visible.
  const NOT_KEYED = [
    'activateHabit', 'activateReflex', 'bulkSkills', 'cancelCurrentIngestion', 'cancelExecution', 'cancelIngestion',
    'cancelSubscription', 'claimIngestion', 'confirmTwoFactor',
    // createStreamTicket: each call issues a new single-use secret; a replayed answer would hand out a spent one.
    'createStreamTicket', 'deactivateHabit', 'deactivateReflex',
    // eraseMyAccount: a retry after success finds no account, and a kept answer would be data about the erased person.
    // markAllNotificationsRead: marking read twice leaves the same state; a retry finds nothing left unread.
    'disableTwoFactor', 'enrollTwoFactor', 'eraseMyAccount', 'finishOAuth', 'markAllNotificationsRead', 'markInvoicePaid',
    // pauseWebhook, resumeWebhook: switches; the second call finds the state already set and answers it.
    'pauseWebhook', 'receiveReflexWebhook', 'receiveStripeWebhook',
    'recordAnalyticsEvents', 'refreshSession', 'resetHabitErrors', 'resetReflexErrors', 'resumeSubscription', 'resumeWebhook',
    'revokeApiKey', 'setDefaultPaymentMethod', 'signIn', 'signOut', 'signUp', 'testReflex', 'testSkill',
    'testSkillConfiguration', 'validateBtwNumber', 'validateHabitCron', 'validateProjectName',
    'validateProjectRepository', 'validateRepositoryUrl', 'verifyMfaChallenge',
  ];
  const KEY_PARAMETER = '#/components/parameters/IdempotencyKey';
  type Operation = { operationId: string; parameters?: Array<{ $ref?: string }>; responses: Record<string, { headers?: Record<string, unknown> }> };

  function posts(): Array<{ operation: Operation; keyed: boolean }> {
    return Object.values(loadContract().paths ?? {}).flatMap((item) => {
      const operation = (item as { post?: Operation }).post;
      return operation ? [{ operation, keyed: takesIdempotencyKey('post', operation as never) }] : [];
    });
  }

  test('every POST that takes the key documents it and the replay header; the others do not mention it', () => {
    for (const { operation, keyed } of posts()) {
      const declares = (operation.parameters ?? []).some((p) => p.$ref === KEY_PARAMETER);
      expect({ operation: operation.operationId, declares }).toEqual({ operation: operation.operationId, declares: keyed });
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!status.startsWith('2')) continue;
        const documented = Boolean(response.headers?.['Idempotent-Replayed']);
        expect({ operation: operation.operationId, status, documented }).toEqual({ operation: operation.operationId, status, documented: keyed });
      }
    }
  });

  test('the POSTs without a key are exactly the reviewed list of checks, dry runs, switches and signed webhooks', () => {
    const without = posts().filter((p) => !p.keyed).map((p) => p.operation.operationId).sort();
    expect(without).toEqual(NOT_KEYED);
    // The creating ones the product names are covered.
    const keyed = posts().filter((p) => p.keyed).map((p) => p.operation.operationId);
    expect(keyed).toEqual(
      expect.arrayContaining([
        'createOrganization', 'createProject', 'createRepository', 'registerProjectFile', 'executeSkill', 'emitEvent', 'addPaymentMethod',
        'importSkills', 'importPublicSkill', 'createInvitations', 'addProjectMember', 'addOrganizationMember', 'createHabit', 'createReflex',
        'changeSubscription', 'createCheckoutSession', 'startIngestion', 'retryExecution', 'runHabitNow',
      ]),
    );
  });
});

describe('a retry with the same key', () => {
  test('replays the first answer (status, body, Location) and creates nothing new', async () => {
    const k = key();
    const name = `Replayed ${k.slice(0, 8)}`;
    const first = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name, type: 'manual', privacy: 'shared' }).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // The same body with its fields in another order is the same request.
    const again = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ privacy: 'shared', type: 'manual', name }).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(await projectsNamed(name)).toBe(1);
    // Without a key the same body is a new request (and here a duplicate name).
    expectProblem(await as(t.app, alice, orgA).post('/api/v1/projects').send({ name, type: 'manual' }), 409);
  });

  test('is kept encrypted: the record holds neither the key nor the body in the clear', async () => {
    const k = key();
    const name = `Sealed ${k.slice(0, 8)}`;
    const created = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name, type: 'manual' }).expect(201);
    const record = (await t.admin.query('select * from public.idempotency_keys where key_hash = $1', [sha256(k)])).rows[0];
    expect(record).toMatchObject({ organization_id: orgA, user_id: alice.userId, response_status: 201, reservation: null, locked_until: null });
    expect(record.response_headers).toEqual({ 'content-type': expect.stringMatching(/^application\/json/), location: created.headers.location });
    const stored = Buffer.from(record.response_body);
    expect(stored.includes(Buffer.from(created.body.id))).toBe(false);
    expect(stored.includes(Buffer.from(name))).toBe(false);
    expect(JSON.stringify(record).includes(k)).toBe(false);
  });

  test('with a different body, path or query is a 422 idempotency_key_reused, and does nothing', async () => {
    const k = key();
    const name = `Reused ${k.slice(0, 8)}`;
    await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name, type: 'manual' }).expect(201);
    const other = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name: `${name} 2`, type: 'manual' });
    expectProblem(other, 422);
    expect(other.body.code).toBe('idempotency_key_reused');
    expect(await projectsNamed(`${name} 2`)).toBe(0);
    const elsewhere = await as(t.app, alice, orgA).post('/api/v1/skills').set('Idempotency-Key', k).send({ name, promptTemplate: 'Say {{x}} again.' });
    expectProblem(elsewhere, 422);
    expect(elsewhere.body.code).toBe('idempotency_key_reused');

    const run = key();
    await as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', run).send({ input: { text: 'q' } }).expect(202);
    const waiting = await as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute?wait=true`).set('Idempotency-Key', run).send({ input: { text: 'q' } });
    expect(waiting.body.code).toBe('idempotency_key_reused');
  });

  test('after 24 hours runs again', async () => {
    const k = key();
    const send = () => as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k).send({ input: { text: 'later' } });
    const before = await executionsOfSkill();
    const first = await send().expect(202);
    expect((await send().expect(202)).headers['idempotent-replayed']).toBe('true');
    expect(await executionsOfSkill()).toBe(before + 1);
    await t.admin.query(`update public.idempotency_keys set created_at = now() - interval '24 hours 1 minute' where key_hash = $1`, [sha256(k)]);
    const later = await send().expect(202);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.body.id).not.toBe(first.body.id);
    expect(await executionsOfSkill()).toBe(before + 2);
    // ... and the new answer is the one kept now.
    expect((await send().expect(202)).body.id).toBe(later.body.id);
    expect(await recordsOfKey(k)).toBe(1);
  });
});

test('the background purge deletes records past their 24 hours and keeps the others', async () => {
  const [old, fresh] = [key(), key()];
  for (const k of [old, fresh]) {
    await as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k).send({ input: { text: 'purge' } }).expect(202);
  }
  await t.admin.query(`update public.idempotency_keys set created_at = now() - interval '25 hours' where key_hash = $1`, [sha256(old)]);
  const task = idempotencyPurgeTask({ pool: t.pool, statementTimeoutMs: 5000 });
  expect(task.name).toBe('idempotency-keys');
  await task.tick();
  expect(await recordsOfKey(old)).toBe(0);
  expect(await recordsOfKey(fresh)).toBe(1);
});

describe('while the first request still runs', () => {
  test('a duplicate is a 409 idempotency_key_in_use with Retry-After; once it ended, the retry replays it', async () => {
    const k = key();
    const before = await executionsOfSkill();
    const send = () => as(holding, alice, orgA).post(`/api/v1/skills/${skillId}/execute?wait=true`).set('Idempotency-Key', k).send({ input: { text: 'slow' } });
    const first = send().then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const duplicate = await send();
    expectProblem(duplicate, 409);
    expect(duplicate.body.code).toBe('idempotency_key_in_use');
    expect(duplicate.headers['retry-after']).toBe('1');
    const answered = await first;
    expect(answered.status).toBe(202);
    const retried = await send();
    expect(retried.status).toBe(202);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.body.id).toBe(answered.body.id);
    expect(retried.headers.location).toBe(`/api/v1/executions/${answered.body.id}`);
    expect(await executionsOfSkill()).toBe(before + 1);
  });

  test('a reservation whose holder stopped answering (its lease ran out) is taken over by the retry', async () => {
    const k = key();
    const before = await executionsOfSkill();
    const send = () => as(holding, alice, orgA).post(`/api/v1/skills/${skillId}/execute?wait=true`).set('Idempotency-Key', k).send({ input: { text: 'lost' } });
    const first = send().then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // As if the server running the first request had died.
    await t.admin.query(`update public.idempotency_keys set locked_until = now() - interval '1 second' where key_hash = $1`, [sha256(k)]);
    const second = await send();
    expect(second.status).toBe(202);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    const firstAnswer = await first;
    expect(firstAnswer.body.id).not.toBe(second.body.id);
    expect(await executionsOfSkill()).toBe(before + 2);
    // The record is the second request's: the first could not overwrite what it no longer held.
    expect((await send()).body.id).toBe(second.body.id);
  });
});

describe('concurrent duplicates', () => {
  test('10 identical skill runs at once: one execution; every other answer a 409 or a replay of it', async () => {
    const k = key();
    const before = await executionsOfSkill();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k).send({ input: { text: 'once' } }),
      ),
    );
    expect(await executionsOfSkill()).toBe(before + 1);
    const created = answers.filter((res) => res.status === 202);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((res) => res.body.id)).size).toBe(1);
    expect(created.filter((res) => res.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    for (const res of answers.filter((r) => r.status !== 202)) {
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('idempotency_key_in_use');
    }
  });

  test('10 identical project creations at once: one project', async () => {
    const k = key();
    const name = `Concurrent ${k.slice(0, 8)}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name, type: 'manual' })),
    );
    expect(await projectsNamed(name)).toBe(1);
    expect(answers.map((res) => res.status).every((status) => status === 201 || status === 409)).toBe(true);
    expect(new Set(answers.filter((res) => res.status === 201).map((res) => res.body.id)).size).toBe(1);
    expect(answers.filter((res) => res.status === 409).every((res) => res.body.code === 'idempotency_key_in_use')).toBe(true);
  });
});

describe('keys belong to a caller in an organization', () => {
  test('another organization, or another member, with the same key runs its own request', async () => {
    const k = key();
    const mine = await as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k).send({ input: { text: 'x' } }).expect(202);
    // Bob's organization: its own skill, the same key.
    const bobSkill = (await as(t.app, bob, orgB).post('/api/v1/skills').send({ name: 'Echo', promptTemplate: 'Echo {{text}} back.' }).expect(201)).body.id;
    const theirs = await as(t.app, bob, orgB).post(`/api/v1/skills/${bobSkill}/execute`).set('Idempotency-Key', k).send({ input: { text: 'x' } }).expect(202);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.body.id).not.toBe(mine.body.id);
    // The very request Alice sent (same path, body and key) is not a replay of hers for Bob: her skill is not his to see.
    const k3 = key();
    const hers = await as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k3).send({ input: { text: 'y' } }).expect(202);
    const his = await as(t.app, bob, orgB).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k3).send({ input: { text: 'y' } });
    expectProblem(his, 404);
    expect(JSON.stringify(his.body)).not.toContain(hers.body.id);
    // Alice in her personal organization: the same key is free there.
    const k2 = key();
    const name = `Per organization ${k2.slice(0, 8)}`;
    const inA = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k2).send({ name, type: 'manual' }).expect(201);
    const inPersonal = await as(t.app, alice, alice.personalOrganizationId).post('/api/v1/projects').set('Idempotency-Key', k2).send({ name, type: 'manual' }).expect(201);
    expect(inPersonal.headers['idempotent-replayed']).toBeUndefined();
    expect(inPersonal.body.id).not.toBe(inA.body.id);
    expect(await recordsOfKey(k2)).toBe(2);
  });

  test("a back-office caller's keys are its own, per organization named", async () => {
    const k = key();
    const service = token('', { role: 'service_role' });
    const send = () =>
      request(t.app)
        .post(`/api/v1/skills/${skillId}/execute`)
        .set('Authorization', `Bearer ${service}`)
        .set('X-Organization-Id', orgA)
        .set('Idempotency-Key', k)
        .send({ input: { text: 'from the back office' } });
    const before = await executionsOfSkill();
    const first = await send().expect(202);
    const again = await send().expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await executionsOfSkill()).toBe(before + 1);
    expect((await t.admin.query('select organization_id, user_id from public.idempotency_keys where key_hash = $1', [sha256(k)])).rows).toEqual([
      { organization_id: orgA, user_id: null },
    ]);
  });

  test('a record is visible to its caller only, in its organization (row level security)', async () => {
    const k = key();
    await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name: `Visible ${k.slice(0, 8)}`, type: 'manual' }).expect(201);
    const client = await t.pool.connect();
    try {
      const seenBy = async (user: TestUser, organizationId: string) => {
        await client.query('begin');
        await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user.userId, role: 'authenticated' })]);
        await client.query('set local role authenticated');
        await client.query('select * from app.begin_request($1)', [organizationId]);
        const rows = (await client.query('select count(*)::int as n from public.idempotency_keys where key_hash = $1', [sha256(k)])).rows[0].n;
        await client.query('rollback');
        return rows;
      };
      expect(await seenBy(alice, orgA)).toBe(1);
      expect(await seenBy(bob, orgB)).toBe(0);
    } finally {
      client.release();
    }
  });
});

describe('what is kept', () => {
  test("the operation's own refusal (a 400 of its input rules) is kept and replayed; the body fixed under the same key is a reuse", async () => {
    const k = key();
    const send = (input: Record<string, unknown>) => as(t.app, alice, orgA).post(`/api/v1/skills/${skillId}/execute`).set('Idempotency-Key', k).send({ input });
    const refused = await send({});
    expectProblem(refused, 400);
    const again = await send({});
    expectProblem(again, 400);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(refused.body);
    expect((await send({ text: 'fixed' })).body.code).toBe('idempotency_key_reused');
  });

  test('a request the contract refuses keeps nothing: the fixed body runs under the same key', async () => {
    const k = key();
    const name = `Contract ${k.slice(0, 8)}`;
    expectProblem(await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name, type: 'nonsense' }), 400);
    expect(await recordsOfKey(k)).toBe(0);
    const created = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', k).send({ name, type: 'manual' }).expect(201);
    expect(created.headers['idempotent-replayed']).toBeUndefined();
  });

  test('a 5xx frees the key: the retry runs again', async () => {
    const k = key();
    const checkout = () => as(t.app, alice, orgA).post('/api/v1/billing/checkout').set('Idempotency-Key', k).send({ planId: 'pro', billingInterval: 'monthly' });
    expectProblem(await checkout(), 503); // payments are not configured here
    expect(await recordsOfKey(k)).toBe(0);
    const retried = await checkout();
    expectProblem(retried, 503);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('bad keys', () => {
  test.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
  ])('%s: 400, and nothing is created', async (_label, value) => {
    const name = `Bad key ${randomUUID().slice(0, 8)}`;
    const res = await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', value).send({ name, type: 'manual' });
    expectProblem(res, 400);
    expect(res.body.code).toBe('validation_failed');
    expect(await projectsNamed(name)).toBe(0);
  });

  test('255 printable characters are a good key', async () => {
    const value = `${randomUUID()} ~!"#`.padEnd(255, 'x');
    await as(t.app, alice, orgA).post('/api/v1/projects').set('Idempotency-Key', value).send({ name: `Long key ${value.slice(0, 8)}`, type: 'manual' }).expect(201);
  });

  test('an operation that takes no key ignores the header', async () => {
    await as(t.app, alice, orgA).post('/api/v1/projects/validate-name').set('Idempotency-Key', '').send({ name: 'Anything at all' }).expect(200);
    await request(t.app)
      .post('/api/v1/habits/validate-cron')
      .set('Authorization', `Bearer ${alice.token}`)
      .set('Idempotency-Key', 'k'.repeat(300))
      .send({ cron: '0 9 * * 1' })
      .expect(200);
  });
});
