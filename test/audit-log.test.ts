import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import pg from 'pg';
import request from 'supertest';
import type { Identity } from '../src/auth/caller';
import { auditListQuery } from '../src/audit/sql';
import { auditRetentionTask } from '../src/audit/retention';
import { openAs, SERVICE_IDENTITY, withRequestTransaction } from '../src/db/transaction';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// The audit log: entries written by the database in the transaction of the
// change they record, read by owners and admins with the frontend's filters,
// never changed by anyone; and each owner's or admin's saved filters.

let t: TestApp;
let proxied: Express; // the same app behind a trusted proxy: X-Forwarded-For names the client
let owner: TestUser;
let admin: TestUser;
let member: TestUser;
let outsider: TestUser;
let orgA: string;
let orgB: string;

const unique = () => randomUUID().slice(0, 8);

interface Entry {
  id: string;
  teamId: string;
  userId: string | null;
  userEmail: string | null;
  eventType: string;
  eventCategory: string;
  description: string;
  metadata: Record<string, unknown>;
  changes: Array<{ field: string; oldValue: unknown; newValue: unknown }>;
  ipAddress: string | null;
  userAgent: string | null;
  targetType: string;
  targetId: string | null;
  targetName: string | null;
  createdAt: string;
}

/** The entries (as the owner reads them through the API) whose target is `targetId`, oldest first. */
async function entriesFor(targetId: string, org = orgA, reader = owner): Promise<Entry[]> {
  const rows = await t.admin.query<{ id: string }>('select id from public.audit_log where target_id = $1 and organization_id = $2 order by created_at', [
    targetId,
    org,
  ]);
  const entries: Entry[] = [];
  for (const { id } of rows.rows) entries.push((await as(t.app, reader, org).get(`/api/v1/audit-log/${id}`).expect(200)).body);
  return entries;
}

async function countFor(targetId: string): Promise<number> {
  return (await t.admin.query<{ n: number }>('select count(*)::int as n from public.audit_log where target_id = $1', [targetId])).rows[0]!.n;
}

function signedIn(user: TestUser): Identity {
  return { role: 'authenticated', userId: user.userId, email: user.email, claims: { sub: user.userId, email: user.email, role: 'authenticated', aud: 'authenticated' } };
}

