import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { addMember, as, createQuotaTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';
import { newApiKey, withKey } from './support/api-keys';

// Seats are a quota: these organizations are on Teams (10 seats) so the rules
// about roles are tested on their own; test/quotas.test.ts tests the seats.
let t: TestApp;
let owner: TestUser;
let orgId: string;
let outsider: TestUser;
let outsiderOrg: string;

beforeAll(async () => {
  t = await createQuotaTestApp();
  owner = await newUser(t.app, 'om-owner');
  outsider = await newUser(t.app, 'om-outsider');
  orgId = await newOrganization(t.app, owner, 'Members');
  outsiderOrg = await newOrganization(t.app, outsider, 'Other');
  await t.admin.query("update public.organizations set plan_tier = 'teams' where id = any($1)", [[orgId, outsiderOrg]]);
});
afterAll(() => t.close());

const membersUrl = (organizationId: string) => `/api/v1/organizations/${organizationId}/members`;
const memberUrl = (organizationId: string, userId: string) => `${membersUrl(organizationId)}/${userId}`;
const api = (user: TestUser) => as(t.app, user);

async function storedRole(organizationId: string, userId: string): Promise<string | undefined> {
  const { rows } = await t.admin.query<{ role: string }>(
    'select role from public.organization_members where organization_id = $1 and user_id = $2',
    [organizationId, userId],
  );
  return rows[0]?.role;
}

async function seatsCounted(organizationId: string): Promise<number> {
  const { rows } = await t.admin.query<{ used: number }>(
    "select used from public.usage_counters where organization_id = $1 and metric = 'seats'",
    [organizationId],
  );
  return Number(rows[0]?.used ?? 0);
}

async function memberWithRole(role: 'owner' | 'admin' | 'member', organizationId = orgId): Promise<TestUser> {
  const user = await newUser(t.app, `om-${role}`);
  await addMember(t, organizationId, user, role);
  return user;
}

describe('GET /organizations/{organizationId}/members', () => {
  test('every member lists the members with their email and name, in the page envelope', async () => {
    const plain = await memberWithRole('member');
    await t.admin.query("update public.profiles set full_name = 'Pat Plain' where id = $1", [plain.userId]);
    const res = await api(plain).get(membersUrl(orgId)).expect(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 20, totalExact: true, hasMore: false });
    expect(res.body.total).toBe(res.body.data.length);
    const mine = res.body.data.find((m: { userId: string }) => m.userId === plain.userId);
    expect(mine).toEqual({
      id: plain.userId,
      teamId: orgId,
      userId: plain.userId,
      email: plain.email,
      name: 'Pat Plain',
      avatarUrl: null,
      role: 'member',
      status: 'active',
      joinedAt: expect.any(String),
      // Their own listing was a request in the organization: it stamped their activity.
      lastActiveAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.body.data[0]).toMatchObject({ userId: owner.userId, role: 'owner', email: owner.email });
  });

  test('filters by role and pages', async () => {
    const owners = await api(owner).get(`${membersUrl(orgId)}?role=owner`).expect(200);
    expect(owners.body.data.every((m: { role: string }) => m.role === 'owner')).toBe(true);
    const first = await api(owner).get(`${membersUrl(orgId)}?pageSize=1`).expect(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.hasMore).toBe(true);
    const bad = await api(owner).get(`${membersUrl(orgId)}?role=king`);
    expectProblem(bad, 400);
  });

  test('one member by user id; 404 for someone who is not a member', async () => {
    const res = await api(owner).get(memberUrl(orgId, owner.userId)).expect(200);
    expect(res.body).toMatchObject({ userId: owner.userId, role: 'owner' });
    expectProblem(await api(owner).get(memberUrl(orgId, outsider.userId)), 404);
    expectProblem(await api(owner).get(memberUrl(orgId, 'not-a-uuid')), 400);
  });
});

describe('POST /organizations/{organizationId}/members', () => {
  test('an owner adds an existing user by email (any case) with a role; the seat is counted', async () => {
    const newcomer = await newUser(t.app, 'om-new');
    const before = await seatsCounted(orgId);
    const res = await api(owner).post(membersUrl(orgId)).send({ email: newcomer.email.toUpperCase(), role: 'admin' }).expect(201);
    expect(res.headers.location).toBe(memberUrl(orgId, newcomer.userId));
    expect(res.body).toMatchObject({ teamId: orgId, userId: newcomer.userId, email: newcomer.email, role: 'admin', status: 'active', lastActiveAt: null });
    expect(await storedRole(orgId, newcomer.userId)).toBe('admin');
    expect(await seatsCounted(orgId)).toBe(before + 1);
    // The newcomer now works in the organization.
    expect((await as(t.app, newcomer, orgId).get('/api/v1/projects').expect(200)).body.data).toEqual(expect.any(Array));
  });

  test('the role defaults to member', async () => {
    const newcomer = await newUser(t.app, 'om-default');
    const res = await api(owner).post(membersUrl(orgId)).send({ email: newcomer.email }).expect(201);
    expect(res.body.role).toBe('member');
  });

  test('an unknown email is 422 on the email field; a current member is 409; nothing changes', async () => {
    const before = await seatsCounted(orgId);
    const unknown = await api(owner).post(membersUrl(orgId)).send({ email: `nobody-${randomUUID()}@example.test` });
    expectProblem(unknown, 422);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: '/body/email' })]);
    const again = await api(owner).post(membersUrl(orgId)).send({ email: owner.email, role: 'member' });
    expectProblem(again, 409);
    expect(await storedRole(orgId, owner.userId)).toBe('owner');
    expect(await seatsCounted(orgId)).toBe(before);
  });

  test('bad bodies are 400', async () => {
    expectProblem(await api(owner).post(membersUrl(orgId)).send({}), 400);
    expectProblem(await api(owner).post(membersUrl(orgId)).send({ email: owner.email, role: 'boss' }), 400);
    expectProblem(await api(owner).post(membersUrl(orgId)).send({ email: owner.email, extra: true }), 400);
  });

  test('admins add plain members only; plain members add nobody (403, nothing changes)', async () => {
    const admin = await memberWithRole('admin');
    const plain = await memberWithRole('member');
    const a = await newUser(t.app, 'om-a');
    const b = await newUser(t.app, 'om-b');
    await api(admin).post(membersUrl(orgId)).send({ email: a.email }).expect(201);
    expectProblem(await api(admin).post(membersUrl(orgId)).send({ email: b.email, role: 'admin' }), 403);
    expectProblem(await api(admin).post(membersUrl(orgId)).send({ email: b.email, role: 'owner' }), 403);
    const byPlain = await api(plain).post(membersUrl(orgId)).send({ email: b.email });
    expectProblem(byPlain, 403);
    expect(await storedRole(orgId, b.userId)).toBeUndefined();
  });

  test('a plain member cannot discover accounts by email: unknown and known addresses both get 403', async () => {
    const plain = await memberWithRole('member');
    expectProblem(await api(plain).post(membersUrl(orgId)).send({ email: `nobody-${randomUUID()}@example.test` }), 403);
    expectProblem(await api(plain).post(membersUrl(orgId)).send({ email: outsider.email }), 403);
  });
});

