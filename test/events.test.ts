import { randomUUID } from 'node:crypto';
import { createReflex, createSkill, executionsOf, reflexRow } from './reflexes-fixtures';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// alice owns organization A and its reflexes; bob is a plain member there; carol owns organization B.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let orgA: string;
let orgB: string;
let skillA: string;
let skillB: string;
const woken: string[] = [];

beforeAll(async () => {
  t = createTestApp({
    background: { wake: (name) => void woken.push(name), stop: async () => undefined },
    reflexWebhooks: { maxBodyBytes: 4096, toleranceSeconds: 300 },
  });
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  carol = await newUser(t.app, 'carol');
  orgA = await newOrganization(t.app, alice, 'Events A');
  orgB = await newOrganization(t.app, carol, 'Events B');
  await addMember(t, orgA, bob, 'member');
  skillA = await createSkill(t, orgA, alice);
  skillB = await createSkill(t, orgB, carol);
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgA) => as(t.app, user, org);
const uniqueName = () => `build.${randomUUID().slice(0, 8)}`;
const eventReflex = (eventName: string, extra: Record<string, unknown> = {}, user = alice, org = orgA, skillId = skillA) =>
  createReflex(t, user, org, { skillId, triggerType: 'event', triggerConfig: { eventName, ...extra } });

describe('POST /events', () => {
  test('fires the matching reflexes (name, source, conditions) and lists their executions', async () => {
    const name = uniqueName();
    const anySource = await eventReflex(name);
    const fromCi = await eventReflex(name, { source: 'ci' });
    const fromCd = await eventReflex(name, { source: 'cd' });
    const otherName = await eventReflex(uniqueName());
    const onlyProduction = await createReflex(t, alice, orgA, {
      skillId: skillA,
      triggerType: 'event',
      triggerConfig: { eventName: name },
      conditions: { filters: [{ field: 'deploy.environment', operator: 'equals', value: 'production' }] },
    });
    woken.length = 0;
    const res = await api(bob).post('/api/v1/events').send({ eventName: name, source: 'ci', payload: { deploy: { environment: 'staging' } } });
    expect(res.status).toBe(200);
    expect(res.body.eventName).toBe(name);
    expect(res.body.source).toBe('ci');
    const fired = res.body.executions.map((e: { reflexId: string }) => e.reflexId).sort();
    expect(fired).toEqual([anySource.id, fromCi.id].sort());
    for (const id of [fromCd.id, otherName.id, onlyProduction.id]) expect(await executionsOf(t, id)).toEqual([]);
    expect(woken).toContain('executions');

    const [execution] = await executionsOf(t, fromCi.id);
    expect(execution).toEqual(
      expect.objectContaining({
        id: res.body.executions.find((e: { reflexId: string }) => e.reflexId === fromCi.id).executionId,
        organization_id: orgA,
        skill_id: skillA,
        // The reflex's owner, not the member who sent the event.
        user_id: alice.userId,
        execution_type: 'reflex',
        status: 'pending',
        input: { deploy: { environment: 'staging' } },
      }),
    );
    expect(await reflexRow(t, fromCi.id)).toEqual(expect.objectContaining({ trigger_count: 1, last_triggered_at: expect.any(String) }));

    const production = await api(bob).post('/api/v1/events').send({ eventName: name, payload: { deploy: { environment: 'production' } } }).expect(200);
    expect(production.body.executions.map((e: { reflexId: string }) => e.reflexId).sort()).toEqual([anySource.id, onlyProduction.id].sort());
    expect(production.body.source).toBeNull();
  });

  test('an event nothing listens to starts nothing and wakes nobody', async () => {
    woken.length = 0;
    const res = await api(alice).post('/api/v1/events').send({ eventName: uniqueName(), source: 'ci', payload: {} }).expect(200);
    expect(res.body.executions).toEqual([]);
    expect(woken).toEqual([]);
  });

  test('inactive reflexes and reflexes of inactive skills do not fire', async () => {
    const name = uniqueName();
    const inactive = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'event', triggerConfig: { eventName: name }, isActive: false });
    const idleSkill = await createSkill(t, orgA, alice, { isActive: false });
    const ofIdleSkill = await eventReflex(name, {}, alice, orgA, idleSkill);
    const res = await api(alice).post('/api/v1/events').send({ eventName: name }).expect(200);
    expect(res.body.executions).toEqual([]);
    expect(await executionsOf(t, inactive.id)).toEqual([]);
    expect(await executionsOf(t, ofIdleSkill.id)).toEqual([]);
  });

  test("organization B's event never fires organization A's reflex", async () => {
    const name = uniqueName();
    const inA = await eventReflex(name);
    const inB = await eventReflex(name, {}, carol, orgB, skillB);
    const res = await api(carol, orgB).post('/api/v1/events').send({ eventName: name }).expect(200);
    expect(res.body.executions.map((e: { reflexId: string }) => e.reflexId)).toEqual([inB.id]);
    expect(await executionsOf(t, inA.id)).toEqual([]);
    // Naming A in the header is refused for a non-member.
    expectProblem(await as(t.app, carol, orgA).post('/api/v1/events').send({ eventName: name }), 404);
    expect(await executionsOf(t, inA.id)).toEqual([]);
  });

  test('bad events are refused and start nothing', async () => {
    const name = uniqueName();
    const reflex = await eventReflex(name);
    expectProblem(await api(alice).post('/api/v1/events').send({ source: 'ci' }), 400);
    expectProblem(await api(alice).post('/api/v1/events').send({ eventName: name, payload: 'text' }), 400);
    expectProblem(await api(alice).post('/api/v1/events').send({ eventName: name, extra: 1 }), 400);
    expectProblem(await api(alice).post('/api/v1/events').send({ eventName: name, payload: { big: 'x'.repeat(5000) } }), 413);
    expect(await executionsOf(t, reflex.id)).toEqual([]);
  });
});

