import { randomUUID } from 'node:crypto';
import { withRequestTransaction } from '../src/db/transaction';
import { identityFromClaims } from '../src/auth/identity';
import { verifyHs256 } from '../src/auth/jwt';
import { addMember, as, createTestApp, expectProblem, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// Two organizations, an owner in each, and one person who belongs to both.
let t: TestApp;
let ownerA: TestUser;
let ownerB: TestUser;
let both: TestUser;
let orgA: string;
let orgB: string;
let projectA: { id: string; name: string };
let projectB: { id: string; name: string };

beforeAll(async () => {
  t = createTestApp();
  ownerA = await newUser(t.app, 'owner-a');
  ownerB = await newUser(t.app, 'owner-b');
  both = await newUser(t.app, 'both');
  orgA = await newOrganization(t.app, ownerA, 'Alpha');
  orgB = await newOrganization(t.app, ownerB, 'Beta');
  await addMember(t, orgA, both, 'member');
  await addMember(t, orgB, both, 'member');
  projectA = (await as(t.app, ownerA, orgA).post('/api/v1/projects').send({ name: 'Alpha Core', type: 'repository', privacy: 'shared' }).expect(201)).body;
  projectB = (await as(t.app, ownerB, orgB).post('/api/v1/projects').send({ name: 'Beta Core', type: 'repository', privacy: 'shared' }).expect(201)).body;
  // Children of A's project, so that the database-level checks below have rows to hide.
  await t.admin.query(
    `insert into public.project_repositories (project_id, provider, repository_url, repository_name) values ($1, 'github', 'https://github.com/alpha/core', 'alpha/core')`,
    [projectA.id],
  );
  await t.admin.query(
    `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key)
     values ($1, 'readme.md', 'readme.md', 'text/markdown', 1, repeat('b', 64), 'alpha/readme')`,
    [projectA.id],
  );
  await t.admin.query(`insert into public.ingestion_progress (project_id) values ($1)`, [projectA.id]);
  await t.admin.query(
    `insert into public.project_invitations (project_id, email, token_hash) values ($1, 'guest@example.test', sha256('alpha'::bytea))`,
    [projectA.id],
  );
});
afterAll(() => t.close());

async function projectRow(id: string) {
  return (await t.admin.query('select name, description from public.projects where id = $1', [id])).rows[0];
}

describe('an outsider organization', () => {
  test('cannot read, change or delete a project of another organization, by id, with or without the header', async () => {
    for (const header of [undefined, orgB]) {
      const outsider = as(t.app, ownerB, header);
      expectProblem(await outsider.get(`/api/v1/projects/${projectA.id}`), 404);
      expectProblem(await outsider.patch(`/api/v1/projects/${projectA.id}`).send({ description: 'pwned' }), 404);
      expectProblem(await outsider.delete(`/api/v1/projects/${projectA.id}`), 404);
    }
    expect(await projectRow(projectA.id)).toEqual({ name: 'Alpha Core', description: null });
  });

  test('cannot select the other organization through the header', async () => {
    const outsider = as(t.app, ownerB, orgA);
    expectProblem(await outsider.get('/api/v1/projects'), 404);
    expectProblem(await outsider.get(`/api/v1/projects/${projectA.id}`), 404);
    expectProblem(await outsider.post('/api/v1/projects').send({ name: 'Smuggled In', type: 'manual' }), 404);
    expectProblem(await outsider.post('/api/v1/projects/validate-name').send({ name: 'Alpha Core' }), 404);
    expectProblem(await as(t.app, ownerB).get(`/api/v1/organizations/${orgA}`), 404);
    const smuggled = await t.admin.query(`select count(*)::int as n from public.projects where name = 'Smuggled In'`);
    expect(smuggled.rows[0].n).toBe(0);
  });

  test('lists only its own projects, and a name search does not reach across', async () => {
    const list = await as(t.app, ownerB, orgB).get('/api/v1/projects?search=Core').expect(200);
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([projectB.id]);
    expect(list.body.total).toBe(1);
    // The same name is free in B: uniqueness is per organization.
    const verdict = await as(t.app, ownerB, orgB).post('/api/v1/projects/validate-name').send({ name: 'Alpha Core' }).expect(200);
    expect(verdict.body.available).toBe(true);
  });
});

describe('a member of both organizations', () => {
  test('sees each organization only through the header', async () => {
    const inA = await as(t.app, both, orgA).get('/api/v1/projects').expect(200);
    const inB = await as(t.app, both, orgB).get('/api/v1/projects').expect(200);
    expect(inA.body.data.map((p: { id: string }) => p.id)).toEqual([projectA.id]);
    expect(inB.body.data.map((p: { id: string }) => p.id)).toEqual([projectB.id]);
    // A's project does not exist while B is selected.
    expectProblem(await as(t.app, both, orgB).get(`/api/v1/projects/${projectA.id}`), 404);
    await as(t.app, both, orgA).get(`/api/v1/projects/${projectA.id}`).expect(200);
    // Without the header: the personal organization (the default), where neither project lives.
    const fallback = await as(t.app, both).get('/api/v1/projects').expect(200);
    expect(fallback.body.data).toEqual([]);
  });

  test('creates projects only in the organization selected', async () => {
    const created = await as(t.app, both, orgB).post('/api/v1/projects').send({ name: 'Made In Beta', type: 'manual' }).expect(201);
    expect(created.body.organizationId).toBe(orgB);
    expectProblem(await as(t.app, both, orgA).get(`/api/v1/projects/${created.body.id}`), 404);
  });
});

describe('the database itself', () => {
  // A handler that forgets every filter must still see only its organization's rows.
  async function unfilteredCount(user: TestUser, organizationId: string | undefined, table: string): Promise<number> {
    const identity = identityFromClaims(verifyHs256(user.token, jwtSecret()));
    return withRequestTransaction(t.pool, identity, { requestedOrganizationId: organizationId, statementTimeoutMs: 5000 }, async (tx) => {
      const result = await tx.query<{ n: number }>(`select count(*)::int as n from public.${table}`);
      return result.rows[0]!.n;
    });
  }

  test.each(['projects', 'project_repositories', 'project_files', 'ingestion_progress', 'project_invitations', 'project_members'])(
    'an unfiltered select on %s shows an outsider nothing of the other organization',
    async (table) => {
      const insider = await unfilteredCount(ownerA, orgA, table);
      expect(insider).toBeGreaterThan(0);
      const outsiderInOwn = await unfilteredCount(ownerB, orgB, table);
      const leaked = await t.admin.query(`select count(*)::int as n from public.${table} where organization_id = $1`, [orgB]);
      expect(outsiderInOwn).toBe(leaked.rows[0].n);
    },
  );

  test('unfiltered writes by an outsider touch nothing', async () => {
    const identity = identityFromClaims(verifyHs256(ownerB.token, jwtSecret()));
    const changed = await withRequestTransaction(t.pool, identity, { requestedOrganizationId: orgB, statementTimeoutMs: 5000 }, async (tx) => {
      const updated = await tx.query(`update public.projects set description = 'overwritten' where id = $1`, [projectA.id]);
      const deleted = await tx.query('delete from public.project_repositories where project_id = $1', [projectA.id]);
      return (updated.rowCount ?? 0) + (deleted.rowCount ?? 0);
    });
    expect(changed).toBe(0);
    expect(await projectRow(projectA.id)).toEqual({ name: 'Alpha Core', description: null });
  });

  test('an outsider cannot insert a child row into another organization project', async () => {
    const identity = identityFromClaims(verifyHs256(ownerB.token, jwtSecret()));
    await expect(
      withRequestTransaction(t.pool, identity, { requestedOrganizationId: orgB, statementTimeoutMs: 5000 }, (tx) =>
        tx.query(
          `insert into public.project_repositories (project_id, provider, repository_url, repository_name) values ($1, 'github', $2, 'x/y')`,
          [projectA.id, `https://github.com/x/${randomUUID()}`],
        ),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });
});
