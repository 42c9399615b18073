import { as, createTestApp, newUser, type TestApp, type TestUser } from './support/harness';

// The web frontend's Skill and SkillStats (types/skills.ts) read our JSON
// as it is: every field they declare, under that name, with its JSON type.
// Optional fields (`?`) may be null where ours are nullable; required ones
// are always present.

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'date-time';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matches(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'date-time':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /Z$/.test(value);
    default:
      return typeOf(value) === type;
  }
}

/** Each field of the frontend's type: its JSON type, and whether it may be null (the frontend's optional fields). */
function expectShape(body: Record<string, unknown>, shape: Record<string, [JsonType, 'required' | 'optional']>): void {
  for (const [field, [type, presence]] of Object.entries(shape)) {
    expect({ field, present: field in body }).toEqual({ field, present: true });
    const value = body[field];
    const ok = matches(value, type) || (presence === 'optional' && value === null);
    expect({ field, type: typeOf(value), ok }).toEqual({ field, type: typeOf(value), ok: true });
  }
}

// types/skills.ts, interface Skill.
const SKILL: Record<string, [JsonType, 'required' | 'optional']> = {
  id: ['string', 'required'],
  userId: ['string', 'required'],
  name: ['string', 'required'],
  description: ['string', 'optional'],
  category: ['string', 'required'],
  promptTemplate: ['string', 'required'],
  model: ['string', 'required'],
  parameters: ['object', 'required'],
  inputSchema: ['array', 'optional'],
  outputFormat: ['string', 'required'],
  isActive: ['boolean', 'required'],
  isPublic: ['boolean', 'optional'],
  executionCount: ['integer', 'required'],
  starCount: ['integer', 'optional'],
  rating: ['number', 'optional'],
  ratingCount: ['integer', 'optional'],
  lastExecutedAt: ['date-time', 'optional'],
  createdAt: ['date-time', 'required'],
  updatedAt: ['date-time', 'required'],
};

// types/skills.ts, interface SkillStats.
const SKILL_STATS: Record<string, [JsonType, 'required' | 'optional']> = {
  totalSkills: ['integer', 'required'],
  activeSkills: ['integer', 'required'],
  totalExecutions: ['integer', 'required'],
  totalTokensUsed: ['integer', 'required'],
  totalCostCents: ['number', 'required'],
  executionsByStatus: ['object', 'required'],
  executionsByType: ['object', 'required'],
  topSkillsByUsage: ['array', 'required'],
};

let t: TestApp;
let user: TestUser;
let reader: TestUser;

beforeAll(async () => {
  t = createTestApp();
  user = await newUser(t.app, 'frontend-skills');
  reader = await newUser(t.app, 'frontend-reader');
});
afterAll(() => t.close());