/** A session opened as the API opens one (login role, claims, SET LOCAL ROLE); rolled back at the end. */
async function session<T>(identity: Identity, organizationId: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    await openAs(client, identity, { requestedOrganizationId: organizationId, statementTimeoutMs: 5000, meterApiCall: false });
    return await work(client);
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

async function sqlError(client: pg.Client, sql: string, params: unknown[] = []): Promise<{ code?: string; message: string } | null> {
  await client.query('savepoint attempt');
  try {
    await client.query(sql, params);
    await client.query('release savepoint attempt');
    return null;
  } catch (error) {
    await client.query('rollback to savepoint attempt');
    const { code, message } = error as { code?: string; message: string };
    return { code, message };
  }
}

beforeAll(async () => {
  t = createTestApp();
  proxied = t.variant({ trustProxy: true });
  owner = await newUser(t.app, 'audit-owner');
  admin = await newUser(t.app, 'audit-admin');
  member = await newUser(t.app, 'audit-member');
  outsider = await newUser(t.app, 'audit-outsider');
  orgA = await newOrganization(t.app, owner, 'Audit A');
  orgB = await newOrganization(t.app, outsider, 'Audit B');
  await addMember(t, orgA, admin, 'admin');
  await addMember(t, orgA, member, 'member');
});
afterAll(() => t.close());

describe('what is recorded, in the transaction of the change', () => {
  test('a project created through a proxy: actor, client address and user agent from the request', async () => {
    const name = `Audited ${unique()}`;
    const created = await request(proxied)
      .post('/api/v1/projects')
      .set('Authorization', `Bearer ${owner.token}`)
      .set('X-Organization-Id', orgA)
      .set('X-Forwarded-For', '203.0.113.7')
      .set('User-Agent', 'AuditTest/1.0 (x; y)')
      .send({ name, type: 'manual' })
      .expect(201);
    const [entry, ...more] = await entriesFor(created.body.id);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      teamId: orgA,
      userId: owner.userId,
      userEmail: owner.email,
      eventType: 'context.created',
      eventCategory: 'context',
      targetType: 'project',
      targetId: created.body.id,
      targetName: name,
      ipAddress: '203.0.113.7',
      userAgent: 'AuditTest/1.0 (x; y)',
      changes: [],
      description: `${owner.email} created project ${name}`,
    });
  });

  test('without a trusted proxy, X-Forwarded-For is not believed: the socket address is recorded', async () => {
    const created = await as(t.app, owner, orgA).post('/api/v1/projects').set('X-Forwarded-For', '198.51.100.1').send({ name: `Direct ${unique()}`, type: 'manual' }).expect(201);
    const [entry] = await entriesFor(created.body.id);
    expect(entry!.ipAddress).not.toBe('198.51.100.1');
    expect(['127.0.0.1', '::1']).toContain(entry!.ipAddress);
  });

  test('an update records exactly the changed columns, old and new; an update that changes nothing records nothing', async () => {
    const created = await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: `Before ${unique()}`, type: 'manual', description: 'old text' }).expect(201);
    const renamed = `After ${unique()}`;
    await as(t.app, admin, orgA).patch(`/api/v1/projects/${created.body.id}`).send({ name: renamed, description: 'new text', privacy: 'private' }).expect(200);
    await as(t.app, admin, orgA).patch(`/api/v1/projects/${created.body.id}`).send({ name: renamed }).expect(200);
    const entries = await entriesFor(created.body.id);
    expect(entries.map((e) => e.eventType)).toEqual(['context.created', 'context.updated']);
    expect(entries[1]).toMatchObject({ userId: admin.userId, userEmail: admin.email, targetName: renamed });
    expect(entries[1]!.changes).toEqual([
      { field: 'description', oldValue: 'old text', newValue: 'new text' },
      { field: 'name', oldValue: created.body.name, newValue: renamed },
    ]);
  });

  test('a deleted project leaves its deletion on record', async () => {
    const created = await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: `Doomed ${unique()}`, type: 'manual' }).expect(201);
    await as(t.app, owner, orgA).delete(`/api/v1/projects/${created.body.id}`).expect(204);
    expect((await entriesFor(created.body.id)).map((e) => e.eventType)).toEqual(['context.created', 'context.deleted']);
  });

  test('a change that rolls back leaves no entry; inside its transaction the entry is there', async () => {
    const name = `Rolled ${unique()}`;
    await session(signedIn(owner), orgA, async (client) => {
      const inserted = await client.query<{ id: string }>(`insert into public.projects (organization_id, user_id, name, type) values ($1, $2, $3, 'manual') returning id`, [
        orgA,
        owner.userId,
        name,
      ]);
      const id = inserted.rows[0]!.id;
      expect((await client.query('select event_type from public.audit_log where target_id = $1', [id])).rows).toEqual([{ event_type: 'context.created' }]);
      // The same name again violates the unique index: the transaction fails as a whole.
      await expect(client.query(`insert into public.projects (organization_id, user_id, name, type) values ($1, $2, $3, 'manual')`, [orgA, owner.userId, name])).rejects.toMatchObject({
        code: '23505',
      });
      await client.query('rollback');
      expect(await countFor(id)).toBe(0);
    });
    // Through the API: a create refused by the constraint records nothing either.
    const taken = await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: `Taken ${unique()}`, type: 'manual' }).expect(201);
    const before = (await t.admin.query<{ n: number }>(`select count(*)::int as n from public.audit_log where organization_id = $1`, [orgA])).rows[0]!.n;
    expectProblem(await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: taken.body.name.toUpperCase(), type: 'manual' }), 409);
    expect((await t.admin.query<{ n: number }>(`select count(*)::int as n from public.audit_log where organization_id = $1`, [orgA])).rows[0]!.n).toBe(before);
  });

  test('organization members: joined, role changed, deactivated, removed', async () => {
    const org = await newOrganization(t.app, owner, 'Audit team');
    const person = await newUser(t.app, 'audit-person');
    await as(t.app, owner, org).post(`/api/v1/organizations/${org}/members`).send({ email: person.email, role: 'member' }).expect(201);
    await as(t.app, owner, org).patch(`/api/v1/organizations/${org}/members/${person.userId}`).send({ role: 'admin' }).expect(200);
    await as(t.app, owner, org).patch(`/api/v1/organizations/${org}/members/${person.userId}`).send({ status: 'inactive' }).expect(200);
    await as(t.app, owner, org).delete(`/api/v1/organizations/${org}/members/${person.userId}`).expect(204);
    const entries = await entriesFor(person.userId, org);
    expect(entries.map((e) => [e.eventType, e.targetName, e.userId])).toEqual([
      ['team.member_joined', person.email, owner.userId],
      ['team.role_changed', person.email, owner.userId],
      ['team.member_status_changed', person.email, owner.userId],
      ['team.member_removed', person.email, owner.userId],
    ]);
    expect(entries[1]!.changes).toEqual([{ field: 'role', oldValue: 'member', newValue: 'admin' }]);
    expect(entries[2]!.changes).toEqual([{ field: 'status', oldValue: 'active', newValue: 'inactive' }]);
    expect(entries[2]!.description).toBe(`${owner.email} deactivated ${person.email}`);
  });

  test('project invitations and members: invited, sent again, cancelled; joined, role changed, removed', async () => {
    const project = (await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: `Team ${unique()}`, type: 'manual' }).expect(201)).body;
    const email = `guest-${unique()}@example.test`;
    const invited = await as(t.app, owner, orgA).post(`/api/v1/projects/${project.id}/invitations`).send({ emails: [email], role: 'viewer' }).expect(200);
    const invitationId = invited.body.results[0].invitation.id;
    await as(t.app, owner, orgA).post(`/api/v1/projects/${project.id}/invitations/${invitationId}/resend`).expect(200);
    await as(t.app, owner, orgA).delete(`/api/v1/projects/${project.id}/invitations/${invitationId}`).expect(204);
    const invitation = await entriesFor(invitationId);
    expect(invitation.map((e) => e.eventType)).toEqual(['team.member_invited', 'team.invitation_resent', 'team.invitation_cancelled']);
    expect(invitation[0]).toMatchObject({ targetName: email, metadata: expect.objectContaining({ projectId: project.id, projectName: project.name, role: 'viewer' }) });
    expect(JSON.stringify(invitation)).not.toMatch(/token/i);

    const added = await as(t.app, owner, orgA).post(`/api/v1/projects/${project.id}/members`).send({ email: member.email, role: 'viewer' }).expect(201);
    await as(t.app, owner, orgA).patch(`/api/v1/projects/${project.id}/members/${added.body.id}`).send({ role: 'developer' }).expect(200);
    await as(t.app, owner, orgA).delete(`/api/v1/projects/${project.id}/members/${added.body.id}`).expect(204);
    const membership = await entriesFor(added.body.id);
    expect(membership.map((e) => e.eventType)).toEqual(['team.member_joined', 'team.role_changed', 'team.member_removed']);
    expect(membership[1]!.changes).toEqual([{ field: 'role', oldValue: 'viewer', newValue: 'developer' }]);
    expect(membership[1]!.description).toBe(`${owner.email} changed the role of ${member.email} in project ${project.name} to developer`);
    // The creator joins with the project: that is the project's creation, not another event.
    const creatorMembership = await t.admin.query<{ id: string }>('select id from public.project_members where project_id = $1 and user_id = $2', [project.id, owner.userId]);
    expect(await countFor(creatorMembership.rows[0]!.id)).toBe(0);
  });

  test('billing: details, payment methods, the plan; organization settings', async () => {
    const org = await newOrganization(t.app, owner, 'Audit billing');
    await as(t.app, owner, org).put('/api/v1/billing/details').send({ companyName: 'Audit B.V.', country: 'NL', city: 'Amsterdam' }).expect(200);
    await as(t.app, owner, org).patch('/api/v1/billing/details').send({ city: 'Utrecht' }).expect(200);
    const details = await entriesFor(org, org);
    const billing = details.filter((e) => e.eventType === 'team.billing_details_updated');
    expect(billing).toHaveLength(2);
    expect(billing[1]!.changes).toEqual([{ field: 'city', oldValue: 'Amsterdam', newValue: 'Utrecht' }]);

    const card = await as(t.app, owner, org).post('/api/v1/billing/payment-methods').send({ type: 'card', cardBrand: 'visa', cardLast4: '4242', cardExpMonth: 12, cardExpYear: 2030 }).expect(201);
    await as(t.app, owner, org).delete(`/api/v1/billing/payment-methods/${card.body.id}`).expect(204);
    expect((await entriesFor(card.body.id, org)).map((e) => [e.eventType, e.targetName])).toEqual([
      ['security.payment_method_added', 'visa ending 4242'],
      ['security.payment_method_removed', 'visa ending 4242'],
    ]);

    await as(t.app, owner, org).post('/api/v1/billing/subscription/change').send({ planId: 'pro', billingInterval: 'monthly' }).expect(200);
    const subscriptionId = (await t.admin.query<{ id: string }>('select id from public.subscriptions where organization_id = $1', [org])).rows[0]!.id;
    const plan = await entriesFor(subscriptionId, org);
    expect(plan.map((e) => e.eventType)).toEqual(['team.plan_changed']);
    expect(plan[0]!.changes).toEqual(expect.arrayContaining([{ field: 'planId', oldValue: 'free', newValue: 'pro' }]));

    await as(t.app, owner, org).patch(`/api/v1/organizations/${org}`).send({ name: `Renamed ${unique()}` }).expect(200);
    const settings = (await entriesFor(org, org)).filter((e) => e.eventType === 'team.settings_updated');
    expect(settings).toHaveLength(1);
    expect(settings[0]!.changes.map((c) => c.field)).toEqual(['name']);
  });

  test('a reflex secret regenerated (never the secret itself) and a skill shared publicly', async () => {
    const skill = await as(t.app, owner, orgA).post('/api/v1/skills').send({ name: `Audit skill ${unique()}`, promptTemplate: 'Summarize {{text}} for me.' }).expect(201);
    const reflex = await as(t.app, owner, orgA).post('/api/v1/reflexes').send({ skillId: skill.body.id, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201);
    expect(await countFor(reflex.body.id)).toBe(0);
    const regenerated = await as(t.app, owner, orgA).post(`/api/v1/reflexes/${reflex.body.id}/regenerate-secret`).expect(200);
    const [entry] = await entriesFor(reflex.body.id);
    expect(entry).toMatchObject({ eventType: 'security.reflex_secret_regenerated', targetName: skill.body.name });
    const stored = await t.admin.query('select to_jsonb(a)::text as row from public.audit_log a where target_id = $1', [reflex.body.id]);
    expect(stored.rows[0].row).not.toContain(regenerated.body.secret);
    expect(stored.rows[0].row).not.toContain('whsec_');

    await as(t.app, owner, orgA).patch(`/api/v1/skills/${skill.body.id}`).send({ isPublic: true }).expect(200);
    const shared = await entriesFor(skill.body.id);
    expect(shared.map((e) => e.eventType)).toEqual(['context.skill_shared']);
    expect(shared[0]!.changes).toEqual([{ field: 'isPublic', oldValue: false, newValue: true }]);
  });
});

