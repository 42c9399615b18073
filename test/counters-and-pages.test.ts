import pg from 'pg';
import { as, createTestApp, databaseUrl, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import { EXACT_COUNT_LIMIT } from '../src/http/pagination';

let t: TestApp;
let owner: TestUser;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'counter');
});
afterAll(() => t.close());

test('totalRepos and totalFiles stay exact under concurrent inserts and deletes', async () => {
  const org = await newOrganization(t.app, owner, 'Counters');
  const project = (await as(t.app, owner, org).post('/api/v1/projects').send({ name: 'Busy Project', type: 'repository' }).expect(201)).body;
  const writers = 24;
  // Each insert runs on its own connection (as the owner, past the API), so they really do race.
  const direct = new pg.Pool({ connectionString: databaseUrl(), max: 5 });
  await Promise.all(
    Array.from({ length: writers }, (_, i) =>
      Promise.all([
        direct.query(
          `insert into public.project_repositories (project_id, provider, repository_url, repository_name) values ($1, 'gitlab', $2, $3)`,
          [project.id, `https://gitlab.com/team/repo-${i}`, `team/repo-${i}`],
        ),
        direct.query(
          `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key)
           values ($1, $2, $2, 'text/plain', 1, repeat('c', 64), $2)`,
          [project.id, `file-${i}.txt`],
        ),
      ]),
    ),
  );
  let counts = (await as(t.app, owner, org).get(`/api/v1/projects/${project.id}`).expect(200)).body;
  expect([counts.totalRepos, counts.totalFiles]).toEqual([writers, writers]);

  await Promise.all(
    Array.from({ length: writers / 2 }, (_, i) =>
      Promise.all([
        direct.query(`delete from public.project_repositories where project_id = $1 and repository_name = $2`, [project.id, `team/repo-${i}`]),
        direct.query(`delete from public.project_files where project_id = $1 and path = $2`, [project.id, `file-${i}.txt`]),
      ]),
    ),
  );
  await direct.end();
  counts = (await as(t.app, owner, org).get(`/api/v1/projects/${project.id}`).expect(200)).body;
  expect([counts.totalRepos, counts.totalFiles]).toEqual([writers / 2, writers / 2]);
});

test('above the exact-count limit, total is an estimate and says so; a narrow filter stays exact', async () => {
  const org = await newOrganization(t.app, owner, 'Large');
  const rows = EXACT_COUNT_LIMIT + 50;
  await t.admin.query(
    `insert into public.projects (organization_id, user_id, name, type, privacy)
     select $1, $2, 'Bulk ' || g, 'manual', 'shared' from generate_series(1, $3) g`,
    [org, owner.userId, rows],
  );
  await t.admin.query('analyze public.projects');
  const page = await as(t.app, owner, org).get('/api/v1/projects?pageSize=5').expect(200);
  expect(page.body.totalExact).toBe(false);
  expect(page.body.total).toBeGreaterThan(EXACT_COUNT_LIMIT);
  expect(page.body.data).toHaveLength(5);
  expect(page.body.hasMore).toBe(true);

  const narrow = await as(t.app, owner, org).get('/api/v1/projects?search=Bulk 1000').expect(200);
  // "Bulk 1000" and "Bulk 10000".."Bulk 10009"
  expect(narrow.body).toMatchObject({ totalExact: true, total: 11 });
});
