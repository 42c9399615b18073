import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

type Role = 'admin' | 'manager' | 'developer' | 'viewer' | 'auditor';

let t: TestApp;
let owner: TestUser; // owns the organization and creates the projects
let orgId: string;
let plain: TestUser; // organization member, on no project
let orgAdmin: TestUser; // organization admin, on no project
let outsider: TestUser; // owner of another organization
let outsiderOrg: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'm-owner');
  plain = await newUser(t.app, 'm-plain');
  orgAdmin = await newUser(t.app, 'm-orgadmin');
  outsider = await newUser(t.app, 'm-outsider');
  orgId = await newOrganization(t.app, owner, 'Members');
  outsiderOrg = await newOrganization(t.app, outsider, 'Elsewhere');
  await addMember(t, orgId, plain, 'member');
  await addMember(t, orgId, orgAdmin, 'admin');
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);
const membersUrl = (projectId: string) => `/api/v1/projects/${projectId}/members`;

async function createProject(privacy: 'private' | 'shared' = 'private', creator = owner): Promise<{ id: string }> {
  const res = await api(creator).post('/api/v1/projects').send({ name: `Team ${randomUUID().slice(0, 8)}`, type: 'manual', privacy });
  expect(res.status).toBe(201);
  return res.body;
}

/** A new user in the organization, put on the project with `role` directly in the database. */
async function projectMember(projectId: string, role: Role, label: string = role): Promise<TestUser & { memberId: string }> {
  const user = await newUser(t.app, `m-${label}`);
  await addMember(t, orgId, user, 'member');
  const row = await t.admin.query<{ id: string }>(
    'insert into public.project_members (project_id, user_id, email, role, accepted_at) values ($1, $2, $3, $4, now()) returning id',
    [projectId, user.userId, user.email, role],
  );
  return { ...user, memberId: row.rows[0]!.id };
}

async function memberRows(projectId: string) {
  const rows = await t.admin.query(
    `select id, user_id, role, notify_on_ingestion, notify_on_error, notify_on_team_changes
     from public.project_members where project_id = $1 order by id`,
    [projectId],
  );
  return rows.rows;
}

async function creatorMemberId(projectId: string): Promise<string> {
  const row = await t.admin.query<{ id: string }>(
    'select pm.id from public.project_members pm join public.projects p on p.id = pm.project_id and p.user_id = pm.user_id where pm.project_id = $1',
    [projectId],
  );
  return row.rows[0]!.id;
}