describe('GET /audit-log', () => {
  let org: string;
  let alpha: string;
  beforeAll(async () => {
    org = await newOrganization(t.app, owner, 'Audit filters');
    await addMember(t, org, admin, 'admin');
    alpha = `Alpha ${unique()}`;
    await as(t.app, owner, org).post('/api/v1/projects').send({ name: alpha, type: 'manual' }).expect(201);
    await as(t.app, admin, org).post('/api/v1/projects').send({ name: `Beta ${unique()}`, type: 'manual' }).expect(201);
    await as(t.app, admin, org).put('/api/v1/billing/details').send({ companyName: 'Filters B.V.', country: 'NL' }).expect(200);
  });

  const list = (query: string, user = owner) => as(t.app, user, org).get(`/api/v1/audit-log${query}`);

  test('newest first, in the page envelope', async () => {
    const res = await list('?pageSize=2').expect(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 2, hasMore: true, totalExact: true });
    expect(res.body.data).toHaveLength(2);
    expect(res.body.data[0].eventType).toBe('team.billing_details_updated');
    const all = (await list('').expect(200)).body.data as Entry[];
    const times = all.map((e) => Date.parse(e.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.every((e) => e.teamId === org)).toBe(true);
  });

  test("filters: the actor, the category, event types, the window and free text", async () => {
    const byAdmin = (await list(`?userId=${admin.userId}`).expect(200)).body.data as Entry[];
    expect(byAdmin.length).toBeGreaterThanOrEqual(2);
    expect(byAdmin.every((e) => e.userId === admin.userId)).toBe(true);

    const context = (await list('?eventCategory=context').expect(200)).body.data as Entry[];
    expect(context.map((e) => e.eventType)).toEqual(['context.created', 'context.created']);

    const types = (await list('?eventTypes=team.billing_details_updated,team.member_joined').expect(200)).body.data as Entry[];
    expect(new Set(types.map((e) => e.eventType))).toEqual(new Set(['team.billing_details_updated', 'team.member_joined']));

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await list(`?dateFrom=${future}`).expect(200)).body.total).toBe(0);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await list(`?dateFrom=${past}&dateTo=${future}`).expect(200)).body.total).toBe((await list('').expect(200)).body.total);
    expect((await list(`?dateTo=${past}`).expect(200)).body.total).toBe(0);

    const byName = (await list(`?searchQuery=${encodeURIComponent(alpha.slice(6).toUpperCase())}`).expect(200)).body.data as Entry[];
    expect(byName.map((e) => e.targetName)).toEqual([alpha]);
    const byEmail = (await list(`?searchQuery=${encodeURIComponent(admin.email)}`).expect(200)).body.data as Entry[];
    expect(byEmail.length).toBeGreaterThanOrEqual(2);
    expect(byEmail.every((e) => e.userEmail === admin.email || e.targetName === admin.email)).toBe(true);
    const byType = (await list('?searchQuery=billing_details').expect(200)).body.data as Entry[];
    expect(byType.map((e) => e.eventType)).toEqual(['team.billing_details_updated']);
    // Wildcards are text.
    expect((await list('?searchQuery=%25').expect(200)).body.total).toBe(0);
    const haystack = (e: Entry) => `${e.targetName ?? ''} ${e.userEmail ?? ''} ${e.eventType}`.toLowerCase();
    const underscored = (await list('?searchQuery=_').expect(200)).body.data as Entry[];
    expect(underscored.length).toBeGreaterThan(0);
    expect(underscored.every((e) => haystack(e).includes('_'))).toBe(true);
    expect(underscored.some((e) => e.eventType === 'context.created')).toBe(false);
    // Shorter than a trigram: found all the same.
    const short = alpha.slice(-2).toUpperCase();
    const shortHits = (await list(`?searchQuery=${short}`).expect(200)).body.data as Entry[];
    expect(shortHits.map((e) => e.targetName)).toContain(alpha);
    expect(shortHits.every((e) => haystack(e).includes(short.toLowerCase()))).toBe(true);
  });

  test('bad input is a 400 and nothing else', async () => {
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const now = new Date().toISOString();
    for (const query of [
      `?dateFrom=${now}&dateTo=${past}`,
      '?eventTypes=team.nonsense',
      '?eventCategory=billing',
      '?userId=not-a-uuid',
      '?dateFrom=yesterday',
      `?searchQuery=${'x'.repeat(201)}`,
      '?pageSize=101',
    ]) {
      expectProblem(await list(query), 400);
    }
    expectProblem(await as(t.app, owner, org).get('/api/v1/audit-log/not-a-uuid'), 400);
  });

  test('plain members get 403, and the database shows them nothing either', async () => {
    const entry = (await list('?pageSize=1').expect(200)).body.data[0] as Entry;
    expectProblem(await as(t.app, member, orgA).get('/api/v1/audit-log'), 403);
    const some = (await as(t.app, owner, orgA).get('/api/v1/audit-log?pageSize=1').expect(200)).body.data[0] as Entry;
    expectProblem(await as(t.app, member, orgA).get(`/api/v1/audit-log/${some.id}`), 403);
    const seen = await session(signedIn(member), orgA, async (client) => (await client.query('select count(*)::int as n from public.audit_log')).rows[0].n);
    expect(seen).toBe(0);
    const searched = await session(signedIn(member), orgA, async (client) => (await client.query(`select count(*)::int as n from app.search_audit_log_ids('%')`)).rows[0].n);
    expect(searched).toBe(0);
    expect(entry.teamId).toBe(org);
  });

  test("another organization sees none of these entries: its list holds its own only, an id of ours is a 404", async () => {
    const ours = (await list('?pageSize=1').expect(200)).body.data[0] as Entry;
    const theirs = await as(t.app, outsider, orgB).get('/api/v1/audit-log?pageSize=100').expect(200);
    expect((theirs.body.data as Entry[]).every((e) => e.teamId === orgB)).toBe(true);
    expect((theirs.body.data as Entry[]).some((e) => e.id === ours.id)).toBe(false);
    expectProblem(await as(t.app, outsider, orgB).get(`/api/v1/audit-log/${ours.id}`), 404);
    expectProblem(await as(t.app, outsider, org).get('/api/v1/audit-log'), 404);
    const seen = await session(signedIn(outsider), orgB, async (client) => (await client.query('select count(*)::int as n from public.audit_log where organization_id = $1', [org])).rows[0].n);
    expect(seen).toBe(0);
  });
});

