import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { mintToken } from '../src/auth/demo-users';
import { addMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// alice owns the organization, dana is an admin, bob a plain member; carol is in another organization.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let dana: TestUser;
let carol: TestUser;
let orgId: string;
let otherOrgId: string;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  dana = await newUser(t.app, 'dana');
  carol = await newUser(t.app, 'carol');
  orgId = await newOrganization(t.app, alice, 'Skills');
  otherOrgId = await newOrganization(t.app, carol, 'Other');
  await addMember(t, orgId, bob, 'member');
  await addMember(t, orgId, dana, 'admin');
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgId) => as(t.app, user, org);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function skillBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `Skill ${randomUUID().slice(0, 8)}`,
    promptTemplate: 'Summarize {{text}} for {{audience}}.',
    inputSchema: [
      { name: 'text', type: 'string', required: true },
      { name: 'audience', type: 'string', default: 'engineers' },
    ],
    ...overrides,
  };
}

async function createSkill(user: TestUser = alice, overrides: Record<string, unknown> = {}, org = orgId) {
  const res = await api(user, org).post('/api/v1/skills').send(skillBody(overrides));
  expect(res.status).toBe(201);
  return res.body;
}

async function storedSkill(id: string) {
  return (await t.admin.query('select * from public.skills where id = $1', [id])).rows[0];
}

describe('POST /api/v1/skills', () => {
  test('creates with the documented defaults; Location; the caller owns it', async () => {
    const res = await api(bob).post('/api/v1/skills').send(skillBody({ name: 'Release notes' })).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      organizationId: orgId,
      userId: bob.userId,
      name: 'Release notes',
      description: null,
      category: 'custom',
      promptTemplate: 'Summarize {{text}} for {{audience}}.',
      model: 'gpt-4o-mini',
      parameters: { temperature: 1, max_tokens: 4096 },
      // `required` is filled in with its documented default.
      inputSchema: [
        { name: 'text', type: 'string', required: true },
        { name: 'audience', type: 'string', default: 'engineers', required: false },
      ],
      outputFormat: 'markdown',
      isActive: true,
      isPublic: false,
      executionCount: 0,
      starCount: 0,
      rating: null,
      ratingCount: 0,
      isStarred: false,
      myRating: null,
      importedFromSkillId: null,
      lastExecutedAt: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(res.headers.location).toBe(`/api/v1/skills/${res.body.id}`);
    expect((await api(alice).get(res.headers.location!).expect(200)).body).toEqual(res.body);
  });

  test('keeps every given field', async () => {
    const body = skillBody({
      description: 'For the weekly digest.',
      category: 'generation',
      model: 'claude-sonnet',
      parameters: { temperature: 0.2, max_tokens: 512, top_p: 0.9, top_k: 40, stop_sequences: ['END'] },
      outputFormat: 'json',
      isActive: false,
    });
    const created = await createSkill(alice, body);
    expect(created).toMatchObject({ ...body, userId: alice.userId });
  });

  test('409 for a name the owner already uses, compared case-insensitively; another owner may use it', async () => {
    const name = `Digest ${randomUUID().slice(0, 6)}`;
    await createSkill(alice, { name });
    const clash = await api(alice).post('/api/v1/skills').send(skillBody({ name: name.toUpperCase() }));
    expectProblem(clash, 409);
    expect(clash.body.errors[0].path).toBe('/body/name');
    await createSkill(bob, { name });
  });

  test.each([
    ['an empty body', {}],
    ['a one-character name', skillBody({ name: 'x' })],
    ['a name over 100 characters', skillBody({ name: 'n'.repeat(101) })],
    ['a name with surrounding spaces', skillBody({ name: ' padded ' })],
    ['a prompt under 10 characters', skillBody({ promptTemplate: 'too short' })],
    ['an unknown category', skillBody({ category: 'magic' })],
    ['an unknown output format', skillBody({ outputFormat: 'pdf' })],
    ['a temperature above 2', skillBody({ parameters: { temperature: 3 } })],
    ['an unknown parameter', skillBody({ parameters: { frequency: 1 } })],
    ['an input field of an unknown type', skillBody({ inputSchema: [{ name: 'a', type: 'date' }] })],
    ['an input field name that is no identifier', skillBody({ inputSchema: [{ name: 'two words', type: 'string' }] })],
    ['two input fields with one name', skillBody({ inputSchema: [{ name: 'a', type: 'string' }, { name: 'a', type: 'number' }] })],
    ['a default of the wrong type', skillBody({ inputSchema: [{ name: 'n', type: 'number', default: 'five' }] })],
    ['a counter', skillBody({ executionCount: 5 })],
    ['an owner', skillBody({ userId: randomUUID() })],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const before = (await t.admin.query('select count(*)::int as n from public.skills where organization_id = $1', [orgId])).rows[0].n;
    const res = await api(alice).post('/api/v1/skills').send(body);
    expectProblem(res, 400);
    expect(res.body.errors?.length ?? 0).toBeGreaterThan(0);
    const after = (await t.admin.query('select count(*)::int as n from public.skills where organization_id = $1', [orgId])).rows[0].n;
    expect(after).toBe(before);
  });

  test('401 without a token; 403 for a service token', async () => {
    expectProblem(await request(t.app).post('/api/v1/skills').send(skillBody()), 401);
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    expectProblem(await request(t.app).post('/api/v1/skills').set('Authorization', `Bearer ${service}`).send(skillBody()), 403);
  });
});