describe('PATCH /organizations/{organizationId}/members/{userId}', () => {
  test('an owner changes any role', async () => {
    const plain = await memberWithRole('member');
    const res = await api(owner).patch(memberUrl(orgId, plain.userId)).send({ role: 'admin' }).expect(200);
    expect(res.body).toMatchObject({ userId: plain.userId, role: 'admin' });
    expect(await storedRole(orgId, plain.userId)).toBe('admin');
    await api(owner).patch(memberUrl(orgId, plain.userId)).send({ role: 'owner' }).expect(200);
    await api(owner).patch(memberUrl(orgId, plain.userId)).send({ role: 'member' }).expect(200);
    expect(await storedRole(orgId, plain.userId)).toBe('member');
  });

  test('admins cannot promote or touch admins and owners; plain members change nothing (403)', async () => {
    const admin = await memberWithRole('admin');
    const otherAdmin = await memberWithRole('admin');
    const plain = await memberWithRole('member');
    expectProblem(await api(admin).patch(memberUrl(orgId, plain.userId)).send({ role: 'admin' }), 403);
    expectProblem(await api(admin).patch(memberUrl(orgId, otherAdmin.userId)).send({ role: 'member' }), 403);
    expectProblem(await api(admin).patch(memberUrl(orgId, owner.userId)).send({ role: 'member' }), 403);
    expectProblem(await api(plain).patch(memberUrl(orgId, plain.userId)).send({ role: 'owner' }), 403);
    expect(await storedRole(orgId, plain.userId)).toBe('member');
    expect(await storedRole(orgId, otherAdmin.userId)).toBe('admin');
    expect(await storedRole(orgId, owner.userId)).toBe('owner');
  });

  test('404 for a user who is not a member; 400 for a bad role', async () => {
    expectProblem(await api(owner).patch(memberUrl(orgId, outsider.userId)).send({ role: 'admin' }), 404);
    expectProblem(await api(owner).patch(memberUrl(orgId, owner.userId)).send({ role: 'root' }), 400);
  });
});