describe('the list at scale', () => {
  test('a page walks the organization\'s index, under the policy too; the search\'s expression has its trigram index', async () => {
    const noise = (await t.admin.query<{ id: string }>(`insert into public.organizations (name) values ($1) returning id`, [`Audit noise ${unique()}`])).rows[0]!.id;
    try {
      await t.admin.query(
        `insert into public.audit_log (organization_id, category, event_type, target_type, target_name, created_at)
         select $1, 'context', 'context.updated', 'project', 'noise ' || g, now() - g * interval '1 second'
         from generate_series(1, 6000) g`,
        [noise],
      );
      await t.admin.query('analyze public.audit_log');
      const query = auditListQuery(orgA, {}, { page: 1, pageSize: 20 });
      const explain = `explain (format json) select ${query.select} from ${query.fromWhere} order by ${query.orderBy} limit 21`;
      const plan = await withRequestTransaction(t.pool, signedIn(owner), { requestedOrganizationId: orgA, statementTimeoutMs: 5000, meterApiCall: false }, async (tx) => {
        return (await tx.query(explain, query.params)).rows[0]!['QUERY PLAN'][0].Plan;
      });
      const scans: Array<{ type: string; cond?: string }> = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Relation Name'] === 'audit_log') scans.push({ type: node['Node Type'] as string, cond: (node['Index Cond'] ?? node['Recheck Cond']) as string | undefined });
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk(plan);
      expect(scans.length).toBeGreaterThan(0);
      for (const scan of scans) {
        expect(scan.type).toMatch(/^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/);
        expect(scan.cond).toMatch(/organization_id = /);
      }
      // The search function's expression is the trigram index's: the index serves it (the planner is
      // asked not to read a table this small whole, and picks between this index and the
      // organization's by their selectivity in a real one).
      const admin = await t.admin.connect();
      try {
        await admin.query('begin');
        await admin.query('set local enable_seqscan = off');
        const search = await admin.query(
          `explain (format json) select a.id from public.audit_log a
           where (coalesce(a.target_name, '') || ' ' || coalesce(a.actor_email, '') || ' ' || a.event_type) ilike '%noise 4242%'`,
        );
        expect(JSON.stringify(search.rows[0]['QUERY PLAN'])).toContain('audit_log_search_trgm_idx');
      } finally {
        await admin.query('rollback');
        admin.release();
      }
    } finally {
      // Entries go only with their organization.
      await t.admin.query('delete from public.organizations where id = $1', [noise]);
    }
    expect((await t.admin.query<{ n: number }>('select count(*)::int as n from public.audit_log where organization_id = $1', [noise])).rows[0]!.n).toBe(0);
  });
});