describe('GET /api/v1/skills', () => {
  let org: string;
  let owner: TestUser;
  const names = ['Alpha review', 'beta summary', 'Gamma_100%', 'delta review'];

  beforeAll(async () => {
    owner = await newUser(t.app, 'lister');
    org = await newOrganization(t.app, owner, 'List');
    const categories = ['analysis', 'generation', 'analysis', 'custom'];
    for (const [i, name] of names.entries()) {
      await createSkill(owner, { name, category: categories[i], isActive: i !== 3 }, org);
    }
    await t.admin.query(`update public.skills set execution_count = 7 where organization_id = $1 and name = 'beta summary'`, [org]);
  });

  const list = (query = '') => api(owner, org).get(`/api/v1/skills${query}`);
  const listed = (res: request.Response) => res.body.data.map((s: { name: string }) => s.name);

  test('the envelope, newest first by default', async () => {
    const res = await list().expect(200);
    expect(res.body).toMatchObject({ total: 4, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(listed(res)).toEqual([...names].reverse());
  });

  test('filters: category, isActive, search (case-insensitive, wildcards literal)', async () => {
    expect(listed(await list('?category=analysis').expect(200))).toEqual(['Gamma_100%', 'Alpha review']);
    expect(listed(await list('?isActive=false').expect(200))).toEqual(['delta review']);
    expect(listed(await list('?search=REVIEW&sort=name').expect(200))).toEqual(['Alpha review', 'delta review']);
    expect(listed(await list('?search=100%25').expect(200))).toEqual(['Gamma_100%']);
    expect(listed(await list('?search=a_1').expect(200))).toEqual(['Gamma_100%']);
    expect(listed(await list('?search=%25').expect(200))).toEqual(['Gamma_100%']);
  });

  test('sorts: name case-insensitively, executionCount, and pages', async () => {
    expect(listed(await list('?sort=name').expect(200))).toEqual(['Alpha review', 'beta summary', 'delta review', 'Gamma_100%']);
    expect(listed(await list('?sort=-executionCount').expect(200))[0]).toBe('beta summary');
    const page = await list('?sort=name&pageSize=3&page=2').expect(200);
    expect(page.body).toMatchObject({ total: 4, page: 2, pageSize: 3, hasMore: false });
    expect(listed(page)).toEqual(['Gamma_100%']);
  });

  test('400 for an unknown sort, filter or category', async () => {
    expectProblem(await list('?sort=prompt'), 400);
    expectProblem(await list('?owner=me'), 400);
    expectProblem(await list('?category=magic'), 400);
  });
});

describe('GET /api/v1/skills/{skillId}', () => {
  test('without include: the skill alone; with include: reflexes and the 10 latest executions', async () => {
    const skill = await createSkill(alice);
    const plain = await api(bob).get(`/api/v1/skills/${skill.id}`).expect(200);
    expect(plain.body).toEqual(skill);
    expect(plain.body).not.toHaveProperty('reflexes');

    await t.admin.query(
      `insert into public.reflexes (organization_id, skill_id, user_id, trigger_type, trigger_config)
       values ($1, $2, $3, 'event', '{"eventName": "deploy", "source": "ci"}')`,
      [orgId, skill.id, alice.userId],
    );
    for (let i = 0; i < 12; i++) {
      await t.admin.query(
        `insert into public.skill_executions (organization_id, skill_id, user_id, input, created_at)
         values ($1, $2, $3, $4, now() - make_interval(mins => $5))`,
        [orgId, skill.id, alice.userId, JSON.stringify({ text: `run ${i}` }), i],
      );
    }
    const full = await api(bob).get(`/api/v1/skills/${skill.id}?include=reflexes,recentExecutions`).expect(200);
    expect(full.body.reflexes).toEqual([
      expect.objectContaining({ skillId: skill.id, triggerType: 'event', triggerConfig: { eventName: 'deploy', source: 'ci' }, isActive: true, triggerCount: 0 }),
    ]);
    expect(full.body.recentExecutions).toHaveLength(10);
    expect(full.body.recentExecutions.map((e: { input: { text: string } }) => e.input.text)).toEqual(
      Array.from({ length: 10 }, (_, i) => `run ${i}`),
    );
    const onlyReflexes = await api(bob).get(`/api/v1/skills/${skill.id}?include=reflexes`).expect(200);
    expect(onlyReflexes.body).not.toHaveProperty('recentExecutions');
  });

  test('404 for an unknown id; 400 for a malformed id or an unknown include', async () => {
    expectProblem(await api(alice).get(`/api/v1/skills/${randomUUID()}`), 404);
    expectProblem(await api(alice).get('/api/v1/skills/nope'), 400);
    const skill = await createSkill(alice);
    expectProblem(await api(alice).get(`/api/v1/skills/${skill.id}?include=owner`), 400);
  });
});

describe('PATCH /api/v1/skills/{skillId}', () => {
  test('the owner changes fields; updatedAt moves; unchanged fields stay', async () => {
    const skill = await createSkill(bob);
    const res = await api(bob)
      .patch(`/api/v1/skills/${skill.id}`)
      .send({ description: 'Now described', isActive: false, parameters: { temperature: 0 } })
      .expect(200);
    expect(res.body).toMatchObject({ description: 'Now described', isActive: false, parameters: { temperature: 0 }, name: skill.name });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(skill.updatedAt));
    expect((await storedSkill(skill.id)).is_active).toBe(false);
  });

  test('organization owners and admins may change a member\'s skill; another member gets 403 and nothing changes', async () => {
    const skill = await createSkill(bob);
    await api(alice).patch(`/api/v1/skills/${skill.id}`).send({ category: 'analysis' }).expect(200);
    await api(dana).patch(`/api/v1/skills/${skill.id}`).send({ category: 'automation' }).expect(200);
    const other = await createSkill(alice);
    expectProblem(await api(bob).patch(`/api/v1/skills/${other.id}`).send({ name: 'Taken over' }), 403);
    expect((await storedSkill(other.id)).name).toBe(other.name);
  });

  test('409 when renaming onto another own skill; 400 for an empty body or a bad inputSchema; 404 unknown', async () => {
    const first = await createSkill(alice);
    const second = await createSkill(alice);
    const clash = await api(alice).patch(`/api/v1/skills/${second.id}`).send({ name: first.name.toLowerCase() });
    expectProblem(clash, 409);
    expectProblem(await api(alice).patch(`/api/v1/skills/${second.id}`).send({}), 400);
    expectProblem(
      await api(alice).patch(`/api/v1/skills/${second.id}`).send({ inputSchema: [{ name: 'x', type: 'boolean', default: 1 }] }),
      400,
    );
    expectProblem(await api(alice).patch(`/api/v1/skills/${randomUUID()}`).send({ isActive: false }), 404);
    expect((await storedSkill(second.id)).name).toBe(second.name);
  });
});

describe('DELETE /api/v1/skills/{skillId}', () => {
  test('the owner deletes; its executions stay with skillId null; reflexes go', async () => {
    const skill = await createSkill(bob);
    await t.admin.query('insert into public.skill_executions (organization_id, skill_id, user_id) values ($1, $2, $3)', [orgId, skill.id, bob.userId]);
    await t.admin.query(`insert into public.reflexes (organization_id, skill_id, user_id, trigger_type) values ($1, $2, $3, 'event')`, [
      orgId,
      skill.id,
      bob.userId,
    ]);
    await api(bob).delete(`/api/v1/skills/${skill.id}`).expect(204);
    expect(await storedSkill(skill.id)).toBeUndefined();
    const history = await t.admin.query('select skill_id from public.skill_executions where organization_id = $1 and user_id = $2 and skill_id is null', [
      orgId,
      bob.userId,
    ]);
    expect(history.rowCount).toBeGreaterThan(0);
    expect((await t.admin.query('select 1 from public.reflexes where skill_id = $1', [skill.id])).rowCount).toBe(0);
    expectProblem(await api(bob).delete(`/api/v1/skills/${skill.id}`), 404);
  });

  test('a member may not delete someone else\'s skill (403); an admin may', async () => {
    const skill = await createSkill(alice);
    expectProblem(await api(bob).delete(`/api/v1/skills/${skill.id}`), 403);
    expect(await storedSkill(skill.id)).toBeDefined();
    await api(dana).delete(`/api/v1/skills/${skill.id}`).expect(204);
  });
});

describe('POST /api/v1/skills/{skillId}/duplicate', () => {
  test('copies as "X (copy)", "X (copy 2)" ... owned by the caller, counters at zero', async () => {
    const name = `Triage ${randomUUID().slice(0, 6)}`;
    const source = await createSkill(alice, { name, category: 'analysis', outputFormat: 'json' });
    await t.admin.query('update public.skills set execution_count = 3, last_executed_at = now() where id = $1', [source.id]);
    const first = await api(alice).post(`/api/v1/skills/${source.id}/duplicate`).expect(201);
    expect(first.body).toMatchObject({
      name: `${name} (copy)`,
      userId: alice.userId,
      category: 'analysis',
      outputFormat: 'json',
      promptTemplate: source.promptTemplate,
      inputSchema: source.inputSchema,
      executionCount: 0,
      lastExecutedAt: null,
    });
    expect(first.body.id).not.toBe(source.id);
    expect(first.headers.location).toBe(`/api/v1/skills/${first.body.id}`);
    const second = await api(alice).post(`/api/v1/skills/${source.id}/duplicate`).expect(201);
    expect(second.body.name).toBe(`${name} (copy 2)`);
    // Copying a copy counts on from the original name.
    const third = await api(alice).post(`/api/v1/skills/${first.body.id}/duplicate`).expect(201);
    expect(third.body.name).toBe(`${name} (copy 3)`);
    // Another member copies into their own names.
    const bobs = await api(bob).post(`/api/v1/skills/${source.id}/duplicate`).expect(201);
    expect(bobs.body).toMatchObject({ name: `${name} (copy)`, userId: bob.userId });
  });

  test('a 100-character name is shortened to fit its suffix; 404 for an unknown skill', async () => {
    const name = `L${randomUUID().slice(0, 8)}${'o'.repeat(91)}`;
    const source = await createSkill(alice, { name });
    const copy = await api(alice).post(`/api/v1/skills/${source.id}/duplicate`).expect(201);
    expect(copy.body.name).toHaveLength(100);
    expect(copy.body.name.endsWith(' (copy)')).toBe(true);
    expectProblem(await api(alice).post(`/api/v1/skills/${randomUUID()}/duplicate`), 404);
  });
});

describe('POST /api/v1/skills/bulk', () => {
  test('each id is done, forbidden or not found; only the permitted ones change', async () => {
    const own = await createSkill(bob);
    const othersSkill = await createSkill(alice);
    const foreign = await createSkill(carol, {}, otherOrgId);
    const missing = randomUUID();
    const res = await api(bob)
      .post('/api/v1/skills/bulk')
      .send({ action: 'deactivate', ids: [own.id, othersSkill.id, foreign.id, missing] })
      .expect(200);
    expect(res.body).toEqual({
      action: 'deactivate',
      done: 1,
      results: [
        { id: own.id, result: 'done' },
        { id: othersSkill.id, result: 'forbidden' },
        { id: foreign.id, result: 'not_found' },
        { id: missing, result: 'not_found' },
      ],
    });
    expect((await storedSkill(own.id)).is_active).toBe(false);
    expect((await storedSkill(othersSkill.id)).is_active).toBe(true);
    expect((await storedSkill(foreign.id)).is_active).toBe(true);

    await api(bob).post('/api/v1/skills/bulk').send({ action: 'activate', ids: [own.id] }).expect(200);
    expect((await storedSkill(own.id)).is_active).toBe(true);
    const deleted = await api(alice).post('/api/v1/skills/bulk').send({ action: 'delete', ids: [own.id, othersSkill.id, foreign.id] }).expect(200);
    expect(deleted.body.results.map((r: { result: string }) => r.result)).toEqual(['done', 'done', 'not_found']);
    expect(await storedSkill(own.id)).toBeUndefined();
    expect(await storedSkill(foreign.id)).toBeDefined();
  });

  test('400 for no ids, more than 100, repeated ids, an unknown action', async () => {
    expectProblem(await api(alice).post('/api/v1/skills/bulk').send({ action: 'delete', ids: [] }), 400);
    const many = Array.from({ length: 101 }, () => randomUUID());
    expectProblem(await api(alice).post('/api/v1/skills/bulk').send({ action: 'delete', ids: many }), 400);
    const id = randomUUID();
    expectProblem(await api(alice).post('/api/v1/skills/bulk').send({ action: 'delete', ids: [id, id] }), 400);
    expectProblem(await api(alice).post('/api/v1/skills/bulk').send({ action: 'archive', ids: [id] }), 400);
  });
});

describe('export and import', () => {
  test('a bundle round-trips into another organization with its habits and reflexes', async () => {
    const exporter = await newUser(t.app, 'exporter');
    const from = await newOrganization(t.app, exporter, 'Export');
    const a = await createSkill(exporter, { name: 'Bundle A', category: 'analysis', parameters: { temperature: 0.5 } }, from);
    await createSkill(exporter, { name: 'Bundle B', outputFormat: 'json', inputSchema: [] }, from);
    await t.admin.query(
      `insert into public.reflexes (organization_id, skill_id, user_id, trigger_type, trigger_config, is_active)
       values ($1, $2, $3, 'file_change', '{"paths": ["src/**"], "events": ["modify"]}', false)`,
      [from, a.id, exporter.userId],
    );
    await api(exporter, from)
      .post('/api/v1/habits')
      .send({ skillId: a.id, scheduleCron: '30 2 * * 1', timezone: 'Europe/Amsterdam', config: { text: 'weekly' } })
      .expect(201);
    const exported = await api(exporter, from).get('/api/v1/skills/export').expect(200);
    expect(exported.body).toMatchObject({ version: 1, exportedAt: expect.stringMatching(ISO) });
    expect(exported.body.skills).toEqual([
      expect.objectContaining({
        name: 'Bundle A',
        category: 'analysis',
        parameters: { temperature: 0.5 },
        habits: [
          { scheduleCron: '30 2 * * 1', scheduleDescription: expect.any(String), timezone: 'Europe/Amsterdam', config: { text: 'weekly' }, isActive: true },
        ],
        reflexes: [{ triggerType: 'file_change', triggerConfig: { paths: ['src/**'], events: ['modify'] }, conditions: { matchAll: true, filters: [] }, isActive: false }],
      }),
      expect.objectContaining({ name: 'Bundle B', outputFormat: 'json', inputSchema: [], reflexes: [] }),
    ]);
    expect(exported.body.skills[0]).not.toHaveProperty('id');

    const only = await api(exporter, from).get(`/api/v1/skills/export?ids=${a.id}`).expect(200);
    expect(only.body.skills.map((s: { name: string }) => s.name)).toEqual(['Bundle A']);

    const importer = await newUser(t.app, 'importer');
    const to = await newOrganization(t.app, importer, 'Import');
    const imported = await api(importer, to).post('/api/v1/skills/import').send(exported.body).expect(201);
    expect(imported.body).toEqual({
      imported: 2,
      skills: [
        { id: expect.any(String), name: 'Bundle A', originalName: 'Bundle A', renamed: false },
        { id: expect.any(String), name: 'Bundle B', originalName: 'Bundle B', renamed: false },
      ],
    });
    const copy = await api(importer, to).get(`/api/v1/skills/${imported.body.skills[0].id}?include=habits,reflexes`).expect(200);
    expect(copy.body.habits).toEqual([
      expect.objectContaining({
        userId: importer.userId,
        scheduleCron: '30 2 * * 1',
        timezone: 'Europe/Amsterdam',
        config: { text: 'weekly' },
        isActive: true,
        nextRunAt: expect.stringMatching(ISO),
        runCount: 0,
      }),
    ]);
    expect(copy.body).toMatchObject({ userId: importer.userId, organizationId: to, category: 'analysis', executionCount: 0 });
    expect(copy.body.reflexes).toEqual([
      expect.objectContaining({ triggerType: 'file_change', isActive: false, userId: importer.userId, triggerConfig: { paths: ['src/**'], events: ['modify'] } }),
    ]);

    // Again: every name clashes. All-or-nothing 409 listing each, or renamed on request.
    const clash = await api(importer, to).post('/api/v1/skills/import').send(exported.body);
    expectProblem(clash, 409);
    expect(clash.body.errors.map((e: { path: string }) => e.path)).toEqual(['/body/skills/0/name', '/body/skills/1/name']);
    expect((await api(importer, to).get('/api/v1/skills').expect(200)).body.total).toBe(2);
    const renamed = await api(importer, to).post('/api/v1/skills/import?onConflict=rename').send(exported.body).expect(201);
    expect(renamed.body.skills.map((s: { name: string; renamed: boolean }) => [s.name, s.renamed])).toEqual([
      ['Bundle A (copy)', true],
      ['Bundle B (copy)', true],
    ]);
  });

  test('a name repeated inside the bundle is a clash too', async () => {
    const user = await newUser(t.app, 'twice');
    const org = await newOrganization(t.app, user, 'Twice');
    const bundle = { version: 1, skills: [skillBody({ name: 'Same' }), skillBody({ name: 'SAME' })] };
    const res = await api(user, org).post('/api/v1/skills/import').send(bundle);
    expectProblem(res, 409);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['/body/skills/1/name']);
    expect((await api(user, org).get('/api/v1/skills').expect(200)).body.total).toBe(0);
  });

  test.each([
    ['another version', { version: 2, skills: [] }],
    ['no skills array', { version: 1 }],
    ['a skill without a prompt', { version: 1, skills: [{ name: 'No prompt' }] }],
    ['habits that are not an array', { version: 1, skills: [{ ...skillBody(), habits: {} }] }],
    ['a habit with a six-field cron', { version: 1, skills: [{ ...skillBody(), habits: [{ scheduleCron: '0 0 9 * * *' }] }] }],
    ['a habit in an unknown time zone', { version: 1, skills: [{ ...skillBody(), habits: [{ scheduleCron: '0 9 * * *', timezone: 'Mars/Olympus' }] }] }],
    ['an event reflex without an event name', { version: 1, skills: [{ ...skillBody(), reflexes: [{ triggerType: 'event', triggerConfig: {} }] }] }],
    ['a reflex of an unknown trigger', { version: 1, skills: [{ ...skillBody(), reflexes: [{ triggerType: 'telepathy' }] }] }],
    ['reflex filters that are not an array', { version: 1, skills: [{ ...skillBody(), reflexes: [{ triggerType: 'event', conditions: { filters: 'x' } }] }] }],
    ['a bad default in the last skill', { version: 1, skills: [skillBody(), skillBody({ inputSchema: [{ name: 'n', type: 'number', default: true }] })] }],
  ])('400 for %s, and nothing is imported', async (_label, bundle) => {
    const user = await newUser(t.app, 'bad-bundle');
    const org = await newOrganization(t.app, user, 'Bad');
    expectProblem(await api(user, org).post('/api/v1/skills/import').send(bundle), 400);
    expect((await t.admin.query('select 1 from public.skills where organization_id = $1', [org])).rowCount).toBe(0);
  });
});

