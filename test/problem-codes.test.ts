import request from 'supertest';
import { loadContract } from '../src/http/contract';
import { as, createTestApp, expectProblem, newUser, type TestApp, type TestUser } from './support/harness';

// Every problem carries a code from the contract's list, so that a client
// can branch on it instead of parsing the detail text.
let t: TestApp;
let alice: TestUser;

beforeAll(async () => {
  t = createTestApp();
  alice = await newUser(t.app, 'codes');
});
afterAll(() => t.close());

const listedCodes = (): string[] =>
  ((loadContract().components!.schemas!.Problem as { properties: { code: { enum: string[] } } }).properties.code.enum);

function expectCode(res: request.Response, status: number, code: string): void {
  expectProblem(res, status);
  expect(res.body.code).toBe(code);
  expect(listedCodes()).toContain(code);
}

test('the kinds of problem have their codes', async () => {
  expectCode(await request(t.app).get('/api/v1/projects'), 401, 'unauthorized');
  expectCode(await as(t.app, alice).post('/api/v1/projects').send({ name: 'x', type: 'nonsense' }), 400, 'validation_failed');
  expectCode(await as(t.app, alice).get('/api/v1/projects/5d0c7f0e-6a8f-4a4e-9f57-0d1c2b3a4e5f'), 404, 'not_found');
  expectCode(await request(t.app).options('/api/v1/projects'), 405, 'method_not_allowed');
  expectCode(await as(t.app, alice).post('/api/v1/projects').set('Content-Type', 'text/plain').send('hello'), 415, 'unsupported_media_type');
});

test('a duplicate names its exact case', async () => {
  await as(t.app, alice).post('/api/v1/projects').send({ name: 'Twice Named', type: 'manual' }).expect(201);
  const again = await as(t.app, alice).post('/api/v1/projects').send({ name: 'twice named', type: 'manual' });
  expectCode(again, 409, 'project_name_taken');
  expect(again.body.errors[0].path).toBe('/body/name');
  await as(t.app, alice).post('/api/v1/skills').send({ name: 'Same Skill', promptTemplate: 'Summarize this for me.' }).expect(201);
  expectCode(await as(t.app, alice).post('/api/v1/skills').send({ name: 'same skill', promptTemplate: 'Summarize this for me.' }), 409, 'skill_name_taken');
});

test('the contract lists each code once, in snake case', () => {
  const codes = listedCodes();
  expect(new Set(codes).size).toBe(codes.length);
  for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
});