describe('DELETE /organizations/{organizationId}/members/{userId}', () => {
  test('an owner removes a member and the seat is given back', async () => {
    const plain = await memberWithRole('member');
    const before = await seatsCounted(orgId);
    await api(owner).delete(memberUrl(orgId, plain.userId)).expect(204);
    expect(await storedRole(orgId, plain.userId)).toBeUndefined();
    expect(await seatsCounted(orgId)).toBe(before - 1);
    expectProblem(await api(owner).delete(memberUrl(orgId, plain.userId)), 404);
  });

  test('admins remove plain members only; plain members remove nobody else', async () => {
    const admin = await memberWithRole('admin');
    const otherAdmin = await memberWithRole('admin');
    const plain = await memberWithRole('member');
    const other = await memberWithRole('member');
    expectProblem(await api(plain).delete(memberUrl(orgId, other.userId)), 403);
    expectProblem(await api(admin).delete(memberUrl(orgId, otherAdmin.userId)), 403);
    expectProblem(await api(admin).delete(memberUrl(orgId, owner.userId)), 403);
    expect(await storedRole(orgId, other.userId)).toBe('member');
    await api(admin).delete(memberUrl(orgId, other.userId)).expect(204);
  });

  test('anyone may leave', async () => {
    const plain = await memberWithRole('member');
    await api(plain).delete(memberUrl(orgId, plain.userId)).expect(204);
    expect(await storedRole(orgId, plain.userId)).toBeUndefined();
    // Gone: the organization is no longer theirs to see.
    expectProblem(await api(plain).get(membersUrl(orgId)), 404);
  });
});

describe('the last owner', () => {
  test('cannot leave nor be demoted (409, nothing changes); with a second owner both work', async () => {
    const solo = await newUser(t.app, 'om-solo');
    const soloOrg = await newOrganization(t.app, solo, 'Solo');
    const left = await api(solo).delete(memberUrl(soloOrg, solo.userId));
    expectProblem(left, 409);
    expect(left.body.detail).toMatch(/owner/);
    expectProblem(await api(solo).patch(memberUrl(soloOrg, solo.userId)).send({ role: 'admin' }), 409);
    expect(await storedRole(soloOrg, solo.userId)).toBe('owner');

    const second = await memberWithRole('owner', soloOrg);
    await api(solo).patch(memberUrl(soloOrg, solo.userId)).send({ role: 'admin' }).expect(200);
    // second is now the only owner
    expectProblem(await api(second).delete(memberUrl(soloOrg, second.userId)), 409);
    await api(second).delete(memberUrl(soloOrg, solo.userId)).expect(204);
  });

  test('two owners demoting each other at the same time: exactly one succeeds', async () => {
    const first = await newUser(t.app, 'om-first');
    const duoOrg = await newOrganization(t.app, first, 'Duo');
    const second = await memberWithRole('owner', duoOrg);
    const [a, b] = await Promise.all([
      api(first).patch(memberUrl(duoOrg, second.userId)).send({ role: 'member' }),
      api(second).patch(memberUrl(duoOrg, first.userId)).send({ role: 'member' }),
    ]);
    // The loser is refused by the trigger (409) or, if it started after the
    // winner committed, by the policy that no longer sees an owner in it (403).
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const { rows } = await t.admin.query("select count(*)::int as n from public.organization_members where organization_id = $1 and role = 'owner'", [duoOrg]);
    expect(rows[0].n).toBe(1);
  });

  test('the database enforces it for direct writes too', async () => {
    const solo = await newUser(t.app, 'om-direct');
    const soloOrg = await newOrganization(t.app, solo, 'Direct');
    await expect(
      t.admin.query('delete from public.organization_members where organization_id = $1 and user_id = $2', [soloOrg, solo.userId]),
    ).rejects.toMatchObject({ code: '55000' });
    // Deleting the whole organization takes its last owner with it.
    await t.admin.query('delete from public.organizations where id = $1', [soloOrg]);
    expect(await storedRole(soloOrg, solo.userId)).toBeUndefined();
  });
});