describe('isolation: another organization', () => {
  test('cannot read, list, change, delete, copy, run, test, export or count a skill', async () => {
    const skill = await createSkill(alice);
    const outsider = (path: string) => api(carol, otherOrgId).get(path);
    expectProblem(await outsider(`/api/v1/skills/${skill.id}`), 404);
    expect((await outsider('/api/v1/skills?pageSize=100').expect(200)).body.data.map((s: { id: string }) => s.id)).not.toContain(skill.id);
    expect((await outsider(`/api/v1/skills?search=${encodeURIComponent(skill.name)}`).expect(200)).body.total).toBe(0);
    expectProblem(await api(carol, otherOrgId).patch(`/api/v1/skills/${skill.id}`).send({ name: 'Stolen' }), 404);
    expectProblem(await api(carol, otherOrgId).delete(`/api/v1/skills/${skill.id}`), 404);
    expectProblem(await api(carol, otherOrgId).post(`/api/v1/skills/${skill.id}/duplicate`), 404);
    expectProblem(await api(carol, otherOrgId).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'x' } }), 404);
    expectProblem(await api(carol, otherOrgId).post(`/api/v1/skills/${skill.id}/test`).send({ input: { text: 'x' } }), 404);
    expectProblem(await outsider(`/api/v1/skills/${skill.id}/stats`), 404);
    expectProblem(await outsider(`/api/v1/skills/${skill.id}/executions`), 404);
    const exported = await outsider(`/api/v1/skills/export?ids=${skill.id}`).expect(200);
    expect(exported.body.skills).toEqual([]);
    // Naming alice's organization in the header does not help.
    expectProblem(await api(carol, orgId).get(`/api/v1/skills/${skill.id}`), 404);
    expect(await storedSkill(skill.id)).toMatchObject({ name: skill.name });
    expect((await t.admin.query('select 1 from public.skill_executions where skill_id = $1', [skill.id])).rowCount).toBe(0);
  });
});

