import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, token, type TestApp, type TestUser } from './support/harness';

type Role = 'admin' | 'manager' | 'developer' | 'viewer' | 'auditor';

let t: TestApp;
let owner: TestUser;
let orgId: string;
let plain: TestUser; // organization member, on no project
let outsider: TestUser; // owner of another organization
let outsiderOrg: string;

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'i-owner');
  plain = await newUser(t.app, 'i-plain');
  outsider = await newUser(t.app, 'i-outsider');
  orgId = await newOrganization(t.app, owner, 'Inviting');
  outsiderOrg = await newOrganization(t.app, outsider, 'Elsewhere');
  await addMember(t, orgId, plain, 'member');
});
afterAll(() => t.close());

const api = (user: TestUser) => as(t.app, user, orgId);
const invitationsUrl = (projectId: string) => `/api/v1/projects/${projectId}/invitations`;
const ACCEPT = '/api/v1/invitations/accept';

/** An address nobody has signed in with yet. */
const freshEmail = (label = 'guest') => `${label}-${randomUUID().slice(0, 8)}@example.test`;

/** Someone who has never used the API: their first request provisions them (as a real first sign-in would). */
function stranger(email: string) {
  const bearer = token(email);
  return {
    accept: (invitationToken: string) => request(t.app).post(ACCEPT).set('Authorization', `Bearer ${bearer}`).send({ token: invitationToken }),
    get: (url: string, organizationId?: string) => {
      const req = request(t.app).get(url).set('Authorization', `Bearer ${bearer}`);
      return organizationId ? req.set('X-Organization-Id', organizationId) : req;
    },
  };
}

async function createProject(privacy: 'private' | 'shared' = 'private'): Promise<{ id: string }> {
  const res = await api(owner).post('/api/v1/projects').send({ name: `Invites ${randomUUID().slice(0, 8)}`, type: 'manual', privacy });
  expect(res.status).toBe(201);
  return res.body;
}

async function projectMember(projectId: string, role: Role): Promise<TestUser> {
  const user = await newUser(t.app, `i-${role}`);
  await addMember(t, orgId, user, 'member');
  await t.admin.query('insert into public.project_members (project_id, user_id, email, role, accepted_at) values ($1, $2, $3, $4, now())', [
    projectId,
    user.userId,
    user.email,
    role,
  ]);
  return user;
}

async function invite(projectId: string, emails: string[], extra: Record<string, unknown> = {}) {
  const res = await api(owner).post(invitationsUrl(projectId)).send({ emails, ...extra });
  expect(res.status).toBe(200);
  return res.body.results as Array<{ email: string; outcome: string; detail?: string; invitation?: { id: string; [k: string]: unknown }; token?: string }>;
}

async function inviteOne(projectId: string, email = freshEmail(), extra: Record<string, unknown> = {}) {
  const [result] = await invite(projectId, [email], extra);
  expect(result!.outcome).toBe('invited');
  return { email, invitation: result!.invitation!, token: result!.token! };
}

/** Everything that accepting could change, to prove a refusal changed nothing. */
async function snapshot(projectId: string) {
  const invitations = await t.admin.query(
    'select id, status, token_hash, expires_at, accepted_by, accepted_at, cancelled_at from public.project_invitations where project_id = $1 order by id',
    [projectId],
  );
  const members = await t.admin.query('select id, user_id, role from public.project_members where project_id = $1 order by id', [projectId]);
  const orgMembers = await t.admin.query('select user_id, role from public.organization_members where organization_id = $1 order by user_id', [orgId]);
  return { invitations: invitations.rows, members: members.rows, orgMembers: orgMembers.rows };
}

