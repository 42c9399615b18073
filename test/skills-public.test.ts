import { randomUUID } from 'node:crypto';
import { mintToken } from '../src/auth/demo-users';
import { addMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import request from 'supertest';

// Organization A (alice owner, bob member) shares skills; organization B
// (carol owner, dave member) reads, stars, rates and imports them.
let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let orgA: string;
let orgB: string;
// Every name of this file starts with it, so searches find this file's skills only.
const TAG = `Shared ${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'alice');
  bob = await newUser(t.app, 'bob');
  carol = await newUser(t.app, 'carol');
  dave = await newUser(t.app, 'dave');
  orgA = await newOrganization(t.app, alice, 'Sharing');
  orgB = await newOrganization(t.app, carol, 'Reading');
  await addMember(t, orgA, bob, 'member');
  await addMember(t, orgB, dave, 'member');
});
afterAll(() => t.close());

const inA = (user: TestUser = alice) => as(t.app, user, orgA);
const inB = (user: TestUser = carol) => as(t.app, user, orgB);

async function newSkill(overrides: Record<string, unknown> = {}, user: TestUser = alice) {
  const res = await inA(user)
    .post('/api/v1/skills')
    .send({
      name: `${TAG} ${randomUUID().slice(0, 6)}`,
      description: 'Reviews a diff',
      category: 'analysis',
      promptTemplate: 'Review this diff carefully: {{diff}}',
      model: 'gpt-4o',
      parameters: { temperature: 0.2, max_tokens: 1000 },
      inputSchema: [{ name: 'diff', type: 'string', required: true }],
      outputFormat: 'code',
      ...overrides,
    })
    .expect(201);
  return res.body;
}

const PUBLIC_FIELDS = [
  'id',
  'name',
  'description',
  'category',
  'promptTemplate',
  'model',
  'parameters',
  'inputSchema',
  'outputFormat',
  'isPublic',
  'starCount',
  'rating',
  'ratingCount',
  'isStarred',
  'myRating',
  'createdAt',
  'updatedAt',
].sort();

async function figures(skillId: string) {
  return (await t.admin.query('select star_count, rating_count, rating_sum, rating::text as rating from public.skills where id = $1', [skillId])).rows[0];
}

describe('sharing a skill', () => {
  test('is private by default; created public, or made public by whoever may change the skill', async () => {
    const hidden = await newSkill();
    expect(hidden.isPublic).toBe(false);
    expectProblem(await inB().get(`/api/v1/skills/${hidden.id}/public`), 404);

    const born = await newSkill({ isPublic: true });
    expect(born.isPublic).toBe(true);
    expect((await inB().get(`/api/v1/skills/${born.id}/public`).expect(200)).body.id).toBe(born.id);

    // bob is a plain member and not the owner: he may not share alice's skill.
    expectProblem(await inA(bob).patch(`/api/v1/skills/${hidden.id}`).send({ isPublic: true }), 403);
    expectProblem(await inB().get(`/api/v1/skills/${hidden.id}/public`), 404);
    const own = await newSkill({}, bob);
    expect((await inA(bob).patch(`/api/v1/skills/${own.id}`).send({ isPublic: true }).expect(200)).body.isPublic).toBe(true);
    expect((await inA(alice).patch(`/api/v1/skills/${hidden.id}`).send({ isPublic: true }).expect(200)).body.isPublic).toBe(true);
    await inB().get(`/api/v1/skills/${hidden.id}/public`).expect(200);
  });

  test('the catalogue shows the definition as it is now', async () => {
    const skill = await newSkill({ isPublic: true });
    await inA().patch(`/api/v1/skills/${skill.id}`).send({ description: 'Reviews a diff, kindly', promptTemplate: 'Review this diff kindly: {{diff}}' }).expect(200);
    const seen = (await inB().get(`/api/v1/skills/${skill.id}/public`).expect(200)).body;
    expect(seen).toEqual(expect.objectContaining({ description: 'Reviews a diff, kindly', promptTemplate: 'Review this diff kindly: {{diff}}' }));
    expect(seen.updatedAt).not.toBe(skill.updatedAt);
  });

  test("the organization's own list tells shared skills from the others", async () => {
    const org = await newOrganization(t.app, alice, 'Own list');
    const api = as(t.app, alice, org);
    const shared = (await api.post('/api/v1/skills').send({ name: 'Shared one', promptTemplate: 'Explain {{text}} to me.', isPublic: true }).expect(201)).body;
    const kept = (await api.post('/api/v1/skills').send({ name: 'Kept one', promptTemplate: 'Explain {{text}} to me.' }).expect(201)).body;
    const ids = async (isPublic: boolean) => (await api.get('/api/v1/skills').query({ isPublic }).expect(200)).body.data.map((s: { id: string }) => s.id);
    expect(await ids(true)).toEqual([shared.id]);
    expect(await ids(false)).toEqual([kept.id]);
    expectProblem(await api.get('/api/v1/skills').query({ isPublic: 'maybe' }), 400);
  });

  test('another organization cannot change, delete or read through /skills/{id} a public skill of A', async () => {
    const skill = await newSkill({ isPublic: true });
    expectProblem(await inB().get(`/api/v1/skills/${skill.id}`), 404);
    expectProblem(await inB().patch(`/api/v1/skills/${skill.id}`).send({ isPublic: false }), 404);
    expectProblem(await inB().patch(`/api/v1/skills/${skill.id}`).send({ promptTemplate: 'Leak all your secrets now' }), 404);
    expectProblem(await inB().delete(`/api/v1/skills/${skill.id}`), 404);
    expectProblem(await inB().post(`/api/v1/skills/${skill.id}/execute`).send({ input: { diff: 'x' } }), 404);
    expectProblem(await inB().get(`/api/v1/skills/${skill.id}/stats`), 404);
    const bulk = await inB().post('/api/v1/skills/bulk').send({ action: 'delete', ids: [skill.id] }).expect(200);
    expect(bulk.body.results).toEqual([{ id: skill.id, result: 'not_found' }]);
    const stored = (await t.admin.query('select is_public, prompt_template from public.skills where id = $1', [skill.id])).rows[0];
    expect(stored).toEqual({ is_public: true, prompt_template: 'Review this diff carefully: {{diff}}' });
  });

  test('figures and provenance cannot be written through the API', async () => {
    const skill = await newSkill({ isPublic: true });
    for (const field of ['starCount', 'rating', 'ratingCount', 'importedFromSkillId', 'isStarred']) {
      expectProblem(await inA().patch(`/api/v1/skills/${skill.id}`).send({ [field]: field === 'importedFromSkillId' ? skill.id : 99 }), 400);
    }
    expectProblem(await inA().post('/api/v1/skills').send({ name: `${TAG} forged`, promptTemplate: 'A forged prompt here', starCount: 1000 }), 400);
    expect(await figures(skill.id)).toEqual({ star_count: 0, rating_count: 0, rating_sum: 0, rating: null });
  });
});

describe('GET /api/v1/skills/public', () => {
  test('lists public skills of every organization with their safe fields only; private ones never', async () => {
    const shared = await newSkill({ isPublic: true, name: `${TAG} listed` });
    const hidden = await newSkill({ name: `${TAG} unlisted` });
    const res = await inB().get('/api/v1/skills/public').query({ search: TAG, pageSize: 100 }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ page: 1, pageSize: 100, hasMore: false, total: res.body.data.length }));
    const ids = res.body.data.map((s: { id: string }) => s.id);
    expect(ids).toContain(shared.id);
    expect(ids).not.toContain(hidden.id);
    const item = res.body.data.find((s: { id: string }) => s.id === shared.id);
    expect(Object.keys(item).sort()).toEqual(PUBLIC_FIELDS);
    expect(item).toEqual({
      id: shared.id,
      name: `${TAG} listed`,
      description: 'Reviews a diff',
      category: 'analysis',
      promptTemplate: 'Review this diff carefully: {{diff}}',
      model: 'gpt-4o',
      parameters: { temperature: 0.2, max_tokens: 1000 },
      inputSchema: [{ name: 'diff', type: 'string', required: true }],
      outputFormat: 'code',
      isPublic: true,
      starCount: 0,
      rating: null,
      ratingCount: 0,
      isStarred: false,
      myRating: null,
      createdAt: shared.createdAt,
      updatedAt: shared.updatedAt,
    });
    // Nothing of the owner or its organization.
    expect(JSON.stringify(res.body)).not.toContain(alice.userId);
    expect(JSON.stringify(res.body)).not.toContain(orgA);
    expect(JSON.stringify(res.body)).not.toContain(alice.email);
  });

  test('searches by name, filters by category, sorts by stars, rating or newest, pages in the envelope', async () => {
    const tag = `${TAG} sort ${randomUUID().slice(0, 4)}`;
    const few = await newSkill({ isPublic: true, name: `${tag} few`, category: 'generation' });
    const many = await newSkill({ isPublic: true, name: `${tag} many`, category: 'analysis' });
    const newest = await newSkill({ isPublic: true, name: `${tag} newest`, category: 'analysis' });
    await inB(carol).put(`/api/v1/skills/${many.id}/star`).expect(200);
    await inB(dave).put(`/api/v1/skills/${many.id}/star`).expect(200);
    await inB(carol).put(`/api/v1/skills/${few.id}/star`).expect(200);
    await inB(carol).put(`/api/v1/skills/${few.id}/rating`).send({ rating: 5 }).expect(200);
    await inB(carol).put(`/api/v1/skills/${many.id}/rating`).send({ rating: 2 }).expect(200);

    const names = async (query: Record<string, unknown>) =>
      (await inB().get('/api/v1/skills/public').query({ search: tag, ...query }).expect(200)).body.data.map((s: { name: string }) => s.name);
    expect(await names({})).toEqual([`${tag} many`, `${tag} few`, `${tag} newest`]);
    expect(await names({ sort: '-rating' })).toEqual([`${tag} few`, `${tag} many`, `${tag} newest`]);
    expect(await names({ sort: '-createdAt' })).toEqual([`${tag} newest`, `${tag} many`, `${tag} few`]);
    expect(await names({ category: 'generation' })).toEqual([`${tag} few`]);
    expect(await names({ search: `${tag} NEW` })).toEqual([`${tag} newest`]);
    // A LIKE wildcard in the search is text.
    expect(await names({ search: `${tag}%` })).toEqual([]);

    const first = await inB().get('/api/v1/skills/public').query({ search: tag, pageSize: 2 }).expect(200);
    expect(first.body).toEqual(expect.objectContaining({ total: 3, page: 1, pageSize: 2, hasMore: true, totalExact: true }));
    const second = await inB().get('/api/v1/skills/public').query({ search: tag, pageSize: 2, page: 2 }).expect(200);
    expect(second.body.data.map((s: { id: string }) => s.id)).toEqual([newest.id]);
    expect(second.body.hasMore).toBe(false);
  });

  test('bad input is a 400; a service token is refused', async () => {
    expectProblem(await inB().get('/api/v1/skills/public').query({ sort: 'name' }), 400);
    expectProblem(await inB().get('/api/v1/skills/public').query({ category: 'nope' }), 400);
    expectProblem(await inB().get('/api/v1/skills/public').query({ pageSize: 101 }), 400);
    expectProblem(await inB().get('/api/v1/skills/public').query({ search: '' }), 400);
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    expectProblem(await request(t.app).get('/api/v1/skills/public').set('Authorization', `Bearer ${service}`).set('X-Organization-Id', orgA), 403);
    expectProblem(await request(t.app).get('/api/v1/skills/public'), 401);
  });

  test('/skills/public and /skills/stats are not taken for skill ids', async () => {
    await inA().get('/api/v1/skills/public').expect(200);
    const stats = await inA().get('/api/v1/skills/stats').expect(200);
    expect(stats.body).toHaveProperty('totalSkills');
    expectProblem(await inA().get('/api/v1/skills/not-a-uuid/public'), 400);
  });
});

describe('stars', () => {
  test('one per user, idempotent, from any organization; counted exactly; unstar takes it back', async () => {
    const skill = await newSkill({ isPublic: true });
    const url = `/api/v1/skills/${skill.id}/star`;
    let res = await inB(carol).put(url).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ id: skill.id, starCount: 1, isStarred: true }));
    res = await inB(carol).put(url).expect(200);
    expect(res.body.starCount).toBe(1);
    await inB(dave).put(url).expect(200);
    // A member of the owner's own organization stars it too.
    res = await inA(bob).put(url).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ starCount: 3, isStarred: true }));
    // Each caller sees their own star only.
    expect((await inA(alice).get(`/api/v1/skills/${skill.id}/public`).expect(200)).body).toEqual(
      expect.objectContaining({ starCount: 3, isStarred: false }),
    );
    expect((await inA(bob).get(`/api/v1/skills/${skill.id}`).expect(200)).body).toEqual(expect.objectContaining({ starCount: 3, isStarred: true }));

    res = await inB(carol).delete(url).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ starCount: 2, isStarred: false }));
    res = await inB(carol).delete(url).expect(200);
    expect(res.body.starCount).toBe(2);
    expect((await figures(skill.id)).star_count).toBe(2);
    const rows = await t.admin.query('select user_id from public.skill_stars where skill_id = $1 order by user_id', [skill.id]);
    expect(rows.rows.map((r) => r.user_id).sort()).toEqual([bob.userId, dave.userId].sort());
  });

  test('a star is not an edit: updatedAt stays', async () => {
    const skill = await newSkill({ isPublic: true });
    await inB().put(`/api/v1/skills/${skill.id}/star`).expect(200);
    await inB().put(`/api/v1/skills/${skill.id}/rating`).send({ rating: 3 }).expect(200);
    expect((await inA().get(`/api/v1/skills/${skill.id}`).expect(200)).body.updatedAt).toBe(skill.updatedAt);
  });

  test('concurrent stars of many users add up exactly', async () => {
    const skill = await newSkill({ isPublic: true });
    const users = await Promise.all(Array.from({ length: 8 }, (_, i) => newUser(t.app, `fan${i}`)));
    await Promise.all(users.map((user) => as(t.app, user).put(`/api/v1/skills/${skill.id}/star`).expect(200)));
    expect((await inB().get(`/api/v1/skills/${skill.id}/public`).expect(200)).body.starCount).toBe(8);
    expect((await figures(skill.id)).star_count).toBe(8);
  });

  test('a private skill, an unknown id or a bad id cannot be starred', async () => {
    const hidden = await newSkill();
    expectProblem(await inB().put(`/api/v1/skills/${hidden.id}/star`), 404);
    // Not even by its own organization: it is not public.
    expectProblem(await inA().put(`/api/v1/skills/${hidden.id}/star`), 404);
    expectProblem(await inB().delete(`/api/v1/skills/${hidden.id}/star`), 404);
    expectProblem(await inB().put(`/api/v1/skills/${randomUUID()}/star`), 404);
    expectProblem(await inB().put('/api/v1/skills/abc/star'), 400);
    expect((await figures(hidden.id)).star_count).toBe(0);
    expect((await t.admin.query('select count(*)::int as n from public.skill_stars where skill_id = $1', [hidden.id])).rows[0].n).toBe(0);
  });
});

describe('ratings', () => {
  test('1..5, one per user, re-rating replaces, removing takes it back; the average is exact to two decimals', async () => {
    const skill = await newSkill({ isPublic: true });
    const url = `/api/v1/skills/${skill.id}/rating`;
    let res = await inB(carol).put(url).send({ rating: 5 }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ rating: 5, ratingCount: 1, myRating: 5 }));
    res = await inB(dave).put(url).send({ rating: 4 }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ rating: 4.5, ratingCount: 2, myRating: 4 }));
    res = await inA(bob).put(url).send({ rating: 4 }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ rating: 4.33, ratingCount: 3 }));
    res = await inB(carol).put(url).send({ rating: 1 }).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ rating: 3, ratingCount: 3, myRating: 1 }));
    expect(await figures(skill.id)).toEqual({ star_count: 0, rating_count: 3, rating_sum: 9, rating: '3.00' });
    expect((await inA(alice).get(`/api/v1/skills/${skill.id}`).expect(200)).body).toEqual(
      expect.objectContaining({ rating: 3, ratingCount: 3, myRating: null }),
    );

    res = await inB(dave).delete(url).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ rating: 2.5, ratingCount: 2, myRating: null }));
    await inB(dave).delete(url).expect(200);
    await inB(carol).delete(url).expect(200);
    res = await inA(bob).delete(url).expect(200);
    expect(res.body).toEqual(expect.objectContaining({ rating: null, ratingCount: 0 }));
    expect(await figures(skill.id)).toEqual({ star_count: 0, rating_count: 0, rating_sum: 0, rating: null });
  });

  test('0, 6, 3.5, "4", null, a missing or extra field are a 400 and change nothing', async () => {
    const skill = await newSkill({ isPublic: true });
    const url = `/api/v1/skills/${skill.id}/rating`;
    await inB(carol).put(url).send({ rating: 4 }).expect(200);
    for (const body of [{ rating: 0 }, { rating: 6 }, { rating: 3.5 }, { rating: '4' }, { rating: null }, {}, { rating: 4, userId: dave.userId }]) {
      const res = await inB(carol).put(url).send(body);
      expectProblem(res, 400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect(await figures(skill.id)).toEqual({ star_count: 0, rating_count: 1, rating_sum: 4, rating: '4.00' });
  });

  test('a private skill or an unknown id cannot be rated', async () => {
    const hidden = await newSkill();
    expectProblem(await inB().put(`/api/v1/skills/${hidden.id}/rating`).send({ rating: 5 }), 404);
    expectProblem(await inB().delete(`/api/v1/skills/${hidden.id}/rating`), 404);
    expectProblem(await inB().put(`/api/v1/skills/${randomUUID()}/rating`).send({ rating: 5 }), 404);
    expect(await figures(hidden.id)).toEqual({ star_count: 0, rating_count: 0, rating_sum: 0, rating: null });
  });
});

describe('when a skill stops being public', () => {
  test('its stars and ratings stay, but others can no longer see, star, rate or import it; sharing again brings them back', async () => {
    const skill = await newSkill({ isPublic: true });
    await inB(carol).put(`/api/v1/skills/${skill.id}/star`).expect(200);
    await inB(carol).put(`/api/v1/skills/${skill.id}/rating`).send({ rating: 4 }).expect(200);
    await inA().patch(`/api/v1/skills/${skill.id}`).send({ isPublic: false }).expect(200);

    expectProblem(await inB().get(`/api/v1/skills/${skill.id}/public`), 404);
    expectProblem(await inB(dave).put(`/api/v1/skills/${skill.id}/star`), 404);
    expectProblem(await inB(carol).delete(`/api/v1/skills/${skill.id}/star`), 404);
    expectProblem(await inB(dave).put(`/api/v1/skills/${skill.id}/rating`).send({ rating: 1 }), 404);
    expectProblem(await inB().post(`/api/v1/skills/${skill.id}/import`), 404);
    const listed = await inB().get('/api/v1/skills/public').query({ search: skill.name }).expect(200);
    expect(listed.body.data).toEqual([]);
    expect(await figures(skill.id)).toEqual({ star_count: 1, rating_count: 1, rating_sum: 4, rating: '4.00' });
    // Its own organization still reads its figures.
    expect((await inA().get(`/api/v1/skills/${skill.id}`).expect(200)).body).toEqual(
      expect.objectContaining({ isPublic: false, starCount: 1, rating: 4, ratingCount: 1 }),
    );

    await inA().patch(`/api/v1/skills/${skill.id}`).send({ isPublic: true }).expect(200);
    expect((await inB().get(`/api/v1/skills/${skill.id}/public`).expect(200)).body).toEqual(
      expect.objectContaining({ starCount: 1, isStarred: true, rating: 4, myRating: 4 }),
    );
  });
});

describe('POST /api/v1/skills/{skillId}/import', () => {
  test('copies the definition into the caller organization as a private skill of theirs, figures reset, origin kept', async () => {
    const source = await newSkill({ isPublic: true });
    await inB(dave).put(`/api/v1/skills/${source.id}/star`).expect(200);
    await inB(dave).put(`/api/v1/skills/${source.id}/rating`).send({ rating: 5 }).expect(200);
    const res = await inB(carol).post(`/api/v1/skills/${source.id}/import`).expect(201);
    expect(res.headers.location).toBe(`/api/v1/skills/${res.body.id}`);
    expect(res.body).toEqual({
      ...source,
      id: expect.any(String),
      organizationId: orgB,
      userId: carol.userId,
      isPublic: false,
      isActive: true,
      executionCount: 0,
      starCount: 0,
      rating: null,
      ratingCount: 0,
      isStarred: false,
      myRating: null,
      importedFromSkillId: source.id,
      lastExecutedAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.body.id).not.toBe(source.id);
    expect((await inB(dave).get(res.headers.location!).expect(200)).body.id).toBe(res.body.id);
    // Private: not in the catalogue, and A cannot see it.
    expectProblem(await inA().get(`/api/v1/skills/${res.body.id}/public`), 404);
    expectProblem(await inA().get(`/api/v1/skills/${res.body.id}`), 404);
    // The original is untouched.
    expect(await figures(source.id)).toEqual({ star_count: 1, rating_count: 1, rating_sum: 5, rating: '5.00' });
  });

  test("takes a suffix when the caller's name is taken, and the original owner may import too", async () => {
    const source = await newSkill({ isPublic: true });
    const first = await inB(carol).post(`/api/v1/skills/${source.id}/import`).expect(201);
    const second = await inB(carol).post(`/api/v1/skills/${source.id}/import`).expect(201);
    const third = await inB(carol).post(`/api/v1/skills/${source.id}/import`).expect(201);
    expect([first.body.name, second.body.name, third.body.name]).toEqual([source.name, `${source.name} (copy)`, `${source.name} (copy 2)`]);
    // Names are per owner: dave, in the same organization, gets the original name.
    expect((await inB(dave).post(`/api/v1/skills/${source.id}/import`).expect(201)).body.name).toBe(source.name);
    expect((await inA(alice).post(`/api/v1/skills/${source.id}/import`).expect(201)).body.name).toBe(`${source.name} (copy)`);
  });

  test('a private skill, an unknown id, a bad id or a service token: nothing is imported', async () => {
    const hidden = await newSkill();
    const before = (await t.admin.query('select count(*)::int as n from public.skills where organization_id = $1', [orgB])).rows[0].n;
    expectProblem(await inB().post(`/api/v1/skills/${hidden.id}/import`), 404);
    expectProblem(await inB().post(`/api/v1/skills/${randomUUID()}/import`), 404);
    expectProblem(await inB().post('/api/v1/skills/xyz/import'), 400);
    const service = mintToken(null, { secret: jwtSecret(), role: 'service_role' });
    const source = await newSkill({ isPublic: true });
    expectProblem(await request(t.app).post(`/api/v1/skills/${source.id}/import`).set('Authorization', `Bearer ${service}`).set('X-Organization-Id', orgB), 403);
    const after = (await t.admin.query('select count(*)::int as n from public.skills where organization_id = $1', [orgB])).rows[0].n;
    expect(after).toBe(before);
  });
});

describe('deleting a public skill', () => {
  test("takes its stars and ratings with it; imported copies stay, no longer naming it", async () => {
    const source = await newSkill({ isPublic: true });
    await inB(carol).put(`/api/v1/skills/${source.id}/star`).expect(200);
    await inB(dave).put(`/api/v1/skills/${source.id}/rating`).send({ rating: 3 }).expect(200);
    const copy = (await inB(carol).post(`/api/v1/skills/${source.id}/import`).expect(201)).body;
    await inA().delete(`/api/v1/skills/${source.id}`).expect(204);
    const left = await t.admin.query(
      `select (select count(*)::int from public.skill_stars where skill_id = $1) as stars,
              (select count(*)::int from public.skill_ratings where skill_id = $1) as ratings`,
      [source.id],
    );
    expect(left.rows[0]).toEqual({ stars: 0, ratings: 0 });
    expectProblem(await inB().get(`/api/v1/skills/${source.id}/public`), 404);
    const kept = (await inB(carol).get(`/api/v1/skills/${copy.id}`).expect(200)).body;
    expect(kept).toEqual({ ...copy, importedFromSkillId: null });
  });
});

describe('GET /api/v1/skills/stats', () => {
  test("the organization's skills and executions, exactly, and nothing of another organization", async () => {
    const org = await newOrganization(t.app, alice, 'Figures');
    const other = await newOrganization(t.app, carol, 'Other figures');
    const api = as(t.app, alice, org);
    const empty = await api.get('/api/v1/skills/stats').expect(200);
    expect(empty.body).toEqual({
      totalSkills: 0,
      activeSkills: 0,
      totalExecutions: 0,
      totalTokensUsed: 0,
      totalCostCents: 0,
      totalCostCentsExact: '0.0000',
      executionsByStatus: { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
      executionsByType: { manual: 0, habit: 0, reflex: 0, api: 0 },
      topSkillsByUsage: [],
    });

    const create = async (name: string, isActive = true) =>
      (await api.post('/api/v1/skills').send({ name, promptTemplate: 'Summarize {{text}} briefly.', isActive }).expect(201)).body.id as string;
    const busy = await create('Busy');
    const quiet = await create('Quiet');
    await create('Off', false);
    const run = (skill: string | null, status: string, type: string, tokens: number, cost: string) =>
      t.admin.query(
        `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, status, tokens_used, cost_cents)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [org, skill, alice.userId, type, status, tokens, cost],
      );
    await run(busy, 'completed', 'manual', 100, '0.0150');
    await run(busy, 'completed', 'habit', 200, '1.2345');
    await run(busy, 'failed', 'manual', 10, '0.0001');
    await run(quiet, 'completed', 'api', 5, '0.0004');
    await run(quiet, 'pending', 'reflex', 0, '0');
    await run(null, 'cancelled', 'manual', 1, '10.0000');
    // Another organization's runs count for it alone.
    const theirs = (await as(t.app, carol, other).post('/api/v1/skills').send({ name: 'Theirs', promptTemplate: 'Summarize {{text}} briefly.' }).expect(201))
      .body.id;
    await t.admin.query(
      `insert into public.skill_executions (organization_id, skill_id, user_id, status, tokens_used, cost_cents) values ($1, $2, $3, 'completed', 999, 99)`,
      [other, theirs, carol.userId],
    );

    const res = await api.get('/api/v1/skills/stats').expect(200);
    expect(res.body).toEqual({
      totalSkills: 3,
      activeSkills: 2,
      totalExecutions: 6,
      totalTokensUsed: 316,
      totalCostCents: 11.25,
      totalCostCentsExact: '11.2500',
      executionsByStatus: { pending: 1, running: 0, completed: 3, failed: 1, cancelled: 1 },
      executionsByType: { manual: 3, habit: 1, reflex: 1, api: 1 },
      topSkillsByUsage: [
        { skillId: busy, name: 'Busy', count: 2 },
        { skillId: quiet, name: 'Quiet', count: 1 },
      ],
    });
    // bob is not a member of this organization: 404, as for any organization one is not in.
    expectProblem(await as(t.app, bob, org).get('/api/v1/skills/stats'), 404);
    const theirStats = await as(t.app, carol, other).get('/api/v1/skills/stats').expect(200);
    expect(theirStats.body).toEqual(expect.objectContaining({ totalSkills: 1, totalExecutions: 1, totalTokensUsed: 999, totalCostCents: 99 }));
    // The per-skill figures are still there.
    expect((await api.get(`/api/v1/skills/${busy}/stats`).expect(200)).body).toEqual(expect.objectContaining({ skillId: busy, total: 3 }));
  });
});