describe('every operation', () => {
  const id = randomUUID();
  test.each([
    ['get', '/api/v1/skills'],
    ['post', '/api/v1/skills'],
    ['post', '/api/v1/skills/test'],
    ['post', '/api/v1/skills/bulk'],
    ['get', '/api/v1/skills/export'],
    ['post', '/api/v1/skills/import'],
    ['get', `/api/v1/skills/${id}`],
    ['patch', `/api/v1/skills/${id}`],
    ['delete', `/api/v1/skills/${id}`],
    ['post', `/api/v1/skills/${id}/duplicate`],
    ['post', `/api/v1/skills/${id}/test`],
    ['get', `/api/v1/skills/${id}/stats`],
    ['get', `/api/v1/skills/${id}/executions`],
    ['get', '/api/v1/executions'],
    ['get', '/api/v1/executions/stats/by-skill'],
    ['get', '/api/v1/executions/stats/by-period'],
    // Service tokens may run skills and follow their executions (see executions.test.ts).
  ] as const)('%s %s: 401 without a token, 403 for a service token', async (method, path) => {
    expectProblem(await request(t.app)[method](path).send({}), 401);
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    // A body the contract accepts, so the refusal is about the token.
    const bodies: Record<string, object> = {
      'post /api/v1/skills': { name: 'Service', promptTemplate: 'A long enough prompt' },
      'post /api/v1/skills/test': { promptTemplate: 'A long enough prompt' },
      'post /api/v1/skills/bulk': { action: 'delete', ids: [id] },
      'post /api/v1/skills/import': { version: 1, skills: [] },
      [`patch /api/v1/skills/${id}`]: { isActive: false },
    };
    const res = await request(t.app)[method](path).set('Authorization', `Bearer ${service}`).send(bodies[`${method} ${path}`] ?? {});
    expectProblem(res, 403);
  });
});