describe('POST /projects/{projectId}/invitations', () => {
  test('invites an address: a one-time token, stored only as its SHA-256', async () => {
    const project = await createProject();
    const email = freshEmail('Dana');
    const results = await invite(project.id, [email], { role: 'developer', message: 'Welcome aboard!' });
    expect(results).toHaveLength(1);
    const [result] = results;
    expect(result).toEqual({
      email,
      status: 'sent',
      memberId: result!.invitation!.id,
      error: null,
      outcome: 'invited',
      token: expect.stringMatching(/^inv_[A-Za-z0-9_-]{43}$/),
      invitation: {
        id: expect.any(String),
        projectId: project.id,
        email: email.toLowerCase(),
        role: 'developer',
        message: 'Welcome aboard!',
        notifyOnIngestion: true,
        notifyOnError: true,
        notifyOnTeamChanges: true,
        status: 'pending',
        invitedBy: owner.userId,
        expiresAt: expect.any(String),
        acceptedAt: null,
        createdAt: expect.any(String),
      },
    });
    const days = (Date.parse(result!.invitation!.expiresAt as string) - Date.parse(result!.invitation!.createdAt as string)) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);

    const secret = result!.token!;
    const stored = await t.admin.query('select token_hash from public.project_invitations where id = $1', [result!.invitation!.id]);
    expect(stored.rows[0].token_hash).toEqual(createHash('sha256').update(secret).digest());
    // No column of any invitation holds the token, whole or without its prefix.
    for (const needle of [secret, secret.slice(4)]) {
      const leaked = await t.admin.query(
        `select count(*)::int as n from public.project_invitations i where strpos(i::text, $1) > 0 or strpos(encode(i.token_hash, 'escape'), $1) > 0`,
        [needle],
      );
      expect(leaked.rows[0].n).toBe(0);
    }
  });

  test('expiresInDays sets the expiry; the role defaults to viewer', async () => {
    const project = await createProject();
    const { invitation } = await inviteOne(project.id, freshEmail(), { expiresInDays: 2 });
    expect(invitation.role).toBe('viewer');
    expect(invitation.message).toBeNull();
    const days = (Date.parse(invitation.expiresAt as string) - Date.parse(invitation.createdAt as string)) / 86_400_000;
    expect(days).toBeCloseTo(2, 3);
  });

  test('a mixed batch: each address judged on its own, in the order sent', async () => {
    const project = await createProject();
    const member = await projectMember(project.id, 'developer');
    const invited = await inviteOne(project.id);
    const fresh = freshEmail('fresh');
    const other = freshEmail('other');
    const emails = [fresh, member.email.toUpperCase(), 'not an email', fresh.toUpperCase(), invited.email, '  ', 'a@b', other];
    const results = await invite(project.id, emails, { role: 'auditor' });
    expect(results.map((r) => [r.email, r.outcome])).toEqual([
      [fresh, 'invited'],
      [member.email.toUpperCase(), 'already_member'],
      ['not an email', 'invalid_email'],
      [fresh.toUpperCase(), 'already_invited'],
      [invited.email, 'already_invited'],
      ['  ', 'invalid_email'],
      ['a@b', 'invalid_email'],
      [other, 'invited'],
    ]);
    for (const result of results) {
      if (result.outcome === 'invited') {
        expect(result.token).toMatch(/^inv_/);
        expect(result.invitation!.role).toBe('auditor');
      } else {
        expect(result.token).toBeUndefined();
        expect(result.invitation).toBeUndefined();
        expect(result.detail).toEqual(expect.any(String));
      }
    }
    const tokens = results.filter((r) => r.token).map((r) => r.token);
    expect(new Set(tokens).size).toBe(2);
    const pending = await t.admin.query(
      `select lower(email) as email from public.project_invitations where project_id = $1 and status = 'pending' order by email`,
      [project.id],
    );
    expect(pending.rows.map((r) => r.email)).toEqual([invited.email, fresh, other].map((e) => e.toLowerCase()).sort());
  });

  test('an invitation left pending past its expiry does not block a new one; it becomes expired', async () => {
    const project = await createProject();
    const old = await inviteOne(project.id);
    await t.admin.query(`update public.project_invitations set expires_at = now() - interval '1 minute' where id = $1`, [old.invitation.id]);
    const again = await inviteOne(project.id, old.email);
    expect(again.invitation.id).not.toBe(old.invitation.id);
    const rows = await t.admin.query('select id, status from public.project_invitations where project_id = $1', [project.id]);
    expect(Object.fromEntries(rows.rows.map((r) => [r.id, r.status]))).toEqual({ [old.invitation.id]: 'expired', [again.invitation.id]: 'pending' });
  });

  test.each([
    ['no emails', {}],
    ['an empty list', { emails: [] }],
    ['an empty address', { emails: [''] }],
    ['more than 50 addresses', { emails: Array.from({ length: 51 }, (_, i) => `p${i}@example.test`) }],
    ['an unknown role', { emails: ['x@example.test'], role: 'owner' }],
    ['expiresInDays 0', { emails: ['x@example.test'], expiresInDays: 0 }],
    ['expiresInDays 31', { emails: ['x@example.test'], expiresInDays: 31 }],
    ['a message too long', { emails: ['x@example.test'], message: 'm'.repeat(1001) }],
    ['an unknown field', { emails: ['x@example.test'], token: 'mine' }],
  ])('400 for %s, and nothing is stored', async (_label, body) => {
    const project = await createProject();
    const res = await api(owner).post(invitationsUrl(project.id)).send(body);
    expectProblem(res, 400);
    const n = await t.admin.query('select count(*)::int as n from public.project_invitations where project_id = $1', [project.id]);
    expect(n.rows[0].n).toBe(0);
  });

  test('403 for viewers, auditors, developers and a plain organization member; 401 without a token; 404 for an unknown project', async () => {
    const project = await createProject('shared');
    const readers = [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'auditor'), await projectMember(project.id, 'developer'), plain];
    for (const reader of readers) {
      expectProblem(await api(reader).post(invitationsUrl(project.id)).send({ emails: [freshEmail()] }), 403);
    }
    expectProblem(await request(t.app).post(invitationsUrl(project.id)).send({ emails: [freshEmail()] }), 401);
    expectProblem(await api(owner).post(invitationsUrl(randomUUID())).send({ emails: [freshEmail()] }), 404);
    const n = await t.admin.query('select count(*)::int as n from public.project_invitations where project_id = $1', [project.id]);
    expect(n.rows[0].n).toBe(0);
  });

  test('a manager may invite', async () => {
    const project = await createProject();
    const manager = await projectMember(project.id, 'manager');
    const res = await api(manager).post(invitationsUrl(project.id)).send({ emails: [freshEmail()] }).expect(200);
    expect(res.body.results[0].outcome).toBe('invited');
    expect(res.body.results[0].invitation.invitedBy).toBe(manager.userId);
  });
});