describe('append-only', () => {
  let entryId: string;
  beforeAll(async () => {
    const created = await as(t.app, owner, orgA).post('/api/v1/projects').send({ name: `Kept ${unique()}`, type: 'manual' }).expect(201);
    entryId = (await t.admin.query<{ id: string }>('select id from public.audit_log where target_id = $1', [created.body.id])).rows[0]!.id;
  });

  const unchanged = async () =>
    expect((await t.admin.query('select event_type, target_name from public.audit_log where id = $1', [entryId])).rows).toEqual([
      { event_type: 'context.created', target_name: expect.stringMatching(/^Kept /) },
    ]);

  test.each([
    ['the owner of the organization (authenticated)', () => signedIn(owner)],
    ['the back office (service_role)', () => SERVICE_IDENTITY],
  ])('%s can neither insert, update, delete nor truncate', async (_label, identity) => {
    await session(identity(), orgA, async (client) => {
      for (const sql of [
        `update public.audit_log set target_name = 'forged' where id = $1`,
        'delete from public.audit_log where id = $1',
        `insert into public.audit_log (organization_id, category, event_type, target_type) select organization_id, 'team', 'team.settings_updated', 'organization' from public.audit_log where id = $1`,
      ]) {
        expect(await sqlError(client, sql, [entryId])).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
      }
      expect(await sqlError(client, 'truncate public.audit_log')).toMatchObject({ code: '42501' });
    });
    await unchanged();
  });

  test("the app's login role itself has no right on the table", async () => {
    const client = new pg.Client({ connectionString: t.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      for (const sql of [`update public.audit_log set target_name = 'forged' where id = $1`, 'delete from public.audit_log where id = $1']) {
        expect(await sqlError(client, sql, [entryId])).toMatchObject({ code: '42501' });
      }
      expect(await sqlError(client, 'truncate public.audit_log')).toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      await client.end();
    }
    await unchanged();
  });

  test("even the table's owner cannot change, delete or truncate an entry within its retention", async () => {
    await expect(t.admin.query(`update public.audit_log set target_name = 'forged' where id = $1`, [entryId])).rejects.toMatchObject({
      code: '42501',
      message: 'audit log entries cannot be changed',
    });
    await expect(t.admin.query('delete from public.audit_log where id = $1', [entryId])).rejects.toMatchObject({ code: '42501' });
    await expect(t.admin.query('truncate public.audit_log')).rejects.toMatchObject({ code: '42501' });
    await unchanged();
  });

  test('entries past the plan’s retention go through the purge; younger ones stay', async () => {
    const org = await newOrganization(t.app, owner, 'Audit retention');
    const old = await t.admin.query<{ id: string }>(
      `insert into public.audit_log (organization_id, category, event_type, target_type, created_at)
       values ($1, 'team', 'team.settings_updated', 'organization', now() - interval '8 days'),
              ($1, 'team', 'team.settings_updated', 'organization', now() - interval '6 days') returning id`,
      [org],
    );
    // Free keeps 7 days. Other suites' expired rows may go too; the batch is large enough for all.
    // The background loop's pass (audit-retention), as the back office.
    await auditRetentionTask({ pool: t.pool, statementTimeoutMs: 5000, batchSize: 100_000 }).tick();
    const left = await t.admin.query<{ id: string }>('select id from public.audit_log where id = any($1)', [old.rows.map((r) => r.id)]);
    expect(left.rows.map((r) => r.id)).toEqual([old.rows[1]!.id]);
    await expect(t.admin.query('delete from public.audit_log where id = $1', [old.rows[1]!.id])).rejects.toMatchObject({ code: '42501' });
  });
});

describe('app.record_audit_event (events that are not row changes)', () => {
  test('the back office records an event for the organization it names, with the request address', async () => {
    const keyId = randomUUID();
    await session(SERVICE_IDENTITY, orgA, async (client) => {
      await client.query(`select set_config('app.client_ip', '192.0.2.44', true), set_config('app.user_agent', 'worker/1', true)`);
      const written = await client.query(`select app.record_audit_event('security', 'security.api_key_created', 'api_key', $1, 'CI key', $2, null, $3) as n`, [
        keyId,
        { scopes: ['read'], changes: { scopes: { old: null, new: ['read'] } } },
        owner.userId,
      ]);
      expect(written.rows[0].n).toBe(1);
      await client.query('commit');
    });
    const [entry] = await entriesFor(keyId);
    expect(entry).toMatchObject({
      eventType: 'security.api_key_created',
      eventCategory: 'security',
      userId: owner.userId,
      userEmail: owner.email,
      targetName: 'CI key',
      ipAddress: '192.0.2.44',
      userAgent: 'worker/1',
      metadata: { scopes: ['read'] },
      changes: [{ field: 'scopes', oldValue: null, newValue: ['read'] }],
      description: `${owner.email} created API key CI key`,
    });
  });

  test('without an organization, a user event goes to each organization the user is an active member of', async () => {
    const sessionId = randomUUID();
    const n = await session(SERVICE_IDENTITY, orgA, async (client) => {
      await client.query(`select set_config('app.organization_id', '', true)`);
      const written = await client.query(`select app.record_audit_event('user', 'user.login', 'session', $1, null, '{}', null, $2) as n`, [sessionId, admin.userId]);
      await client.query('commit');
      return written.rows[0].n;
    });
    const orgs = await t.admin.query<{ organization_id: string }>(`select organization_id from public.organization_members where user_id = $1 and status = 'active' order by 1`, [admin.userId]);
    expect(n).toBe(orgs.rowCount);
    const recorded = await t.admin.query<{ organization_id: string }>('select organization_id from public.audit_log where target_id = $1 order by 1', [sessionId]);
    expect(recorded.rows).toEqual(orgs.rows);
  });

  test('signed-in users cannot call it; a wrong category is refused', async () => {
    await session(signedIn(owner), orgA, async (client) => {
      expect(await sqlError(client, `select app.record_audit_event('user', 'user.login', 'session', null, null, '{}')`)).toMatchObject({ code: '42501' });
    });
    await session(SERVICE_IDENTITY, orgA, async (client) => {
      expect(await sqlError(client, `select app.record_audit_event('user', 'security.login_failed', 'session', null, null, '{}')`)).toMatchObject({ code: '22023' });
      expect(await sqlError(client, `select app.record_audit_event('user', 'user.nonsense', 'session', null, null, '{}')`)).toMatchObject({ code: '23514' });
    });
  });
});

describe('saved filters', () => {
  const path = '/api/v1/audit-log/saved-filters';
  const filters = { eventTypes: ['team.role_changed'], eventCategory: 'team', dateFrom: '2026-11-01T00:00:00.000Z', searchQuery: 'bob' };

  test('create, read, list, change and delete my own', async () => {
    const name = `Roles ${unique()}`;
    const created = await as(t.app, owner, orgA).post(path).send({ name, filters }).expect(201);
    expect(created.headers.location).toBe(`${path}/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.any(String),
      teamId: orgA,
      userId: owner.userId,
      name,
      filters,
      isShared: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await as(t.app, owner, orgA).get(`${path}/${created.body.id}`).expect(200)).body).toEqual(created.body);
    const listed = (await as(t.app, owner, orgA).get(`${path}?pageSize=100`).expect(200)).body;
    expect(listed.data.map((f: { id: string }) => f.id)).toContain(created.body.id);
    const changed = await as(t.app, owner, orgA).patch(`${path}/${created.body.id}`).send({ filters: { userId: admin.userId }, isShared: true }).expect(200);
    expect(changed.body).toMatchObject({ name, filters: { userId: admin.userId }, isShared: true });
    await as(t.app, owner, orgA).delete(`${path}/${created.body.id}`).expect(204);
    expectProblem(await as(t.app, owner, orgA).get(`${path}/${created.body.id}`), 404);
  });

  test("another person's private filter is invisible; a shared one is readable but not theirs to change", async () => {
    const hidden = await as(t.app, admin, orgA).post(path).send({ name: `Private ${unique()}`, filters: {} }).expect(201);
    const shared = await as(t.app, admin, orgA).post(path).send({ name: `Shared ${unique()}`, filters: { eventCategory: 'security' }, isShared: true }).expect(201);
    expectProblem(await as(t.app, owner, orgA).get(`${path}/${hidden.body.id}`), 404);
    expectProblem(await as(t.app, owner, orgA).patch(`${path}/${hidden.body.id}`).send({ name: 'Taken over' }), 404);
    expectProblem(await as(t.app, owner, orgA).delete(`${path}/${hidden.body.id}`), 404);
    expect((await as(t.app, owner, orgA).get(`${path}/${shared.body.id}`).expect(200)).body.userId).toBe(admin.userId);
    expectProblem(await as(t.app, owner, orgA).patch(`${path}/${shared.body.id}`).send({ name: 'Taken over' }), 403);
    expectProblem(await as(t.app, owner, orgA).delete(`${path}/${shared.body.id}`), 403);
    const listed = (await as(t.app, owner, orgA).get(`${path}?pageSize=100`).expect(200)).body.data.map((f: { id: string }) => f.id);
    expect(listed).toContain(shared.body.id);
    expect(listed).not.toContain(hidden.body.id);
    // Another organization: nothing at all.
    expectProblem(await as(t.app, outsider, orgB).get(`${path}/${shared.body.id}`), 404);
    expectProblem(await as(t.app, outsider, orgB).delete(`${path}/${shared.body.id}`), 404);
    expect((await as(t.app, outsider, orgB).get(`${path}?pageSize=100`).expect(200)).body.data.map((f: { id: string }) => f.id)).not.toContain(shared.body.id);
    expect((await t.admin.query('select name from public.audit_saved_filters where id = $1', [shared.body.id])).rows[0].name).toBe(shared.body.name);
  });

  test('a name is mine once (any case): 409 audit_filter_name_taken', async () => {
    const name = `Once ${unique()}`;
    await as(t.app, owner, orgA).post(path).send({ name, filters: {} }).expect(201);
    const again = await as(t.app, owner, orgA).post(path).send({ name: name.toUpperCase(), filters: {} });
    expectProblem(again, 409);
    expect(again.body.code).toBe('audit_filter_name_taken');
    // Someone else may use it.
    await as(t.app, admin, orgA).post(path).send({ name, filters: {} }).expect(201);
  });

  test('bad filters are a 400 and store nothing', async () => {
    const name = `Bad ${unique()}`;
    for (const body of [
      { name, filters: { unknown: true } },
      { name, filters: { eventTypes: ['team.nonsense'] } },
      { name, filters: { eventCategory: 'billing' } },
      { name, filters: { dateFrom: '2026-11-02T00:00:00Z', dateTo: '2026-11-01T00:00:00Z' } },
      { name, filters: { userId: 'bob' } },
      { name, filters: { searchQuery: '' } },
      { name: ' padded ', filters: {} },
      { name: '', filters: {} },
      { name },
      { name, filters: {}, owner: owner.userId },
    ]) {
      expectProblem(await as(t.app, owner, orgA).post(path).send(body), 400);
    }
    expect((await t.admin.query('select count(*)::int as n from public.audit_saved_filters where name = $1', [name])).rows[0].n).toBe(0);
    const saved = await as(t.app, owner, orgA).post(path).send({ name, filters: {} }).expect(201);
    expectProblem(await as(t.app, owner, orgA).patch(`${path}/${saved.body.id}`).send({}), 400);
    expectProblem(await as(t.app, owner, orgA).patch(`${path}/${saved.body.id}`).send({ filters: { dateFrom: '2026-11-02T00:00:00Z', dateTo: '2026-11-01T00:00:00Z' } }), 400);
  });

  test('plain members may not save filters (403), nor write them past the API', async () => {
    expectProblem(await as(t.app, member, orgA).post(path).send({ name: 'Mine', filters: {} }), 403);
    expectProblem(await as(t.app, member, orgA).get(path), 403);
    await session(signedIn(member), orgA, async (client) => {
      const refused = await sqlError(client, `insert into public.audit_saved_filters (organization_id, user_id, name, filters) values ($1, $2, 'Sneaky', '{}')`, [
        orgA,
        member.userId,
      ]);
      expect(refused).toMatchObject({ code: '42501' });
    });
    // Nor can an owner store keys the filter schema does not have.
    await session(signedIn(owner), orgA, async (client) => {
      expect(await sqlError(client, `insert into public.audit_saved_filters (organization_id, user_id, name, filters) values ($1, $2, 'Odd', '{"sql": 1}')`, [orgA, owner.userId])).toMatchObject({
        code: '23514',
      });
    });
  });
});