describe('text PostgreSQL cannot hold', () => {
  test('a NUL character in a name, a prompt or an input is a 4xx, never a 500, and stores nothing', async () => {
    const user = await newUser(t.app, 'nul');
    const org = await newOrganization(t.app, user, 'Nul');
    for (const body of [skillBody({ name: 'Bad\u0000name' }), skillBody({ promptTemplate: 'Prompt with \u0000 inside' })]) {
      const res = await api(user, org).post('/api/v1/skills').send(body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    const skill = await createSkill(user, {}, org);
    const run = await api(user, org).post(`/api/v1/skills/${skill.id}/execute`).send({ input: { text: 'a\u0000b' } });
    expect(run.status).toBeGreaterThanOrEqual(400);
    expect(run.status).toBeLessThan(500);
    const imported = await api(user, org).post('/api/v1/skills/import').send({ version: 1, skills: [skillBody({ description: 'x\u0000y' })] });
    expect(imported.status).toBeGreaterThanOrEqual(400);
    expect(imported.status).toBeLessThan(500);
    expect((await t.admin.query('select count(*)::int as n from public.skills where organization_id = $1', [org])).rows[0].n).toBe(1);
    expect((await t.admin.query('select 1 from public.skill_executions where organization_id = $1', [org])).rowCount).toBe(0);
  });
});