describe('GET /projects/{projectId}/invitations', () => {
  test('pending, unexpired invitations, newest first, paged', async () => {
    const project = await createProject();
    const first = await inviteOne(project.id);
    const second = await inviteOne(project.id);
    const third = await inviteOne(project.id);
    const lapsed = await inviteOne(project.id);
    const cancelled = await inviteOne(project.id);
    await t.admin.query(`update public.project_invitations set expires_at = now() - interval '1 second' where id = $1`, [lapsed.invitation.id]);
    await api(owner).delete(`${invitationsUrl(project.id)}/${cancelled.invitation.id}`).expect(204);

    const res = await api(owner).get(invitationsUrl(project.id)).expect(200);
    expect(res.body).toMatchObject({ total: 3, totalExact: true, page: 1, pageSize: 20, hasMore: false });
    expect(res.body.data.map((i: { id: string }) => i.id)).toEqual([third, second, first].map((x) => x.invitation.id));
    expect(res.body.data[0]).toEqual(third.invitation);

    const page = await api(owner).get(`${invitationsUrl(project.id)}?pageSize=2&page=2`).expect(200);
    expect(page.body).toMatchObject({ total: 3, hasMore: false });
    expect(page.body.data.map((i: { id: string }) => i.id)).toEqual([first.invitation.id]);
  });

  test('403 for readers who do not edit, 404 for those who cannot see the project; 400; 401', async () => {
    const shared = await createProject('shared');
    const hidden = await createProject('private');
    await inviteOne(shared.id);
    for (const reader of [await projectMember(shared.id, 'viewer'), await projectMember(shared.id, 'auditor'), plain]) {
      expectProblem(await api(reader).get(invitationsUrl(shared.id)), 403);
    }
    expectProblem(await api(plain).get(invitationsUrl(hidden.id)), 404);
    expectProblem(await api(owner).get(invitationsUrl(randomUUID())), 404);
    expectProblem(await api(owner).get(`${invitationsUrl(shared.id)}?pageSize=101`), 400);
    expectProblem(await api(owner).get(invitationsUrl('nope')), 400);
    expectProblem(await request(t.app).get(invitationsUrl(shared.id)), 401);
  });
});