describe('GET /projects/{projectId}/members', () => {
  test('oldest first, the creator flagged; viewers and auditors read it too', async () => {
    const project = await createProject();
    const viewer = await projectMember(project.id, 'viewer');
    const auditor = await projectMember(project.id, 'auditor');
    for (const reader of [owner, viewer, auditor, orgAdmin]) {
      const res = await api(reader).get(membersUrl(project.id)).expect(200);
      expect(res.body).toMatchObject({ total: 3, totalExact: true, page: 1, pageSize: 20, hasMore: false });
      expect(res.body.data.map((m: { userId: string }) => m.userId)).toEqual([owner.userId, viewer.userId, auditor.userId]);
      expect(res.body.data.map((m: { isCreator: boolean }) => m.isCreator)).toEqual([true, false, false]);
    }
    const first = (await api(owner).get(membersUrl(project.id)).expect(200)).body.data[0];
    expect(first).toEqual({
      id: expect.any(String),
      projectId: project.id,
      userId: owner.userId,
      email: owner.email,
      name: null,
      avatarUrl: null,
      role: 'admin',
      notifyOnIngestion: true,
      notifyOnError: true,
      notifyOnTeamChanges: true,
      invitedAt: expect.any(String),
      acceptedAt: expect.any(String),
      lastActiveAt: null,
      isCreator: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  test('filters by role and pages without overlap', async () => {
    const project = await createProject();
    const devs = [await projectMember(project.id, 'developer'), await projectMember(project.id, 'developer')];
    await projectMember(project.id, 'viewer');
    const filtered = await api(owner).get(`${membersUrl(project.id)}?role=developer`).expect(200);
    expect(filtered.body.total).toBe(2);
    expect(filtered.body.data.map((m: { userId: string }) => m.userId)).toEqual(devs.map((d) => d.userId));

    const page1 = await api(owner).get(`${membersUrl(project.id)}?pageSize=2`).expect(200);
    const page2 = await api(owner).get(`${membersUrl(project.id)}?pageSize=2&page=2`).expect(200);
    expect(page1.body).toMatchObject({ total: 4, hasMore: true });
    expect(page2.body).toMatchObject({ total: 4, hasMore: false });
    const ids = [...page1.body.data, ...page2.body.data].map((m: { id: string }) => m.id);
    expect(new Set(ids).size).toBe(4);
  });

  test('a plain organization member reads a shared project\'s members, not a private one\'s (404)', async () => {
    const shared = await createProject('shared');
    const hidden = await createProject('private');
    await api(plain).get(membersUrl(shared.id)).expect(200);
    expectProblem(await api(plain).get(membersUrl(hidden.id)), 404);
  });

  test('400 for bad input, 401 without a token, 404 for an unknown project', async () => {
    const project = await createProject();
    expectProblem(await api(owner).get(`${membersUrl(project.id)}?role=owner`), 400);
    expectProblem(await api(owner).get(`${membersUrl(project.id)}?pageSize=0`), 400);
    expectProblem(await api(owner).get(`${membersUrl(project.id)}?colour=red`), 400);
    expectProblem(await api(owner).get(membersUrl('not-a-uuid')), 400);
    expectProblem(await request(t.app).get(membersUrl(project.id)), 401);
    expectProblem(await api(owner).get(membersUrl(randomUUID())), 404);
  });
});

describe('POST /projects/{projectId}/members', () => {
  test('adds an organization member by userId, as viewer by default, filled from their profile', async () => {
    const project = await createProject();
    const person = await newUser(t.app, 'm-profiled');
    await addMember(t, orgId, person, 'member');
    await t.admin.query(`update public.profiles set full_name = 'Pat Profile', avatar_url = 'https://img.example.test/pat.png' where id = $1`, [
      person.userId,
    ]);
    const res = await api(owner).post(membersUrl(project.id)).send({ userId: person.userId }).expect(201);
    expect(res.body).toMatchObject({
      projectId: project.id,
      userId: person.userId,
      email: person.email,
      name: 'Pat Profile',
      avatarUrl: 'https://img.example.test/pat.png',
      role: 'viewer',
      isCreator: false,
      lastActiveAt: null,
    });
    expect(res.body.acceptedAt).toEqual(expect.any(String));
    expect(res.headers.location).toBe(`${membersUrl(project.id)}/${res.body.id}`);
    // They now see the private project.
    await api(person).get(`/api/v1/projects/${project.id}`).expect(200);
  });

  test('adds by email, case-insensitively, with a role; a manager may add too', async () => {
    const project = await createProject();
    const manager = await projectMember(project.id, 'manager');
    const person = await newUser(t.app, 'm-byemail');
    await addMember(t, orgId, person, 'member');
    const res = await api(manager).post(membersUrl(project.id)).send({ email: person.email.toUpperCase(), role: 'developer' }).expect(201);
    expect(res.body).toMatchObject({ userId: person.userId, email: person.email, role: 'developer' });
    const stored = await t.admin.query('select role from public.project_members where project_id = $1 and user_id = $2', [project.id, person.userId]);
    expect(stored.rows).toEqual([{ role: 'developer' }]);
  });

  test.each([
    ['neither userId nor email', { role: 'viewer' }],
    ['both userId and email', { userId: randomUUID(), email: 'both@example.test' }],
    ['a malformed email', { email: 'not-an-address' }],
    ['a malformed userId', { userId: '1234' }],
    ['an unknown role', { email: 'x@example.test', role: 'owner' }],
    ['an unknown field', { email: 'x@example.test', admin: true }],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const project = await createProject();
    const before = await memberRows(project.id);
    const res = await api(owner).post(membersUrl(project.id)).send(body);
    expectProblem(res, 400);
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('422 for a userId of someone outside the organization or of nobody: invite them by email instead', async () => {
    const project = await createProject();
    const before = await memberRows(project.id);
    for (const body of [{ userId: outsider.userId }, { userId: randomUUID() }]) {
      const res = await api(owner).post(membersUrl(project.id)).send(body);
      expectProblem(res, 422);
      expect(res.body.detail).toMatch(/invited by email/i);
    }
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('202 for an email of nobody in the organization: an invitation with the role, preferences and inviteMessage', async () => {
    const project = await createProject();
    const before = await memberRows(project.id);
    for (const email of [outsider.email, `nobody-${randomUUID().slice(0, 8)}@example.test`]) {
      const res = await api(owner)
        .post(membersUrl(project.id))
        .send({ projectId: project.id, email, role: 'developer', notifyOnError: false, notifyOnTeamChanges: false, inviteMessage: 'Join us' })
        .expect(202);
      expect(res.body).toMatchObject({
        email,
        status: 'sent',
        outcome: 'invited',
        error: null,
        memberId: res.body.invitation.id,
        token: expect.any(String),
        invitation: { email: email.toLowerCase(), role: 'developer', message: 'Join us', notifyOnIngestion: true, notifyOnError: false, notifyOnTeamChanges: false },
      });
      // The same address again: its invitation is pending (409), not a second one.
      const again = await api(owner).post(membersUrl(project.id)).send({ email });
      expectProblem(again, 409);
      expect(again.body.code).toBe('invitation_already_pending');
    }
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('409 for someone already on the project', async () => {
    const project = await createProject();
    const viewer = await projectMember(project.id, 'viewer');
    const before = await memberRows(project.id);
    expectProblem(await api(owner).post(membersUrl(project.id)).send({ userId: viewer.userId, role: 'admin' }), 409);
    expectProblem(await api(owner).post(membersUrl(project.id)).send({ email: owner.email }), 409);
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('403 for viewers, auditors, developers and a plain organization member; nothing is stored', async () => {
    const project = await createProject('shared');
    const readers = [
      await projectMember(project.id, 'viewer'),
      await projectMember(project.id, 'auditor'),
      await projectMember(project.id, 'developer'),
      plain,
    ];
    const before = await memberRows(project.id);
    for (const reader of readers) {
      expectProblem(await api(reader).post(membersUrl(project.id)).send({ userId: orgAdmin.userId }), 403);
    }
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('401 without a token; 404 for an unknown or invisible project', async () => {
    const project = await createProject();
    expectProblem(await request(t.app).post(membersUrl(project.id)).send({ userId: plain.userId }), 401);
    expectProblem(await api(owner).post(membersUrl(randomUUID())).send({ userId: plain.userId }), 404);
    expectProblem(await api(plain).post(membersUrl(project.id)).send({ userId: plain.userId }), 404);
  });
});

describe('PATCH /projects/{projectId}/members/{memberId}', () => {
  test('an editor changes a role and notifications; updatedAt moves', async () => {
    const project = await createProject();
    const dev = await projectMember(project.id, 'developer');
    const before = (await api(owner).get(membersUrl(project.id)).expect(200)).body.data[1];
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await api(owner).patch(`${membersUrl(project.id)}/${dev.memberId}`).send({ role: 'manager', notifyOnError: false }).expect(200);
    expect(res.body).toMatchObject({ id: dev.memberId, role: 'manager', notifyOnError: false, notifyOnIngestion: true, isCreator: false });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
    // The new manager now edits the project.
    await api(dev).patch(`/api/v1/projects/${project.id}`).send({ description: 'managed' }).expect(200);
  });

  test('a member changes their own notification settings, nothing else', async () => {
    const project = await createProject();
    const viewer = await projectMember(project.id, 'viewer');
    const auditor = await projectMember(project.id, 'auditor');
    const own = await api(viewer)
      .patch(`${membersUrl(project.id)}/${viewer.memberId}`)
      .send({ notifyOnIngestion: false, notifyOnTeamChanges: false })
      .expect(200);
    expect(own.body).toMatchObject({ role: 'viewer', notifyOnIngestion: false, notifyOnError: true, notifyOnTeamChanges: false });

    const before = await memberRows(project.id);
    expectProblem(await api(viewer).patch(`${membersUrl(project.id)}/${viewer.memberId}`).send({ role: 'admin' }), 403);
    expectProblem(await api(viewer).patch(`${membersUrl(project.id)}/${viewer.memberId}`).send({ role: 'admin', notifyOnError: false }), 403);
    expectProblem(await api(viewer).patch(`${membersUrl(project.id)}/${auditor.memberId}`).send({ notifyOnError: false }), 403);
    expectProblem(await api(auditor).patch(`${membersUrl(project.id)}/${viewer.memberId}`).send({ role: 'auditor' }), 403);
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('a plain organization member cannot change anyone on a shared project (403)', async () => {
    const project = await createProject('shared');
    const viewer = await projectMember(project.id, 'viewer');
    expectProblem(await api(plain).patch(`${membersUrl(project.id)}/${viewer.memberId}`).send({ notifyOnError: false }), 403);
    expectProblem(await api(plain).patch(`${membersUrl(project.id)}/${viewer.memberId}`).send({ role: 'admin' }), 403);
  });

  test('the creator cannot be demoted, by anyone (409); setting admin again is fine', async () => {
    const project = await createProject();
    const creator = await creatorMemberId(project.id);
    const projectAdmin = await projectMember(project.id, 'admin');
    for (const editor of [owner, orgAdmin, projectAdmin]) {
      const res = await api(editor).patch(`${membersUrl(project.id)}/${creator}`).send({ role: 'viewer' });
      expectProblem(res, 409);
      expect(res.body.detail).toMatch(/creator/);
    }
    await api(owner).patch(`${membersUrl(project.id)}/${creator}`).send({ role: 'admin', notifyOnError: false }).expect(200);
    const row = await t.admin.query('select role, notify_on_error from public.project_members where id = $1', [creator]);
    expect(row.rows[0]).toEqual({ role: 'admin', notify_on_error: false });
  });

  test('400 for bad input, 401 without a token, 404 for an unknown member or one of another project', async () => {
    const project = await createProject();
    const other = await createProject();
    const dev = await projectMember(project.id, 'developer');
    const url = `${membersUrl(project.id)}/${dev.memberId}`;
    expectProblem(await api(owner).patch(url).send({}), 400);
    expectProblem(await api(owner).patch(url).send({ role: 'owner' }), 400);
    expectProblem(await api(owner).patch(url).send({ notifyOnError: 'no' }), 400);
    expectProblem(await api(owner).patch(url).send({ email: 'new@example.test' }), 400);
    expectProblem(await api(owner).patch(`${membersUrl(project.id)}/nope`).send({ role: 'viewer' }), 400);
    expectProblem(await request(t.app).patch(url).send({ role: 'viewer' }), 401);
    expectProblem(await api(owner).patch(`${membersUrl(project.id)}/${randomUUID()}`).send({ role: 'viewer' }), 404);
    expectProblem(await api(owner).patch(`${membersUrl(other.id)}/${dev.memberId}`).send({ role: 'viewer' }), 404);
    expectProblem(await api(owner).patch(`${membersUrl(randomUUID())}/${dev.memberId}`).send({ role: 'viewer' }), 404);
    const row = await t.admin.query('select role from public.project_members where id = $1', [dev.memberId]);
    expect(row.rows[0].role).toBe('developer');
  });
});

describe('DELETE /projects/{projectId}/members/{memberId}', () => {
  test('the creator, a project admin and an organization admin remove members (204)', async () => {
    const project = await createProject();
    const projectAdmin = await projectMember(project.id, 'admin');
    const victims = [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'developer'), await projectMember(project.id, 'manager')];
    const removers = [owner, projectAdmin, orgAdmin];
    for (const [i, remover] of removers.entries()) {
      const victim = victims[i]!;
      const res = await api(remover).delete(`${membersUrl(project.id)}/${victim.memberId}`).expect(204);
      expect(res.text).toBe('');
      const left = await t.admin.query('select 1 from public.project_members where id = $1', [victim.memberId]);
      expect(left.rowCount).toBe(0);
      // The removed member no longer sees the private project.
      expectProblem(await api(victim).get(`/api/v1/projects/${project.id}`), 404);
    }
  });

  test('403 for a manager, a viewer, an auditor and a plain organization member; nothing is removed', async () => {
    const project = await createProject('shared');
    const target = await projectMember(project.id, 'developer', 'target');
    const others = [
      await projectMember(project.id, 'manager'),
      await projectMember(project.id, 'viewer'),
      await projectMember(project.id, 'auditor'),
      plain,
    ];
    const before = await memberRows(project.id);
    for (const caller of others) {
      expectProblem(await api(caller).delete(`${membersUrl(project.id)}/${target.memberId}`), 403);
    }
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('the creator cannot be removed (409)', async () => {
    const project = await createProject();
    const creator = await creatorMemberId(project.id);
    for (const remover of [owner, orgAdmin]) {
      const res = await api(remover).delete(`${membersUrl(project.id)}/${creator}`);
      expectProblem(res, 409);
      expect(res.body.detail).toMatch(/creator/);
    }
    const left = await t.admin.query('select 1 from public.project_members where id = $1', [creator]);
    expect(left.rowCount).toBe(1);
  });

  test('400 for a malformed id, 401 without a token, 404 for an unknown member', async () => {
    const project = await createProject();
    const dev = await projectMember(project.id, 'developer');
    expectProblem(await api(owner).delete(`${membersUrl(project.id)}/xyz`), 400);
    expectProblem(await request(t.app).delete(`${membersUrl(project.id)}/${dev.memberId}`), 401);
    expectProblem(await api(owner).delete(`${membersUrl(project.id)}/${randomUUID()}`), 404);
    expectProblem(await api(owner).delete(`${membersUrl(randomUUID())}/${dev.memberId}`), 404);
    const left = await t.admin.query('select 1 from public.project_members where id = $1', [dev.memberId]);
    expect(left.rowCount).toBe(1);
  });
});

describe('another organization', () => {
  test('its owner can neither list, add, change nor remove members of this organization\'s project (404), with or without the header', async () => {
    const project = await createProject('shared');
    const dev = await projectMember(project.id, 'developer');
    const before = await memberRows(project.id);
    for (const header of [undefined, outsiderOrg, orgId]) {
      const them = as(t.app, outsider, header);
      expectProblem(await them.get(membersUrl(project.id)), 404);
      expectProblem(await them.post(membersUrl(project.id)).send({ userId: outsider.userId, role: 'admin' }), 404);
      expectProblem(await them.patch(`${membersUrl(project.id)}/${dev.memberId}`).send({ role: 'admin' }), 404);
      expectProblem(await them.delete(`${membersUrl(project.id)}/${dev.memberId}`), 404);
    }
    expect(await memberRows(project.id)).toEqual(before);
  });

  test('a member id of this organization is unknown under the outsider\'s own project', async () => {
    const project = await createProject();
    const dev = await projectMember(project.id, 'developer');
    const theirs = (await as(t.app, outsider, outsiderOrg).post('/api/v1/projects').send({ name: 'Their Own', type: 'manual' }).expect(201)).body;
    const them = as(t.app, outsider, outsiderOrg);
    expectProblem(await them.patch(`${membersUrl(theirs.id)}/${dev.memberId}`).send({ role: 'viewer' }), 404);
    expectProblem(await them.delete(`${membersUrl(theirs.id)}/${dev.memberId}`), 404);
    const row = await t.admin.query('select role from public.project_members where id = $1', [dev.memberId]);
    expect(row.rows[0].role).toBe('developer');
  });
});

describe('the admin role is granted only by those who may remove members', () => {
  test('a manager may add developers but not admins, and may not promote anyone (or themself) to admin', async () => {
    const h = createTestApp();
    try {
      const owner = await newUser(h.app, 'grant-owner');
      const manager = await newUser(h.app, 'grant-manager');
      const dev = await newUser(h.app, 'grant-dev');
      const org = await newOrganization(h.app, owner, 'Grants');
      await addMember(h, org, manager, 'member');
      await addMember(h, org, dev, 'member');
      const project = (await as(h.app, owner, org).post('/api/v1/projects').send({ name: 'Grant Rules', type: 'manual' }).expect(201)).body;
      const managerRow = (await as(h.app, owner, org).post(`/api/v1/projects/${project.id}/members`).send({ userId: manager.userId, role: 'manager' }).expect(201)).body;

      expectProblem(await as(h.app, manager, org).post(`/api/v1/projects/${project.id}/members`).send({ userId: dev.userId, role: 'admin' }), 403);
      const devRow = (await as(h.app, manager, org).post(`/api/v1/projects/${project.id}/members`).send({ userId: dev.userId, role: 'developer' }).expect(201)).body;
      expectProblem(await as(h.app, manager, org).patch(`/api/v1/projects/${project.id}/members/${devRow.id}`).send({ role: 'admin' }), 403);
      expectProblem(await as(h.app, manager, org).patch(`/api/v1/projects/${project.id}/members/${managerRow.id}`).send({ role: 'admin' }), 403);
      await as(h.app, manager, org).patch(`/api/v1/projects/${project.id}/members/${devRow.id}`).send({ role: 'viewer' }).expect(200);
      await as(h.app, owner, org).patch(`/api/v1/projects/${project.id}/members/${devRow.id}`).send({ role: 'admin' }).expect(200);
      const roles = await h.admin.query('select user_id, role from public.project_members where project_id = $1 order by role', [project.id]);
      expect(Object.fromEntries(roles.rows.map((r: { user_id: string; role: string }) => [r.user_id, r.role]))).toEqual({
        [owner.userId]: 'admin',
        [manager.userId]: 'manager',
        [dev.userId]: 'admin',
      });
    } finally {
      await h.close();
    }
  });
});