describe('isolation: members of another organization', () => {
  test('are neither listed, read, added to, changed nor removed', async () => {
    const theirs = await memberWithRole('member', outsiderOrg);
    const newcomer = await newUser(t.app, 'om-iso');
    expectProblem(await api(owner).get(membersUrl(outsiderOrg)), 404);
    expectProblem(await api(owner).get(memberUrl(outsiderOrg, theirs.userId)), 404);
    expectProblem(await api(owner).post(membersUrl(outsiderOrg)).send({ email: newcomer.email }), 404);
    expectProblem(await api(owner).patch(memberUrl(outsiderOrg, theirs.userId)).send({ role: 'admin' }), 404);
    expectProblem(await api(owner).delete(memberUrl(outsiderOrg, theirs.userId)), 404);
    expect(await storedRole(outsiderOrg, theirs.userId)).toBe('member');
    expect(await storedRole(outsiderOrg, newcomer.userId)).toBeUndefined();
    // The outsider's list shows none of ours.
    const list = await api(outsider).get(membersUrl(outsiderOrg)).expect(200);
    expect(list.body.data.map((m: { userId: string }) => m.userId).sort()).toEqual([outsider.userId, theirs.userId].sort());
    // Nor does a membership elsewhere reach into ours through the path.
    expectProblem(await api(theirs).get(memberUrl(orgId, owner.userId)), 404);
  });

  test('an owner here who is a plain member elsewhere has only a member\'s rights there', async () => {
    const dual = await memberWithRole('owner');
    await addMember(t, outsiderOrg, dual, 'member');
    const target = await memberWithRole('member', outsiderOrg);
    expectProblem(await api(dual).delete(memberUrl(outsiderOrg, target.userId)), 403);
    expect(await storedRole(outsiderOrg, target.userId)).toBe('member');
  });
});

/**
 * What the database itself lets `user` see of organization `organizationId`,
 * with no handler in between: a session as the API's login role, the user's
 * claims, role authenticated, and the organization forced into the setting
 * begin_request would fill (as a hand-written request could try).
 */
async function visibleThroughRls(user: TestUser, organizationId: string) {
  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user.userId, email: user.email, role: 'authenticated' })]);
    await client.query('set local role authenticated');
    await client.query(`select set_config('app.organization_id', $1, true)`, [organizationId]);
    const { rows } = await client.query<{ organizations: number; members: number; projects: number; skills: number; role: string | null }>(
      `select (select count(*)::int from public.organizations where id = $1) as organizations,
              (select count(*)::int from public.organization_members where organization_id = $1) as members,
              (select count(*)::int from public.projects where organization_id = $1) as projects,
              (select count(*)::int from public.skills where organization_id = $1) as skills,
              app.current_organization_role()::text as role`,
      [organizationId],
    );
    await client.query('rollback');
    return rows[0]!;
  } finally {
    await client.end();
  }
}