describe('POST /invitations/accept: the whole flow', () => {
  test('someone who never signed in is invited, accepts, and works in the project with the invited role', async () => {
    const project = await createProject('private');
    const email = freshEmail('newcomer');
    const { invitation, token: secret } = await inviteOne(project.id, email, { role: 'developer' });

    // Their first request ever: the token is minted only now.
    const invitee = stranger(email);
    const res = await invitee.accept(secret).expect(200);
    expect(res.body).toEqual({
      projectId: project.id,
      organizationId: orgId,
      member: expect.objectContaining({ projectId: project.id, email, role: 'developer', isCreator: false, lastActiveAt: null }),
    });
    expect(res.body.member.acceptedAt).toEqual(expect.any(String));
    expect(res.body.member.invitedAt).toBe(invitation.createdAt);
    const userId = res.body.member.userId;

    // They now belong to the organization (as a member) and see the private project there.
    const org = await t.admin.query('select role from public.organization_members where organization_id = $1 and user_id = $2', [orgId, userId]);
    expect(org.rows).toEqual([{ role: 'member' }]);
    await invitee.get(`/api/v1/projects/${project.id}`, res.body.organizationId).expect(200);
    const members = await invitee.get(`/api/v1/projects/${project.id}/members`, res.body.organizationId).expect(200);
    expect(members.body.data.find((m: { userId: string }) => m.userId === userId)).toMatchObject({ role: 'developer', id: res.body.member.id });
    // Without the header they are in their personal workspace, where the project does not exist.
    expectProblem(await invitee.get(`/api/v1/projects/${project.id}`), 404);

    const stored = await t.admin.query('select status, accepted_by, accepted_at from public.project_invitations where id = $1', [invitation.id]);
    expect(stored.rows[0]).toMatchObject({ status: 'accepted', accepted_by: userId });
    expect(stored.rows[0].accepted_at).not.toBeNull();

    // The owner sees the invitation gone from the pending list.
    const pending = await api(owner).get(invitationsUrl(project.id)).expect(200);
    expect(pending.body.data.map((i: { id: string }) => i.id)).not.toContain(invitation.id);

    // A second use of the same token: 410, nothing changes.
    const before = await snapshot(project.id);
    const reused = await invitee.accept(secret);
    expectProblem(reused, 410);
    expect(reused.body.detail).toMatch(/already been accepted/);
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('an existing user of another organization accepts with whatever organization their request had selected', async () => {
    const project = await createProject();
    const guest = await newUser(t.app, 'i-guest');
    const { token: secret } = await inviteOne(project.id, guest.email.toUpperCase(), { role: 'viewer' });
    const res = await as(t.app, guest, guest.personalOrganizationId).post(ACCEPT).send({ token: secret }).expect(200);
    expect(res.body).toMatchObject({ projectId: project.id, organizationId: orgId, member: { userId: guest.userId, role: 'viewer' } });
    await as(t.app, guest, orgId).get(`/api/v1/projects/${project.id}`).expect(200);
    // A viewer: reads, does not edit.
    expectProblem(await as(t.app, guest, orgId).patch(`/api/v1/projects/${project.id}`).send({ description: 'mine' }), 403);
  });

  test('an expired invitation: 410 and nothing changes', async () => {
    const project = await createProject();
    const email = freshEmail('late');
    const { invitation, token: secret } = await inviteOne(project.id, email);
    await t.admin.query(`update public.project_invitations set expires_at = now() - interval '1 minute' where id = $1`, [invitation.id]);
    const before = await snapshot(project.id);
    const res = await stranger(email).accept(secret);
    expectProblem(res, 410);
    expect(res.body.detail).toMatch(/expired/);
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('a cancelled invitation: 410 and nothing changes', async () => {
    const project = await createProject();
    const email = freshEmail('cancelled');
    const { invitation, token: secret } = await inviteOne(project.id, email);
    await api(owner).delete(`${invitationsUrl(project.id)}/${invitation.id}`).expect(204);
    const before = await snapshot(project.id);
    const res = await stranger(email).accept(secret);
    expectProblem(res, 410);
    expect(res.body.detail).toMatch(/cancelled/);
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('someone else\'s invitation: 403 and nothing changes; the rightful invitee can still accept', async () => {
    const project = await createProject();
    const email = freshEmail('rightful');
    const { token: secret } = await inviteOne(project.id, email);
    const before = await snapshot(project.id);
    for (const wrong of [plain, outsider]) {
      const res = await as(t.app, wrong).post(ACCEPT).send({ token: secret });
      expectProblem(res, 403);
      expect(res.body.detail).toMatch(/another address/);
    }
    expect(await snapshot(project.id)).toEqual(before);
    await stranger(email).accept(secret).expect(200);
  });

  test('404 for an unknown token, 400 for a malformed body, 401 without a token', async () => {
    expectProblem(await as(t.app, plain).post(ACCEPT).send({ token: `inv_${'A'.repeat(43)}` }), 404);
    expectProblem(await as(t.app, plain).post(ACCEPT).send({ token: 'short' }), 400);
    expectProblem(await as(t.app, plain).post(ACCEPT).send({ token: 'x'.repeat(201) }), 400);
    expectProblem(await as(t.app, plain).post(ACCEPT).send({}), 400);
    expectProblem(await as(t.app, plain).post(ACCEPT).send({ token: 'inv_abcdefghijkl', projectId: randomUUID() }), 400);
    expectProblem(await request(t.app).post(ACCEPT).send({ token: 'inv_abcdefghijkl' }), 401);
  });

  test('a service token is not a person: 403', async () => {
    const project = await createProject();
    const { token: secret } = await inviteOne(project.id);
    const service = token('ops@example.test', { role: 'service_role' });
    const res = await request(t.app).post(ACCEPT).set('Authorization', `Bearer ${service}`).send({ token: secret });
    expectProblem(res, 403);
    const row = await t.admin.query(`select status from public.project_invitations where project_id = $1`, [project.id]);
    expect(row.rows[0].status).toBe('pending');
  });
});

describe('POST /projects/{projectId}/invitations/{invitationId}/resend', () => {
  test('a new token and expiry; the old token stops working, the new one works', async () => {
    const project = await createProject();
    const email = freshEmail('resent');
    const first = await inviteOne(project.id, email, { expiresInDays: 1, role: 'manager' });
    const res = await api(owner).post(`${invitationsUrl(project.id)}/${first.invitation.id}/resend`).expect(200);
    expect(res.body.token).toMatch(/^inv_[A-Za-z0-9_-]{43}$/);
    expect(res.body.token).not.toBe(first.token);
    expect(res.body.invitation).toMatchObject({ id: first.invitation.id, status: 'pending', email, role: 'manager' });
    const days = (Date.parse(res.body.invitation.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    const stored = await t.admin.query('select token_hash from public.project_invitations where id = $1', [first.invitation.id]);
    expect(stored.rows[0].token_hash).toEqual(createHash('sha256').update(res.body.token).digest());

    const invitee = stranger(email);
    expectProblem(await invitee.accept(first.token), 404);
    const accepted = await invitee.accept(res.body.token).expect(200);
    expect(accepted.body.member.role).toBe('manager');
  });

  test('revives an expired invitation (by status or by date)', async () => {
    const project = await createProject();
    const byDate = await inviteOne(project.id);
    const byStatus = await inviteOne(project.id);
    await t.admin.query(`update public.project_invitations set expires_at = now() - interval '1 day' where id = $1`, [byDate.invitation.id]);
    await t.admin.query(`update public.project_invitations set expires_at = now() - interval '1 day', status = 'expired' where id = $1`, [
      byStatus.invitation.id,
    ]);
    for (const { invitation, email, token: oldToken } of [byDate, byStatus]) {
      expectProblem(await stranger(email).accept(oldToken), 410);
      const res = await api(owner).post(`${invitationsUrl(project.id)}/${invitation.id}/resend`).expect(200);
      expect(res.body.invitation.status).toBe('pending');
      expect(Date.parse(res.body.invitation.expiresAt)).toBeGreaterThan(Date.now());
      await stranger(email).accept(res.body.token).expect(200);
    }
  });

  test('an expired invitation whose address was invited again: 409, nothing changes', async () => {
    const project = await createProject();
    const old = await inviteOne(project.id);
    await t.admin.query(`update public.project_invitations set expires_at = now() - interval '1 day' where id = $1`, [old.invitation.id]);
    await inviteOne(project.id, old.email);
    const before = await snapshot(project.id);
    expectProblem(await api(owner).post(`${invitationsUrl(project.id)}/${old.invitation.id}/resend`), 409);
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('409 for accepted and cancelled invitations', async () => {
    const project = await createProject();
    const accepted = await inviteOne(project.id);
    await stranger(accepted.email).accept(accepted.token).expect(200);
    const cancelled = await inviteOne(project.id);
    await api(owner).delete(`${invitationsUrl(project.id)}/${cancelled.invitation.id}`).expect(204);
    const before = await snapshot(project.id);
    for (const { invitation } of [accepted, cancelled]) {
      expectProblem(await api(owner).post(`${invitationsUrl(project.id)}/${invitation.id}/resend`), 409);
    }
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('403 for those who do not edit, 404 for unknown ids, 400 for malformed ones, 401 without a token', async () => {
    const project = await createProject('shared');
    const { invitation } = await inviteOne(project.id);
    const before = await snapshot(project.id);
    for (const reader of [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'auditor'), plain]) {
      expectProblem(await api(reader).post(`${invitationsUrl(project.id)}/${invitation.id}/resend`), 403);
    }
    const other = await createProject();
    expectProblem(await api(owner).post(`${invitationsUrl(project.id)}/${randomUUID()}/resend`), 404);
    expectProblem(await api(owner).post(`${invitationsUrl(other.id)}/${invitation.id}/resend`), 404);
    expectProblem(await api(owner).post(`${invitationsUrl(project.id)}/123/resend`), 400);
    expectProblem(await request(t.app).post(`${invitationsUrl(project.id)}/${invitation.id}/resend`), 401);
    const after = await snapshot(project.id);
    expect(after.invitations).toEqual(before.invitations);
  });
});

describe('DELETE /projects/{projectId}/invitations/{invitationId}', () => {
  test('cancels a pending invitation; a second cancel is 409', async () => {
    const project = await createProject();
    const { invitation } = await inviteOne(project.id);
    const res = await api(owner).delete(`${invitationsUrl(project.id)}/${invitation.id}`).expect(204);
    expect(res.text).toBe('');
    const row = await t.admin.query('select status, cancelled_at from public.project_invitations where id = $1', [invitation.id]);
    expect(row.rows[0].status).toBe('cancelled');
    expect(row.rows[0].cancelled_at).not.toBeNull();
    expectProblem(await api(owner).delete(`${invitationsUrl(project.id)}/${invitation.id}`), 409);
    // The address may be invited afresh.
    await inviteOne(project.id, invitation.email as string);
  });

  test('409 for an accepted invitation', async () => {
    const project = await createProject();
    const accepted = await inviteOne(project.id);
    await stranger(accepted.email).accept(accepted.token).expect(200);
    expectProblem(await api(owner).delete(`${invitationsUrl(project.id)}/${accepted.invitation.id}`), 409);
    const row = await t.admin.query('select status from public.project_invitations where id = $1', [accepted.invitation.id]);
    expect(row.rows[0].status).toBe('accepted');
  });

  test('403 for those who do not edit, 404 for unknown ids, 400 for malformed ones, 401 without a token', async () => {
    const project = await createProject('shared');
    const { invitation } = await inviteOne(project.id);
    for (const reader of [await projectMember(project.id, 'viewer'), await projectMember(project.id, 'developer'), plain]) {
      expectProblem(await api(reader).delete(`${invitationsUrl(project.id)}/${invitation.id}`), 403);
    }
    expectProblem(await api(owner).delete(`${invitationsUrl(project.id)}/${randomUUID()}`), 404);
    expectProblem(await api(owner).delete(`${invitationsUrl(randomUUID())}/${invitation.id}`), 404);
    expectProblem(await api(owner).delete(`${invitationsUrl(project.id)}/zzz`), 400);
    expectProblem(await request(t.app).delete(`${invitationsUrl(project.id)}/${invitation.id}`), 401);
    const row = await t.admin.query('select status from public.project_invitations where id = $1', [invitation.id]);
    expect(row.rows[0].status).toBe('pending');
  });
});

describe('another organization', () => {
  test('its owner can neither list, create, resend nor cancel invitations of this organization\'s project (404)', async () => {
    const project = await createProject('shared');
    const { invitation } = await inviteOne(project.id);
    const before = await snapshot(project.id);
    for (const header of [undefined, outsiderOrg, orgId]) {
      const them = as(t.app, outsider, header);
      expectProblem(await them.get(invitationsUrl(project.id)), 404);
      expectProblem(await them.post(invitationsUrl(project.id)).send({ emails: [outsider.email, freshEmail()] }), 404);
      expectProblem(await them.post(`${invitationsUrl(project.id)}/${invitation.id}/resend`), 404);
      expectProblem(await them.delete(`${invitationsUrl(project.id)}/${invitation.id}`), 404);
    }
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('an invitation id of this organization is unknown under the outsider\'s own project', async () => {
    const project = await createProject();
    const { invitation } = await inviteOne(project.id);
    const theirs = (await as(t.app, outsider, outsiderOrg).post('/api/v1/projects').send({ name: 'Their Invites', type: 'manual' }).expect(201)).body;
    const them = as(t.app, outsider, outsiderOrg);
    expectProblem(await them.post(`${invitationsUrl(theirs.id)}/${invitation.id}/resend`), 404);
    expectProblem(await them.delete(`${invitationsUrl(theirs.id)}/${invitation.id}`), 404);
    const row = await t.admin.query('select status, token_hash from public.project_invitations where id = $1', [invitation.id]);
    expect(row.rows[0].status).toBe('pending');
  });
});

describe("the frontend's form: one role and notification level per invitee", () => {
  test('each invitee gets their role and preferences; the answer counts sent and failed', async () => {
    const project = await createProject();
    const member = await projectMember(project.id, 'developer');
    const pendingOne = await inviteOne(project.id);
    const [dev, aud, quiet] = [freshEmail('dev'), freshEmail('aud'), freshEmail('quiet')];
    const res = await api(owner)
      .post(invitationsUrl(project.id))
      .send({
        invitations: [
          { email: dev, role: 'developer', notificationLevel: 'real-time' },
          { email: aud, role: 'auditor', notificationLevel: 'daily' },
          { email: quiet, role: 'viewer', notificationLevel: 'disabled' },
          { email: member.email, role: 'viewer', notificationLevel: 'weekly' },
          { email: pendingOne.email, role: 'viewer', notificationLevel: 'weekly' },
          { email: 'not an email', role: 'viewer', notificationLevel: 'weekly' },
        ],
      })
      .expect(200);
    expect(res.body).toMatchObject({ success: false, totalSent: 3, totalFailed: 2 });
    const byEmail = new Map(res.body.results.map((r: { email: string }) => [r.email, r]));
    const prefs = (email: string) => {
      const { role, notifyOnIngestion, notifyOnError, notifyOnTeamChanges } = (byEmail.get(email) as { invitation: Record<string, unknown> }).invitation;
      return { role, notifyOnIngestion, notifyOnError, notifyOnTeamChanges };
    };
    expect(prefs(dev)).toEqual({ role: 'developer', notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: true });
    expect(prefs(aud)).toEqual({ role: 'auditor', notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: false });
    expect(prefs(quiet)).toEqual({ role: 'viewer', notifyOnIngestion: false, notifyOnError: false, notifyOnTeamChanges: false });
    const memberRow = await t.admin.query('select id from public.project_members where project_id = $1 and user_id = $2', [project.id, member.userId]);
    expect(byEmail.get(member.email)).toMatchObject({ status: 'failed', outcome: 'already_member', memberId: memberRow.rows[0].id, error: expect.any(String) });
    expect(byEmail.get(pendingOne.email)).toMatchObject({ status: 'pending', outcome: 'already_invited', memberId: pendingOne.invitation.id });
    expect(byEmail.get('not an email')).toMatchObject({ status: 'failed', outcome: 'invalid_email', memberId: null, error: expect.any(String) });
    for (const email of [dev, aud, quiet]) expect(byEmail.get(email)).toMatchObject({ status: 'sent', error: null });

    // All sent: success.
    const clean = await api(owner).post(invitationsUrl(project.id)).send({ invitations: [{ email: freshEmail() }] }).expect(200);
    expect(clean.body).toMatchObject({ success: true, totalSent: 1, totalFailed: 0 });
    expect(clean.body.results[0].invitation).toMatchObject({ role: 'viewer', notifyOnTeamChanges: true });
  });

  test('accepting gives the membership the invitation\'s preferences', async () => {
    const project = await createProject();
    const email = freshEmail('digest');
    const res = await api(owner)
      .post(invitationsUrl(project.id))
      .send({ invitations: [{ email, role: 'developer', notificationLevel: 'weekly' }] })
      .expect(200);
    const accepted = await stranger(email).accept(res.body.results[0].token).expect(200);
    expect(accepted.body.member).toMatchObject({ role: 'developer', notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: false });
  });

  test('someone deactivated in the organization cannot walk back in with an invitation (403, nothing changes)', async () => {
    const project = await createProject();
    const sleeper = await newUser(t.app, 'i-sleeper');
    await addMember(t, orgId, sleeper, 'member');
    await t.admin.query("update public.organization_members set status = 'inactive' where organization_id = $1 and user_id = $2", [orgId, sleeper.userId]);
    const { token: secret } = await inviteOne(project.id, sleeper.email);
    const before = await snapshot(project.id);
    const res = await request(t.app).post(ACCEPT).set('Authorization', `Bearer ${sleeper.token}`).send({ token: secret });
    expectProblem(res, 403);
    expect(res.body.detail).toMatch(/deactivated/);
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('400 for both forms, neither, an unknown level or an unknown field; 403 for an admin invitee from a manager', async () => {
    const project = await createProject();
    const manager = await projectMember(project.id, 'manager');
    const before = await snapshot(project.id);
    const email = freshEmail();
    for (const body of [
      { emails: [email], invitations: [{ email }] },
      {},
      { role: 'viewer' },
      { invitations: [{ email, notificationLevel: 'hourly' }] },
      { invitations: [{ email, colour: 'red' }] },
      { invitations: [] },
      { invitations: [{ role: 'viewer' }] },
    ]) {
      expectProblem(await api(owner).post(invitationsUrl(project.id)).send(body), 400);
    }
    expectProblem(await api(manager).post(invitationsUrl(project.id)).send({ invitations: [{ email, role: 'viewer' }, { email: freshEmail(), role: 'admin' }] }), 403);
    expect(await snapshot(project.id)).toEqual(before);
  });

  test('another organization: 404 for the frontend\'s form too', async () => {
    const project = await createProject();
    const before = await snapshot(project.id);
    for (const header of [undefined, outsiderOrg, orgId]) {
      expectProblem(await as(t.app, outsider, header).post(invitationsUrl(project.id)).send({ invitations: [{ email: freshEmail() }] }), 404);
    }
    expect(await snapshot(project.id)).toEqual(before);
  });
});