describe("the frontend's Skill", () => {
  test("a create request with the frontend's CreateSkillRequest fields is accepted, and the answer is a Skill", async () => {
    // Every field CreateSkillRequest declares, as the frontend's form sends them.
    const created = await as(t.app, user)
      .post('/api/v1/skills')
      .send({
        name: 'Code Review Assistant',
        description: 'Analyzes code for potential issues',
        category: 'analysis',
        promptTemplate: 'Review this code: {{code}} ({{language}})',
        model: 'claude-3-5-sonnet-20241022',
        parameters: { temperature: 0.7, max_tokens: 4096, top_p: 0.9, top_k: 40, stop_sequences: ['END'] },
        inputSchema: [
          { name: 'code', type: 'string', description: 'The code to review', required: true },
          { name: 'language', type: 'string', description: 'Programming language', required: false, default: 'auto-detect' },
        ],
        outputFormat: 'markdown',
        isActive: true,
        isPublic: true,
      })
      .expect(201);
    expectShape(created.body, SKILL);
    expect(created.body).toEqual(expect.objectContaining({ isPublic: true, starCount: 0, rating: null, ratingCount: 0 }));

    // UpdateSkillRequest's fields, and the sharing switch.
    const updated = await as(t.app, user)
      .patch(`/api/v1/skills/${created.body.id}`)
      .send({ description: 'Now shorter', isActive: false, isPublic: true })
      .expect(200);
    expectShape(updated.body, SKILL);

    // Rated: `rating` is a JSON number (the average), `ratingCount` an integer.
    await as(t.app, reader).put(`/api/v1/skills/${created.body.id}/rating`).send({ rating: 4 }).expect(200);
    await as(t.app, reader).put(`/api/v1/skills/${created.body.id}/star`).expect(200);
    const read = await as(t.app, user).get(`/api/v1/skills/${created.body.id}`).expect(200);
    expectShape(read.body, SKILL);
    expect(read.body).toEqual(expect.objectContaining({ starCount: 1, rating: 4, ratingCount: 1 }));
    expect(typeof read.body.rating).toBe('number');

    // SkillWithRelations: the skill with its habits, reflexes and recent executions, in one call.
    await t.admin.query(`insert into public.skill_executions (organization_id, skill_id, user_id, input) values ($1, $2, $3, '{"code": "x = 1"}')`, [
      created.body.organizationId,
      created.body.id,
      user.userId,
    ]);
    const full = await as(t.app, user).get(`/api/v1/skills/${created.body.id}?include=habits,reflexes,recentExecutions`).expect(200);
    expectShape(full.body, { ...SKILL, habits: ['array', 'required'], reflexes: ['array', 'required'], recentExecutions: ['array', 'required'] });
    expect(full.body.recentExecutions).toHaveLength(1);

    const listed = await as(t.app, user).get('/api/v1/skills').expect(200);
    for (const skill of listed.body.data) expectShape(skill, SKILL);
  });

  test('a public skill carries the catalogue fields the frontend shows', async () => {
    const created = await as(t.app, user)
      .post('/api/v1/skills')
      .send({ name: 'Shared helper', promptTemplate: 'Help with {{task}} please.', isPublic: true })
      .expect(201);
    const seen = await as(t.app, reader).get(`/api/v1/skills/${created.body.id}/public`).expect(200);
    for (const field of ['id', 'name', 'description', 'category', 'promptTemplate', 'model', 'parameters', 'inputSchema', 'outputFormat', 'isPublic', 'starCount', 'rating', 'ratingCount', 'createdAt', 'updatedAt']) {
      expect({ field, present: field in seen.body }).toEqual({ field, present: true });
    }
    expect(seen.body.isPublic).toBe(true);
    const imported = await as(t.app, reader).post(`/api/v1/skills/${created.body.id}/import`).expect(201);
    expectShape(imported.body, SKILL);
  });
});

describe("the frontend's SkillStats", () => {
  test('GET /skills/stats answers every field, with a record for every status and type', async () => {
    const skill = (await as(t.app, user).post('/api/v1/skills').send({ name: 'Used once', promptTemplate: 'Say {{what}} now please.' }).expect(201)).body;
    await t.admin.query(
      `insert into public.skill_executions (organization_id, skill_id, user_id, status, tokens_used, cost_cents) values ($1, $2, $3, 'completed', 42, 2.5)`,
      [skill.organizationId, skill.id, user.userId],
    );
    const res = await as(t.app, user).get('/api/v1/skills/stats').expect(200);
    expectShape(res.body, SKILL_STATS);
    expect(res.body.topSkillsByUsage).toEqual([{ skillId: skill.id, name: 'Used once', count: 1 }]);
    expect(res.body).toEqual(expect.objectContaining({ totalExecutions: 2, totalTokensUsed: 42, totalCostCents: 2.5 }));
    expect(Object.keys(res.body.executionsByStatus).sort()).toEqual(['cancelled', 'completed', 'failed', 'pending', 'running']);
    expect(Object.keys(res.body.executionsByType).sort()).toEqual(['api', 'habit', 'manual', 'reflex']);
    for (const count of [...Object.values(res.body.executionsByStatus), ...Object.values(res.body.executionsByType)]) expect(Number.isInteger(count)).toBe(true);
    expect(res.body.totalSkills).toBeGreaterThanOrEqual(2);
    expect(typeof res.body.totalCostCentsExact).toBe('string');
    expect(Number(res.body.totalCostCentsExact)).toBe(res.body.totalCostCents);
  });
});