describe('deactivating and reactivating a member (PATCH status)', () => {
  let org: string;
  let projectId: string;
  let skillId: string;

  beforeAll(async () => {
    org = await newOrganization(t.app, owner, 'Deactivation');
    await t.admin.query("update public.organizations set plan_tier = 'teams' where id = $1", [org]);
    const project = await as(t.app, owner, org).post('/api/v1/projects').send({ name: `Shared ${randomUUID().slice(0, 6)}`, type: 'manual', privacy: 'shared' }).expect(201);
    projectId = project.body.id;
    const skill = await as(t.app, owner, org)
      .post('/api/v1/skills')
      .send({ name: `Skill ${randomUUID().slice(0, 6)}`, promptTemplate: 'Summarize {{text}} in one line.' })
      .expect(201);
    skillId = skill.body.id;
  });

  test('an inactive member sees nothing of the organization, in the API and in the database, and gets it back on reactivation', async () => {
    const plain = await memberWithRole('member', org);
    await as(t.app, plain, org).get(`/api/v1/projects/${projectId}`).expect(200);
    const before = await visibleThroughRls(plain, org);
    expect(before).toMatchObject({ organizations: 1, projects: 1, role: 'member' });
    expect(before.members).toBeGreaterThanOrEqual(2);

    const off = await api(owner).patch(memberUrl(org, plain.userId)).send({ status: 'inactive' }).expect(200);
    expect(off.body).toMatchObject({ id: plain.userId, status: 'inactive', role: 'member' });
    // The API: the organization is not theirs any more (404, as for a stranger), nor its project or skill.
    expectProblem(await as(t.app, plain, org).get(`/api/v1/projects/${projectId}`), 404);
    expectProblem(await as(t.app, plain, org).get(`/api/v1/skills/${skillId}`), 404);
    expectProblem(await api(plain).get(membersUrl(org)), 404);
    const listed = await api(plain).get('/api/v1/organizations?pageSize=100').expect(200);
    expect(listed.body.data.map((o: { id: string }) => o.id)).not.toContain(org);
    // The database: even with the organization forced into the request's setting, no row and no role.
    expect(await visibleThroughRls(plain, org)).toEqual({ organizations: 0, members: 0, projects: 0, skills: 0, role: null });
    // Colleagues still see the inactive member, and can filter by status.
    const inactive = await api(owner).get(`${membersUrl(org)}?status=inactive`).expect(200);
    expect(inactive.body.data.map((m: { userId: string }) => m.userId)).toEqual([plain.userId]);

    const on = await api(owner).patch(memberUrl(org, plain.userId)).send({ status: 'active' }).expect(200);
    expect(on.body.status).toBe('active');
    await as(t.app, plain, org).get(`/api/v1/projects/${projectId}`).expect(200);
    await as(t.app, plain, org).get(`/api/v1/skills/${skillId}`).expect(200);
    expect(await visibleThroughRls(plain, org)).toMatchObject({ organizations: 1, projects: 1, role: 'member' });
  });

  test("an inactive member's API key is refused and does not use up the organization's API calls", async () => {
    const admin = await memberWithRole('admin', org);
    const { key } = await newApiKey(t.app, admin, org, ['write']);
    // API calls are leased in blocks: the unused ones go back before the counter is read.
    const apiCalls = async (): Promise<number> => {
      await t.apiCalls.settle();
      const { rows } = await t.admin.query<{ used: number }>(
        "select coalesce(sum(used), 0)::int as used from public.usage_counters where organization_id = $1 and metric = 'api_calls'",
        [org],
      );
      return rows[0]!.used;
    };
    await api(owner).patch(memberUrl(org, admin.userId)).send({ status: 'inactive' }).expect(200);
    const before = await apiCalls();
    for (let i = 0; i < 3; i += 1) expectProblem(await withKey(t.app, key).get(`/api/v1/projects/${projectId}`), 401);
    expect(await apiCalls()).toBe(before);
    // Reactivated, the same key works again and its call counts.
    await api(owner).patch(memberUrl(org, admin.userId)).send({ status: 'active' }).expect(200);
    const reactivated = await apiCalls();
    await withKey(t.app, key).get(`/api/v1/projects/${projectId}`).expect(200);
    expect(await apiCalls()).toBe(reactivated + 1);
  });

  test('an owner cannot be deactivated (409); admins deactivate plain members only; plain members nobody (403)', async () => {
    const coOwner = await memberWithRole('owner', org);
    const admin = await memberWithRole('admin', org);
    const plain = await memberWithRole('member', org);
    const conflict = await api(owner).patch(memberUrl(org, coOwner.userId)).send({ status: 'inactive' });
    expectProblem(conflict, 409);
    expectProblem(await api(owner).patch(memberUrl(org, owner.userId)).send({ status: 'inactive' }), 409);
    expectProblem(await api(admin).patch(memberUrl(org, coOwner.userId)).send({ status: 'inactive' }), 403);
    expectProblem(await api(plain).patch(memberUrl(org, admin.userId)).send({ status: 'inactive' }), 403);
    await api(admin).patch(memberUrl(org, plain.userId)).send({ status: 'inactive' }).expect(200);
    // Promoting an inactive member to owner would make an inactive owner: refused too.
    expectProblem(await api(owner).patch(memberUrl(org, plain.userId)).send({ role: 'owner' }), 409);
    const { rows } = await t.admin.query('select role, status from public.organization_members where organization_id = $1 and user_id = any($2)', [
      org,
      [coOwner.userId, owner.userId, plain.userId],
    ]);
    expect(rows.filter((r) => r.status === 'inactive')).toEqual([{ role: 'member', status: 'inactive' }]);
    // The database refuses it whoever asks: an owner row cannot be made inactive.
    await expect(
      t.admin.query("update public.organization_members set status = 'inactive' where organization_id = $1 and user_id = $2", [org, owner.userId]),
    ).rejects.toMatchObject({ code: '55000' });
  });

  test('bad bodies are 400; another organization\'s member is 404', async () => {
    const plain = await memberWithRole('member', org);
    expectProblem(await api(owner).patch(memberUrl(org, plain.userId)).send({ status: 'sleeping' }), 400);
    expectProblem(await api(owner).patch(memberUrl(org, plain.userId)).send({}), 400);
    expectProblem(await api(owner).patch(memberUrl(org, plain.userId)).send({ status: 'inactive', name: 'x' }), 400);
    expectProblem(await api(outsider).patch(memberUrl(org, plain.userId)).send({ status: 'inactive' }), 404);
    expectProblem(await api(owner).patch(memberUrl(outsiderOrg, outsider.userId)).send({ status: 'inactive' }), 404);
    const { rows } = await t.admin.query('select status from public.organization_members where organization_id = $1 and user_id = $2', [org, plain.userId]);
    expect(rows[0].status).toBe('active');
  });

  test('lastActiveAt is stamped by a request, at most once every five minutes, and does not move updatedAt', async () => {
    const plain = await memberWithRole('member', org);
    const fresh = await api(owner).get(memberUrl(org, plain.userId)).expect(200);
    expect(fresh.body.lastActiveAt).toBeNull();
    await as(t.app, plain, org).get('/api/v1/projects').expect(200);
    const first = (await api(owner).get(memberUrl(org, plain.userId)).expect(200)).body;
    expect(first.lastActiveAt).toEqual(expect.any(String));
    expect(first.updatedAt).toBe(fresh.body.updatedAt);
    await as(t.app, plain, org).get('/api/v1/projects').expect(200);
    expect((await api(owner).get(memberUrl(org, plain.userId)).expect(200)).body.lastActiveAt).toBe(first.lastActiveAt);
    // Six minutes later, the next request stamps again.
    await t.admin.query(
      "update public.organization_members set last_active_at = now() - interval '6 minutes' where organization_id = $1 and user_id = $2",
      [org, plain.userId],
    );
    await as(t.app, plain, org).get('/api/v1/projects').expect(200);
    const later = (await api(owner).get(memberUrl(org, plain.userId)).expect(200)).body;
    expect(Date.parse(later.lastActiveAt)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('GET /organizations/{organizationId}/team-stats', () => {
  test('members, active ones, pending invitees and seats from the plan; the outsider gets 404', async () => {
    const org = await newOrganization(t.app, owner, 'Stats');
    await t.admin.query("update public.organizations set plan_tier = 'teams' where id = $1", [org]);
    const plain = await memberWithRole('member', org);
    const sleeper = await memberWithRole('member', org);
    await api(owner).patch(memberUrl(org, sleeper.userId)).send({ status: 'inactive' }).expect(200);
    const project = await as(t.app, owner, org).post('/api/v1/projects').send({ name: `Stats ${randomUUID().slice(0, 6)}`, type: 'manual' }).expect(201);
    const invitationsUrl = `/api/v1/projects/${project.body.id}/invitations`;
    // Two new addresses (one twice, in two cases), and one of a member, which takes no seat.
    await as(t.app, owner, org).post(invitationsUrl).send({ emails: ['new-a@example.test', 'new-b@example.test'] }).expect(200);
    await as(t.app, owner, org).post(invitationsUrl).send({ emails: [plain.email] }).expect(200);

    const stats = await api(owner).get(`/api/v1/organizations/${org}/team-stats`).expect(200);
    expect(stats.body).toEqual({ totalMembers: 3, activeMembers: 2, pendingInvites: 2, availableSeats: 10 - 3 - 2, maxSeats: 10 });
    await t.admin.query("update public.organizations set plan_tier = 'enterprise' where id = $1", [org]);
    const unlimited = await api(plain).get(`/api/v1/organizations/${org}/team-stats`).expect(200);
    expect(unlimited.body).toMatchObject({ maxSeats: -1, availableSeats: -1, totalMembers: 3 });

    expectProblem(await api(outsider).get(`/api/v1/organizations/${org}/team-stats`), 404);
    expectProblem(await api(sleeper).get(`/api/v1/organizations/${org}/team-stats`), 404);
    expectProblem(await api(owner).get('/api/v1/organizations/not-a-uuid/team-stats'), 400);
  });
});