describe('file changes', () => {
  let projectId: string;
  const CHECKSUM = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
  const fileBody = (path: string) => ({ name: path.split('/').pop(), path, mimeType: 'text/markdown', sizeBytes: 10, checksum: CHECKSUM, storageKey: `s/${path}` });

  beforeAll(async () => {
    const res = await api(alice).post('/api/v1/projects').send({ name: `Files ${randomUUID().slice(0, 8)}`, type: 'files' });
    expect(res.status).toBe(201);
    projectId = res.body.id;
  });

  test('registering and deleting a file fire the matching file_change reflexes, in the same transaction', async () => {
    const docs = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'file_change', triggerConfig: { paths: ['docs/**/*.md'], events: ['create'] } });
    const deletions = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'file_change', triggerConfig: { paths: ['**'], events: ['delete'] } });
    const onlyGuides = await createReflex(t, alice, orgA, {
      skillId: skillA,
      triggerType: 'file_change',
      triggerConfig: { paths: ['docs/**'] },
      conditions: { filters: [{ field: 'name', operator: 'startsWith', value: 'guide' }] },
    });

    const file = (await api(alice).post(`/api/v1/projects/${projectId}/files`).send(fileBody('docs/a/readme.md')).expect(201)).body;
    const [created] = await executionsOf(t, docs.id);
    expect(created).toEqual(
      expect.objectContaining({
        execution_type: 'reflex',
        user_id: alice.userId,
        input: { event: 'create', fileId: file.id, projectId, name: 'readme.md', path: 'docs/a/readme.md', mimeType: 'text/markdown', sizeBytes: 10 },
      }),
    );
    expect(await executionsOf(t, deletions.id)).toEqual([]);
    expect(await executionsOf(t, onlyGuides.id)).toEqual([]);

    await api(alice).post(`/api/v1/projects/${projectId}/files`).send(fileBody('src/index.ts')).expect(201);
    expect(await executionsOf(t, docs.id)).toHaveLength(1);

    await api(alice).post(`/api/v1/projects/${projectId}/files`).send(fileBody('docs/guide.md')).expect(201);
    expect(await executionsOf(t, onlyGuides.id)).toHaveLength(1);
    // "**/" also matches no folder at all.
    expect(await executionsOf(t, docs.id)).toHaveLength(2);

    await api(alice).delete(`/api/v1/projects/${projectId}/files/${file.id}`).expect(204);
    const [deleted] = await executionsOf(t, deletions.id);
    expect(deleted!.input).toEqual(expect.objectContaining({ event: 'delete', path: 'docs/a/readme.md', fileId: file.id }));
    // The deletion is not a create: the create-only reflex stays at two.
    expect(await executionsOf(t, docs.id)).toHaveLength(2);
  });

  test('a refused file change fires nothing (the executions roll back with it)', async () => {
    const everything = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'file_change', triggerConfig: { paths: ['dup/**'] } });
    await api(alice).post(`/api/v1/projects/${projectId}/files`).send(fileBody('dup/x.md')).expect(201);
    expect(await executionsOf(t, everything.id)).toHaveLength(1);
    expectProblem(await api(alice).post(`/api/v1/projects/${projectId}/files`).send(fileBody('dup/x.md')), 409);
    expectProblem(await api(alice).delete(`/api/v1/projects/${projectId}/files/${randomUUID()}`), 404);
    expect(await executionsOf(t, everything.id)).toHaveLength(1);
  });

  test("files of organization B never fire organization A's file_change reflexes", async () => {
    const inA = await createReflex(t, alice, orgA, { skillId: skillA, triggerType: 'file_change', triggerConfig: { paths: ['**'] } });
    const project = await api(carol, orgB).post('/api/v1/projects').send({ name: `B files ${randomUUID().slice(0, 6)}`, type: 'files' }).expect(201);
    await api(carol, orgB).post(`/api/v1/projects/${project.body.id}/files`).send(fileBody('docs/b.md')).expect(201);
    expect(await executionsOf(t, inA.id)).toEqual([]);
  });
});
