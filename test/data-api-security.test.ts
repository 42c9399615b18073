import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { loginRoleRights, privilegedReason } from '../src/db/roles';
import { PRIVATE_TABLES } from './rls-matrix';
import { addMember, as, createQuotaTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// What anything that runs SQL as `authenticated` could do, after
// app.begin_request for its own organization: an injection, a new RPC
// function, Supabase's Data API. Every write a grant allows is tried on the
// other organization's rows, every function in schema app is called with its
// ids, and every rule of 008_least_privilege is tried on one's own
// organization. Each attempt must be refused or change nothing it should not.
// A database of its own: quotas are on there, as in production.

let t: TestApp;
let attacker: TestUser; // owner of organization A (on Free)
let colleague: TestUser; // plain member of A, owns a habit and a reflex there
let victim: TestUser; // owner of organization B
let orgA: string;
let orgB: string;
const ids: Record<string, string> = {};

async function one<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T> {
  return (await t.admin.query<T>(sql, params)).rows[0]!;
}

/** Everything organization B owns, as one text: compared before and after the attacks. */
async function snapshotOf(organizationId: string): Promise<string> {
  const tables = await t.admin.query<{ table_name: string }>(
    `select c.table_name from information_schema.columns c
     join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name and tb.table_type = 'BASE TABLE'
     where c.table_schema = 'public' and c.column_name = 'organization_id' order by 1`,
  );
  const parts: string[] = [];
  for (const { table_name: table } of tables.rows) {
    const rows = await t.admin.query(`select to_jsonb(x) as row from public.${pg.escapeIdentifier(table)} x where organization_id = $1 order by 1`, [
      organizationId,
    ]);
    parts.push(`${table}: ${JSON.stringify(rows.rows.map((r) => r.row).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))))}`);
  }
  parts.push(`organization: ${JSON.stringify((await t.admin.query('select to_jsonb(o) as row from public.organizations o where id = $1', [organizationId])).rows)}`);
  parts.push(`secret: ${JSON.stringify((await t.admin.query('select secret from public.reflex_secrets where organization_id = $1', [organizationId])).rows)}`);
  return parts.join('\n');
}

/**
 * A session as the API opens it, logged in as the app's login role, without
 * any of the API's handlers: claims, SET LOCAL ROLE authenticated and
 * app.begin_request for `organizationId`. Each attempt runs in a savepoint, so
 * one refusal does not end the session; the whole session rolls back unless
 * `commit` is asked for.
 */
async function session<T>(user: TestUser, organizationId: string, work: (attempt: Attempt) => Promise<T>, commit = false): Promise<T> {
  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: user.userId, email: user.email, role: 'authenticated' })]);
    await client.query('set local role authenticated');
    await client.query('select * from app.begin_request($1)', [organizationId]);
    const attempt: Attempt = async (sql, params = []) => {
      await client.query('savepoint attempt');
      try {
        const result = await client.query(sql, params);
        await client.query('release savepoint attempt');
        return { ok: true, rowCount: result.rowCount ?? 0, rows: result.rows };
      } catch (error) {
        await client.query('rollback to savepoint attempt');
        return { ok: false, code: (error as { code?: string }).code, message: (error as Error).message };
      }
    };
    const result = await work(attempt);
    await client.query(commit ? 'commit' : 'rollback');
    return result;
  } finally {
    await client.end();
  }
}

type Outcome = { ok: true; rowCount: number; rows: pg.QueryResultRow[] } | { ok: false; code?: string; message: string };
type Attempt = (sql: string, params?: unknown[]) => Promise<Outcome>;

/** The rows of an attempt that must have succeeded. */
function rowsOf<Row>(outcome: Outcome): Row[] {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.code}: ${outcome.message}`);
  return outcome.rows as Row[];
}

/** Refused outright, or allowed but touching no row. */
function expectNoEffect(outcome: Outcome, label: string): void {
  if (outcome.ok) expect({ label, rowCount: outcome.rowCount }).toEqual({ label, rowCount: 0 });
}

function expectRefused(outcome: Outcome, label: string, code?: string): void {
  expect({ label, ok: outcome.ok }).toEqual({ label, ok: false });
  if (code && !outcome.ok) expect({ label, code: outcome.code }).toEqual({ label, code });
}

beforeAll(async () => {
  t = await createQuotaTestApp();
  attacker = await newUser(t.app, 'attacker');
  colleague = await newUser(t.app, 'colleague');
  victim = await newUser(t.app, 'victim');
  orgA = await newOrganization(t.app, attacker, 'Attacker');
  orgB = await newOrganization(t.app, victim, 'Victim');
  // A stays on Free (one seat) for the plan rules below; the owner's connection may exceed it.
  await addMember(t, orgA, colleague, 'member');

  // Organization B, on Pro, with one of everything.
  await t.admin.query(`update public.subscriptions set plan_id = 'pro' where organization_id = $1`, [orgB]);
  const b = as(t.app, victim, orgB);
  // With an Idempotency-Key, so that B has a kept answer the attacks must leave alone.
  ids.project = (await b.post('/api/v1/projects').set('Idempotency-Key', randomUUID()).send({ name: 'Crown jewels', type: 'manual', privacy: 'shared' }).expect(201))
    .body.id;
  ids.repository = (await b.post(`/api/v1/projects/${ids.project}/repositories`).send({ repositoryUrl: 'https://github.com/victim/jewels' }).expect(201)).body.id;
  ids.file = (
    await b
      .post(`/api/v1/projects/${ids.project}/files`)
      .send({ name: 'a.md', path: 'docs/a.md', mimeType: 'text/markdown', sizeBytes: 10, checksum: 'b'.repeat(64), storageKey: 'k/a.md' })
      .expect(201)
  ).body.id;
  const invited = await b.post(`/api/v1/projects/${ids.project}/invitations`).send({ emails: ['someone@example.test'], role: 'viewer' }).expect(200);
  ids.invitation = invited.body.results[0].invitation.id;
  ids.ingestion = (await b.post(`/api/v1/projects/${ids.project}/ingestions`).send({}).expect(201)).body.id;
  ids.skill = (await b.post('/api/v1/skills').send({ name: 'Victim skill', promptTemplate: 'Summarize {{text}} for me.' }).expect(201)).body.id;
  ids.habit = (await b.post('/api/v1/habits').send({ skillId: ids.skill, scheduleCron: '0 9 * * 1' }).expect(201)).body.id;
  ids.reflex = (
    await b
      .post('/api/v1/reflexes')
      .send({ skillId: ids.skill, triggerType: 'webhook', triggerConfig: { method: 'POST' } })
      .expect(201)
  ).body.id;
  ids.eventReflex = (
    await b.post('/api/v1/reflexes').send({ skillId: ids.skill, triggerType: 'event', triggerConfig: { eventName: 'deploy' } }).expect(201)
  ).body.id;
  ids.execution = (await b.post(`/api/v1/skills/${ids.skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
  ids.paymentMethod = (
    await b.post('/api/v1/billing/payment-methods').send({ type: 'card', cardBrand: 'visa', cardLast4: '4242', cardExpMonth: 12, cardExpYear: 2030 }).expect(201)
  ).body.id;
  await b.put('/api/v1/billing/details').send({ companyName: 'Victim B.V.', country: 'NL' }).expect(200);

  // Organization A: a skill, and a habit and a reflex owned by the colleague.
  const a = as(t.app, colleague, orgA);
  ids.skillA = (await a.post('/api/v1/skills').send({ name: 'Colleague skill', promptTemplate: 'Summarize {{text}} for me.' }).expect(201)).body.id;
  ids.habitA = (await a.post('/api/v1/habits').send({ skillId: ids.skillA, scheduleCron: '0 9 * * 1' }).expect(201)).body.id;
  ids.reflexA = (await a.post('/api/v1/reflexes').send({ skillId: ids.skillA, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201)).body
    .id;
  ids.projectA = (await as(t.app, attacker, orgA).post('/api/v1/projects').send({ name: 'Own project', type: 'manual' }).expect(201)).body.id;
}, 60_000);
afterAll(() => t.close());

describe('the login role', () => {
  test('is no superuser, bypasses nothing and owns nothing; the owner connection is told apart', async () => {
    expect(privilegedReason(await loginRoleRights(t.pool))).toBeNull();
    expect(privilegedReason(await loginRoleRights(t.admin))).toMatch(/superuser/);
  });

  test('a request that resets its role is left with nothing, and cannot become the owner', async () => {
    await session(attacker, orgA, async (attempt) => {
      const reset = await attempt('reset role; select current_user as name, (select rolsuper from pg_roles where rolname = current_user) as superuser');
      expect(reset.ok).toBe(true);
      const who = await attempt('select current_user as name, (select rolsuper from pg_roles where rolname = current_user) as superuser');
      expect(who).toMatchObject({ ok: true, rows: [{ superuser: false }] });
      expect(rowsOf<{ name: string }>(who)[0]!.name).not.toMatch(/^(postgres|authenticated|service_role)$/);
      expectRefused(await attempt('select count(*) from public.projects'), 'read a table as the login role', '42501');
      expectRefused(await attempt('set role postgres'), 'become the owner', '42501');
      expectRefused(await attempt('select pg_read_file($1)', ['/etc/hostname']), 'read a server file', '42501');
    });
  });
});

describe("writes every grant allows, on the other organization's rows", () => {
  test('change nothing of organization B', async () => {
    const before = await snapshotOf(orgB);
    await session(attacker, orgA, async (attempt) => {
      // Updates and deletes: row level security hides B's rows (0 rows) or the grant refuses.
      const hidden: Array<[string, string, unknown[]]> = [
        ['rename B', 'update public.organizations set name = $2 where id = $1', [orgB, 'Owned']],
        ['edit B owner profile', 'update public.profiles set full_name = $2 where id = $1', [victim.userId, 'Owned']],
        ['promote in B', `update public.organization_members set role = 'owner' where organization_id = $1`, [orgB]],
        ['remove from B', 'delete from public.organization_members where organization_id = $1', [orgB]],
        ['deactivate in B', `update public.organization_members set status = 'inactive' where organization_id = $1`, [orgB]],
        ['cancel B ingestion', 'update public.ingestion_progress set cancelled_at = now() where id = $1', [ids.ingestion]],
        ['edit B project', 'update public.projects set name = $2, custom_settings = $3 where id = $1', [ids.project, 'Owned', '{"a":1}']],
        ['delete B project', 'delete from public.projects where id = $1', [ids.project]],
        ['edit B project members', `update public.project_members set role = 'viewer', last_active_at = now() where project_id = $1`, [ids.project]],
        ['delete B project members', 'delete from public.project_members where project_id = $1', [ids.project]],
        ['edit B repository', `update public.project_repositories set status = 'error', file_count = 9 where id = $1`, [ids.repository]],
        ['delete B repository', 'delete from public.project_repositories where id = $1', [ids.repository]],
        ['edit B invitation', `update public.project_invitations set status = 'cancelled', expires_at = now() where id = $1`, [ids.invitation]],
        ['delete B invitation', 'delete from public.project_invitations where id = $1', [ids.invitation]],
        ['delete B file', 'delete from public.project_files where id = $1', [ids.file]],
        ['edit B skill', 'update public.skills set prompt_template = $2, is_active = false where id = $1', [ids.skill, 'Leak everything please.']],
        ['delete B skill', 'delete from public.skills where id = $1', [ids.skill]],
        ['edit B reflex', 'update public.reflexes set is_active = false, consecutive_failures = 2 where id = $1', [ids.reflex]],
        ['delete B reflex', 'delete from public.reflexes where id = $1', [ids.reflex]],
        ['cancel B execution', `update public.skill_executions set status = 'cancelled' where id = $1`, [ids.execution]],
        ['edit B habit', 'update public.habits set next_run_at = now(), consecutive_failures = 2 where id = $1', [ids.habit]],
        ['delete B habit', 'delete from public.habits where id = $1', [ids.habit]],
        ['schedule B plan', `update public.subscriptions set scheduled_plan_id = 'free', scheduled_interval = 'monthly' where organization_id = $1`, [orgB]],
        ['cancel B plan', 'update public.subscriptions set cancel_at_period_end = true where organization_id = $1', [orgB]],
        ['edit B payment method', 'update public.payment_methods set is_default = true where id = $1', [ids.paymentMethod]],
        ['delete B payment method', 'delete from public.payment_methods where id = $1', [ids.paymentMethod]],
        ['edit B billing details', 'update public.billing_details set company_name = $2 where organization_id = $1', [orgB, 'Owned']],
        ['forge B idempotent answers', `update public.idempotency_keys set response_status = 200 where organization_id = $1`, [orgB]],
        ['drop B idempotency keys', 'delete from public.idempotency_keys where organization_id = $1', [orgB]],
      ];
      for (const [label, sql, params] of hidden) expectNoEffect(await attempt(sql, params), label);

      // Inserts into B: refused by the policies' checks (or the grants).
      const refused: Array<[string, string, unknown[]]> = [
        ['join B', `insert into public.organization_members (organization_id, user_id, role) values ($1, $2, 'owner')`, [orgB, attacker.userId]],
        ['project in B', `insert into public.projects (organization_id, user_id, name, type) values ($1, $2, 'Planted', 'manual')`, [orgB, attacker.userId]],
        ['member of B project', `insert into public.project_members (project_id, user_id, email, role) values ($1, $2, $3, 'admin')`, [ids.project, attacker.userId, attacker.email]],
        ['repository in B', `insert into public.project_repositories (project_id, provider, repository_url, repository_name) values ($1, 'github', 'https://github.com/x/y', 'y')`, [ids.project]],
        ['invitation to B', `insert into public.project_invitations (project_id, email, token_hash) values ($1, 'me@example.test', $2)`, [ids.project, randomBytes(32)]],
        ['ingestion in B', 'insert into public.ingestion_progress (project_id) values ($1)', [ids.project]],
        ['estimated ingestion in B', `insert into public.ingestion_progress (project_id, estimated_completion_at) values ($1, now())`, [ids.project]],
        ['quiet invitation to B', `insert into public.project_invitations (project_id, email, token_hash, notify_on_error) values ($1, 'me2@example.test', $2, false)`, [ids.project, randomBytes(32)]],
        ['quiet member of B project', `insert into public.project_members (project_id, user_id, email, role, notify_on_error) values ($1, $2, $3, 'viewer', false)`, [ids.project, attacker.userId, attacker.email]],
        ['file in B', `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key) values ($1, 'x', 'x', 'text/plain', 1, $2, 'k')`, [ids.project, 'c'.repeat(64)]],
        ['skill in B', `insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, 'Planted', 'Planted prompt text')`, [orgB, attacker.userId]],
        ['reflex in B', `insert into public.reflexes (organization_id, skill_id, user_id, trigger_type) values ($1, $2, $3, 'event')`, [orgB, ids.skill, attacker.userId]],
        ['execution in B', 'insert into public.skill_executions (organization_id, skill_id, user_id) values ($1, $2, $3)', [orgB, ids.skill, attacker.userId]],
        ['habit in B', `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '* * * * *', now())`, [orgB, ids.skill, attacker.userId]],
        ['payment method in B', `insert into public.payment_methods (organization_id, type, card_brand, last4, exp_month, exp_year) values ($1, 'card', 'visa', '1111', 1, 2030)`, [orgB]],
        ['billing details of B', `insert into public.billing_details (organization_id, company_name) values ($1, 'Owned')`, [orgB]],
        ['analytics event in B', `insert into public.analytics_events (user_id, organization_id, type, occurred_at) values ($1, $2, 'planted', now())`, [attacker.userId, orgB]],
        ['analytics event as B owner', `insert into public.analytics_events (user_id, type, occurred_at) values ($1, 'planted', now())`, [victim.userId]],
      ];
      for (const [label, sql, params] of refused) expectRefused(await attempt(sql, params), label);
    }, true);
    expect(await snapshotOf(orgB)).toBe(before);
  });

  test("every function in schema app, called with organization B's ids, answers nothing of B and changes nothing", async () => {
    const before = await snapshotOf(orgB);
    const callable = await t.admin.query<{ name: string; args: string }>(
      `select p.proname as name, pg_get_function_identity_arguments(p.oid) as args
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'app' and p.prorettype <> 'trigger'::regtype and has_function_privilege('authenticated', p.oid, 'execute')
       order by 1`,
    );
    // Every function a signed-in role may call, and what it must answer about B.
    const expected: Record<string, { call: string; params: unknown[]; answer: 'refused' | unknown }> = {
      accept_project_invitation: { call: 'select outcome from app.accept_project_invitation($1)', params: [randomBytes(32)], answer: 'not_found' },
      add_organization_member: { call: `select outcome from app.add_organization_member($1, $2, 'owner')`, params: [orgB, attacker.email], answer: 'forbidden' },
      // A signed-in user's own claims carry no API key: nothing to read, nothing to claim.
      api_key_claim: { call: 'select app.api_key_claim() as v', params: [], answer: null },
      api_key_scope_of: { call: `select app.api_key_scope_of('{read,write}')::text as v`, params: [], answer: 'write' },
      claim_ingestion: { call: 'select app.claim_ingestion(null, 120)', params: [], answer: 'refused' },
      billing_usage: { call: 'select count(*)::int as n from app.billing_usage($1)', params: [orgB], answer: 0 },
      can_delete_project: { call: 'select app.can_delete_project($1) as v', params: [ids.project], answer: false },
      // Reserves a key for the caller in the caller's own organization (A), whatever the hashes say.
      claim_idempotency_key: { call: 'select outcome from app.claim_idempotency_key($1, $2, 60)', params: [randomBytes(32), randomBytes(32)], answer: 'reserved' },
      // Acts on the caller's own organization only (A, where nothing is a day old yet).
      cleanup_executions: { call: 'select deleted_count::int as n from app.cleanup_executions(1)', params: [], answer: 0 },
      can_edit_project: { call: 'select app.can_edit_project($1) as v', params: [ids.project], answer: false },
      can_manage_owned: { call: 'select coalesce(app.can_manage_owned($1, $2), false) as v', params: [orgB, victim.userId], answer: false },
      can_manage_reflex: { call: 'select app.can_manage_reflex($1) as v', params: [ids.reflex], answer: false },
      can_read_project: { call: 'select app.can_read_project($1) as v', params: [ids.project], answer: false },
      can_remove_project_members: { call: 'select app.can_remove_project_members($1) as v', params: [ids.project], answer: false },
      create_organization: { call: 'select (app.create_organization($1)).id is not null as v', params: ['Mine'], answer: true },
      current_organization_id: { call: 'select app.current_organization_id() = $1 as v', params: [orgB], answer: false },
      current_organization_role: { call: 'select app.current_organization_role()::text as v', params: [], answer: 'owner' },
      drop_reflex_secret: { call: 'select app.drop_reflex_secret($1)', params: [ids.reflex], answer: 'refused' },
      fire_reflex: { call: 'select app.fire_reflex($1, $2)', params: [ids.eventReflex, {}], answer: 'refused' },
      import_public_skill: { call: `select app.import_public_skill($1, 'Stolen skill') as v`, params: [ids.skill], answer: null },
      // A ticket for the caller themself in their own organization (A): a stream they could open anyway.
      issue_stream_ticket: { call: 'select app.issue_stream_ticket($1, 60) is not null as v', params: [randomBytes(32)], answer: true },
      is_billing_manager: { call: 'select app.is_billing_manager($1) as v', params: [orgB], answer: false },
      is_organization_member: { call: 'select app.is_organization_member($1) as v', params: [orgB], answer: false },
      is_public_skill: { call: 'select app.is_public_skill($1) as v', params: [ids.skill], answer: false },
      limit_in_plan: { call: `select app.limit_in_plan('free', 'seats') as v`, params: [], answer: 1 },
      // No API key claim: nothing leased, nothing given back.
      lease_api_calls: { call: 'select count(*)::int as n from app.lease_api_calls($1, 100)', params: [orgB], answer: 0 },
      return_api_calls: { call: `select app.return_api_calls($1, date_trunc('month', now())::date, 100)`, params: [orgB], answer: '' },
      // Claiming a place in B is refused, whatever role is named.
      confirm_request: { call: `select app.confirm_request($1, 'owner', false)`, params: [orgB], answer: 'refused' },
      // The caller's own Supabase Auth sessions only (the attacker has none here); another's id ends nothing.
      my_auth_sessions: { call: 'select count(*)::int as n from app.my_auth_sessions()', params: [], answer: 0 },
      // The caller's own data only (022): the attacker's, never B's; erasure needs the caller's own address.
      export_my_account: { call: `select (app.export_my_account() -> 'memberships')::text like '%' || $1 || '%' as v`, params: [orgB], answer: false },
      export_my_api_keys: { call: `select count(*)::int as n from app.export_my_api_keys() k where k ->> 'organizationId' = $1`, params: [orgB], answer: 0 },
      export_my_audit_entries: { call: `select count(*)::int as n from app.export_my_audit_entries() a where a ->> 'organizationId' = $1`, params: [orgB], answer: 0 },
      export_my_analytics_events: { call: `select count(*)::int as n from app.export_my_analytics_events() e where e ->> 'organizationId' = $1`, params: [orgB], answer: 0 },
      export_my_sessions: { call: 'select count(*)::int as n from app.export_my_sessions()', params: [], answer: 0 },
      erase_current_user: { call: 'select count(*) from app.erase_current_user($1)', params: [victim.email], answer: 'refused' },
      end_my_auth_session: { call: 'select app.end_my_auth_session($1) as v', params: [randomUUID()], answer: false },
      my_project_ids: { call: 'select count(*)::int as n from app.my_project_ids() id where id = $1', params: [ids.project], answer: 0 },
      organization_role: { call: 'select app.organization_role($1) as v', params: [orgB], answer: null },
      project_member_role: { call: 'select app.project_member_role($1) as v', params: [ids.project], answer: null },
      project_name_taken: { call: `select app.project_name_taken('Crown jewels', null) as v`, params: [], answer: false },
      provision_current_user: { call: 'select app.provision_current_user()', params: [], answer: '' },
      reflex_secret_created_at: { call: 'select app.reflex_secret_created_at($1) as v', params: [ids.reflex], answer: null },
      search_project_ids: { call: `select count(*)::int as n from app.search_project_ids('%')`, params: [], answer: 1 },
      // The selected organization's entries only (A): none of B's, whose owner's email they do not contain.
      search_audit_log_ids: { call: 'select count(*)::int as n from app.search_audit_log_ids($1)', params: [victim.email], answer: 0 },
      search_skill_ids: { call: `select count(*)::int as n from app.search_skill_ids('%')`, params: [], answer: 1 },
      shares_organization_with: { call: 'select app.shares_organization_with($1) as v', params: [victim.userId], answer: false },
      store_reflex_secret: { call: 'select app.store_reflex_secret($1, $2)', params: [ids.reflex, `whsec_${'A'.repeat(43)}`], answer: 'refused' },
      usage_period: { call: `select count(*)::int as n from app.usage_period('seats')`, params: [], answer: 1 },
      // Last: asking for B leaves the session with no organization at all.
      begin_request: { call: 'select organization_id from app.begin_request($1)', params: [orgB], answer: null },
    };
    // A function added later must be reviewed and listed here before it can ship.
    expect(callable.rows.map((r) => r.name).filter((name) => !(name in expected))).toEqual([]);
    expect(Object.keys(expected).filter((name) => !callable.rows.some((r) => r.name === name))).toEqual([]);

    await session(attacker, orgA, async (attempt) => {
      for (const [name, { call, params, answer }] of Object.entries(expected)) {
        const outcome = await attempt(call, params);
        if (answer === 'refused') {
          expectRefused(outcome, name);
          continue;
        }
        expect({ name, ok: outcome.ok, message: outcome.ok ? '' : outcome.message }).toEqual({ name, ok: true, message: '' });
        if (outcome.ok && answer !== '') {
          const row = outcome.rows[0] ?? {};
          expect({ name, value: Object.values(row)[0] ?? null }).toEqual({ name, value: answer });
        }
      }
    }, true);
    expect(await snapshotOf(orgB)).toBe(before);
  });

  test('functions for the back office only are not executable by signed-in users', async () => {
    const privileged = [
      'plan_limit',
      'add_usage',
      'quotas_enforced',
      'start_reflex_run',
      'purge_analytics_events',
      'claim_idempotency_key_for',
      'claim_back_office_idempotency_key',
      'record_audit_event',
      'purge_audit_log',
      'write_audit_entry',
      'claim_execution',
      'redeem_stream_ticket',
      'enqueue_webhook_deliveries',
      'webhook_endpoint_activity',
      'claim_mail',
      'finish_mail',
      'queue_digest',
      'queue_invitation_mail',
      'queue_mail',
    ];
    const rows = await t.admin.query<{ name: string; authenticated: boolean; service: boolean }>(
      `select p.proname as name, has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
              has_function_privilege('service_role', p.oid, 'execute') as service
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'app' and p.proname = any($1)`,
      [privileged],
    );
    expect(Object.fromEntries(rows.rows.map((r) => [r.name, [r.authenticated, r.service]]))).toEqual({
      plan_limit: [false, false],
      add_usage: [false, false],
      quotas_enforced: [false, false],
      start_reflex_run: [false, true],
      purge_analytics_events: [false, true],
      claim_idempotency_key_for: [false, false],
      claim_back_office_idempotency_key: [false, true],
      record_audit_event: [false, true],
      purge_audit_log: [false, true],
      write_audit_entry: [false, false],
      claim_execution: [false, true],
      redeem_stream_ticket: [false, true],
      enqueue_webhook_deliveries: [false, false],
      webhook_endpoint_activity: [false, false],
      // The mail outbox (029): the back office's mail and digest loops, and the invitation request acting as it.
      claim_mail: [false, true],
      finish_mail: [false, true],
      queue_digest: [false, true],
      queue_invitation_mail: [false, true],
      queue_mail: [false, false],
    });
    await session(attacker, orgA, async (attempt) => {
      expectRefused(await attempt(`select app.plan_limit($1, 'api_calls')`, [orgB]), 'plan tier of B', '42501');
      expectRefused(await attempt('select app.start_reflex_run($1, $2)', [ids.reflexA, {}]), 'start a reflex run', '42501');
      expectRefused(await attempt('select app.purge_analytics_events(1, 100000)'), 'purge analytics events', '42501');
      // Keys as somebody else, or in B: the internal claim and the back office's are out of reach.
      expectRefused(
        await attempt('select * from app.claim_idempotency_key_for($1, $2, $3, $3, 60)', [orgB, victim.userId, randomBytes(32)]),
        "reserve a key as B's owner",
        '42501',
      );
      expectRefused(await attempt('select * from app.claim_back_office_idempotency_key($1, $1, 60)', [randomBytes(32)]), 'reserve a back-office key', '42501');
      expectRefused(await attempt('delete from public.analytics_events'), 'delete analytics events', '42501');
      expectRefused(
        await attempt(`select app.record_audit_event('team', 'team.settings_updated', 'organization', $1, 'forged', '{}', $1)`, [orgB]),
        'forge an audit entry of B',
        '42501',
      );
      expectRefused(await attempt('select app.purge_audit_log(100000)'), 'purge the audit log', '42501');
      expectRefused(await attempt('select * from app.claim_execution($1)', [[orgB]]), "claim B's executions", '42501');
      expectRefused(await attempt('select * from app.redeem_stream_ticket($1)', [randomBytes(32)]), "redeem someone's stream ticket", '42501');
      expectRefused(await attempt(`select app.write_audit_entry($1, 'team.settings_updated', 'organization', $1, 'forged', '{}', '{}')`, [orgB]), 'write an audit entry of B', '42501');
      expectRefused(await attempt('delete from public.audit_log'), 'delete audit entries', '42501');
      expectRefused(await attempt(`update public.audit_log set target_name = 'forged'`), 'edit audit entries', '42501');
      expectRefused(await attempt('select * from app.deployment_settings'), 'read the quota switch', '42501');
      expectRefused(await attempt('update app.deployment_settings set quotas_enforced = false'), 'turn quotas off', '42501');
      expectRefused(await attempt('select secret from public.reflex_secrets'), 'read webhook secrets', '42501');
      expectRefused(await attempt('select secret from public.webhook_endpoints'), 'read outbound webhook secrets', '42501');
      expectRefused(
        await attempt(`insert into public.webhook_deliveries (organization_id, webhook_id, message_id, event_type, payload) select organization_id, id, 'msg_forged', 'invoice.paid', '{}' from public.webhook_endpoints`),
        'forge an outbound delivery',
        '42501',
      );
      expectRefused(await attempt(`update public.webhook_deliveries set status = 'success'`), 'mark deliveries delivered', '42501');
      expectRefused(await attempt(`update public.usage_counters set used = 0 where organization_id = $1`, [orgA]), 'reset a counter', '42501');
      expectRefused(await attempt(`update public.plans set seats = -1 where id = 'free'`), 'change a plan', '42501');
    });
  });
});

describe('rules of one’s own organization that only the database can keep', () => {
  test('an owner on Free cannot schedule Enterprise or an upgrade; a real downgrade can be scheduled', async () => {
    await session(attacker, orgA, async (attempt) => {
      const schedule = (plan: string, interval = 'monthly') =>
        attempt(`update public.subscriptions set scheduled_plan_id = $2, scheduled_interval = $3 where organization_id = $1`, [orgA, plan, interval]);
      expectRefused(await schedule('enterprise'), 'schedule enterprise', '42501');
      expectRefused(await schedule('pro'), 'schedule an upgrade', '42501');
      expectRefused(await schedule('teams', 'annually'), 'schedule an annual upgrade', '42501');
    });
    const plan = await one<{ scheduled_plan_id: string | null }>('select scheduled_plan_id from public.subscriptions where organization_id = $1', [orgA]);
    expect(plan.scheduled_plan_id).toBeNull();

    // On Teams, billed annually: Pro, and Teams billed monthly, are downgrades.
    await t.admin.query(`update public.subscriptions set plan_id = 'teams', billing_interval = 'annually' where organization_id = $1`, [orgA]);
    try {
      await session(attacker, orgA, async (attempt) => {
        const schedule = (plan: string, interval: string) =>
          attempt(`update public.subscriptions set scheduled_plan_id = $2, scheduled_interval = $3 where organization_id = $1`, [orgA, plan, interval]);
        expect(await schedule('pro', 'monthly')).toMatchObject({ ok: true, rowCount: 1 });
        expect(await schedule('teams', 'monthly')).toMatchObject({ ok: true, rowCount: 1 });
        expectRefused(await schedule('enterprise', 'monthly'), 'schedule enterprise from teams', '42501');
      });
    } finally {
      await t.admin.query(`update public.subscriptions set plan_id = 'free', billing_interval = 'monthly' where organization_id = $1`, [orgA]);
    }
  });

  test("a member cannot make runs of someone else's habit or reflex (which would switch them off)", async () => {
    const before = await one('select h.consecutive_failures, h.run_count, r.trigger_count from public.habits h, public.reflexes r where h.id = $1 and r.id = $2', [
      ids.habitA,
      ids.reflexA,
    ]);
    await session(attacker, orgA, async (attempt) => {
      const insert = (type: string, reference: string | null | undefined, status?: string) =>
        status
          ? attempt(
              `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id, status)
               values ($1, $2, $3, $4, $5, $6)`,
              [orgA, ids.skillA, attacker.userId, type, reference, status],
            )
          : attempt(
              `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, reference_id) values ($1, $2, $3, $4, $5)`,
              [orgA, ids.skillA, attacker.userId, type, reference],
            );
      for (let i = 0; i < 3; i++) {
        expectRefused(await insert('habit', ids.habitA), 'habit run', '42501');
        expectRefused(await insert('reflex', ids.reflexA), 'reflex run', '42501');
      }
      expectRefused(await insert('manual', ids.habitA), 'a manual run that names a habit', '42501');
      expectRefused(await insert('manual', null, 'failed'), 'a run that starts failed', '42501');
      expect(await insert('manual', null)).toMatchObject({ ok: true, rowCount: 1 });
      expect(await insert('api', null)).toMatchObject({ ok: true, rowCount: 1 });
    });
    const after = await one('select h.consecutive_failures, h.run_count, r.trigger_count from public.habits h, public.reflexes r where h.id = $1 and r.id = $2', [
      ids.habitA,
      ids.reflexA,
    ]);
    expect(after).toEqual(before);
  });

  test('executions are deleted only by app.cleanup_executions: owners and admins, their organization, never unfinished runs', async () => {
    const old = (status: string, org: string, skill: string, user: string) =>
      one<{ id: string }>(
        `insert into public.skill_executions (organization_id, skill_id, user_id, status, created_at) values ($1, $2, $3, $4, now() - interval '400 days') returning id`,
        [org, skill, user, status],
      );
    // A skill of their own: the quota test below counts the runs of skillA.
    const skill = (
      await one<{ id: string }>(`insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, 'Old runs', 'Summarize {{text}} now.') returning id`, [
        orgA,
        colleague.userId,
      ])
    ).id;
    const endedA = (await old('failed', orgA, skill, colleague.userId)).id;
    const runningA = (await old('running', orgA, skill, colleague.userId)).id;
    const endedB = (await old('completed', orgB, ids.skill!, victim.userId)).id;
    const before = await snapshotOf(orgB);
    await session(colleague, orgA, async (attempt) => {
      expectRefused(await attempt('select * from app.cleanup_executions(1)'), 'a plain member cleans up', '42501');
      expectRefused(await attempt('delete from public.skill_executions where id = $1', [endedA]), 'delete an execution directly', '42501');
    });
    await session(attacker, orgA, async (attempt) => {
      expectRefused(await attempt('delete from public.skill_executions where id = $1', [endedA]), "an owner deletes directly", '42501');
      expectRefused(await attempt('select * from app.cleanup_executions(0)'), 'a cutoff of now', '22023');
      // Pointing the request at B by hand: the function asks the membership, not the setting alone.
      await attempt(`select set_config('app.organization_id', $1, true)`, [orgB]);
      expectRefused(await attempt('select * from app.cleanup_executions(1)'), "clean up B's executions", '42501');
    }, true);
    await session(attacker, orgA, async (attempt) => {
      expect(rowsOf<{ n: number }>(await attempt('select deleted_count::int as n from app.cleanup_executions(1)'))[0]!.n).toBe(1);
    }, true);
    const left = await t.admin.query<{ id: string }>('select id from public.skill_executions where id = any($1::uuid[])', [[endedA, runningA, endedB]]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([runningA, endedB].sort());
    expect(await snapshotOf(orgB)).toBe(before);
  });

  test('quotas hold whatever the session sets: no switch, no half-cleared claims', async () => {
    // Free allows 10 oracle queries a day; all are used.
    await t.admin.query(
      `insert into public.usage_counters (organization_id, metric, period_start, used)
       select $1, 'oracle_queries', p.period_start, 10 from app.usage_period('oracle_queries') p
       on conflict (organization_id, metric, period_start) do update set used = excluded.used`,
      [orgA],
    );
    const run = `insert into public.skill_executions (organization_id, skill_id, user_id) values ($1, $2, $3)`;
    await session(attacker, orgA, async (attempt) => {
      expectRefused(await attempt(run, [orgA, ids.skillA, attacker.userId]), 'over the limit', 'QUOTA');
      await attempt(`select set_config('app.quotas_enabled', 'off', true)`);
      expectRefused(await attempt(run, [orgA, ids.skillA, attacker.userId]), 'with the old switch off', 'QUOTA');
      // The older per-claim settings keep auth.uid() while request.jwt.claims is empty.
      await attempt(`select set_config('request.jwt.claim.sub', $1, true), set_config('request.jwt.claims', '', true)`, [attacker.userId]);
      const still = await attempt('select auth.uid() = $1 as v', [attacker.userId]);
      expect(still).toMatchObject({ ok: true, rows: [{ v: true }] });
      expectRefused(await attempt(run, [orgA, ids.skillA, attacker.userId]), 'with the claims cleared', 'QUOTA');
    });
    const count = await one<{ n: number }>('select count(*)::int as n from public.skill_executions where organization_id = $1 and skill_id = $2', [orgA, ids.skillA]);
    expect(count.n).toBe(0);
  });

  test('claiming the service role in a setting opens no function', async () => {
    const secretBefore = await snapshotOf(orgB);
    await session(colleague, orgA, async (attempt) => {
      await attempt(`select set_config('request.jwt.claim.role', 'service_role', true)`);
      await attempt(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: colleague.userId, role: 'service_role' })]);
      expect(await attempt('select auth.role() as v')).toMatchObject({ rows: [{ v: 'service_role' }] });
      expectRefused(await attempt('select app.store_reflex_secret($1, $2)', [ids.reflex, `whsec_${'B'.repeat(43)}`]), "replace B's webhook secret", '42501');
      expectRefused(await attempt('select app.drop_reflex_secret($1)', [ids.reflex]), "drop B's webhook secret", '42501');
      expect(await attempt('select app.reflex_secret_created_at($1) as v', [ids.reflex])).toMatchObject({ rows: [{ v: null }] });
      expectRefused(await attempt('select app.fire_reflex($1, $2)', [ids.reflex, {}]), "fire B's webhook reflex", '42501');
      expect(await attempt('select count(*)::int as n from app.billing_usage($1)', [orgB])).toMatchObject({ rows: [{ n: 0 }] });
    });
    expect(await snapshotOf(orgB)).toBe(secretBefore);
  });

  test('adding members hands out no user ids: unknown, existing and other organizations alike', async () => {
    await session(colleague, orgA, async (attempt) => {
      // A plain member may not add anyone, and learns nothing about the address.
      expect(await attempt(`select * from app.add_organization_member($1, $2, 'member')`, [orgA, victim.email])).toMatchObject({
        rows: [{ outcome: 'forbidden', user_id: null }],
      });
      expectRefused(await attempt(`select app.member_candidate($1, $2)`, [orgA, victim.email]), 'the old lookup', '42883');
    });
    await session(attacker, orgA, async (attempt) => {
      expect(await attempt(`select * from app.add_organization_member($1, $2, 'member')`, [orgA, `nobody-${randomUUID()}@example.test`])).toMatchObject({
        rows: [{ outcome: 'no_account', user_id: null }],
      });
      expect(await attempt(`select * from app.add_organization_member($1, $2, 'member')`, [orgA, colleague.email])).toMatchObject({
        rows: [{ outcome: 'already_member', user_id: null }],
      });
      expectRefused(
        await attempt(`insert into public.organization_members (organization_id, user_id, role) values ($1, $2, 'member')`, [orgA, victim.userId]),
        'insert a membership directly',
        '42501',
      );
    });
  });

  test('project members, invitations, ingestions and files take what the API would write', async () => {
    await session(attacker, orgA, async (attempt) => {
      expectRefused(
        await attempt(`insert into public.project_members (project_id, user_id, email, role) values ($1, $2, $3, 'viewer')`, [ids.projectA, victim.userId, victim.email]),
        'an outsider as project member',
        '42501',
      );
      expectRefused(
        await attempt(`insert into public.project_members (project_id, user_id, email, role) values ($1, $2, 'spoof@example.test', 'viewer')`, [
          ids.projectA,
          colleague.userId,
        ]),
        'a member under another email',
        '42501',
      );
      expect(
        await attempt(`insert into public.project_members (project_id, user_id, email, role) values ($1, $2, $3, 'viewer')`, [ids.projectA, colleague.userId, colleague.email]),
      ).toMatchObject({ ok: true, rowCount: 1 });

      const invited = await attempt(
        `insert into public.project_invitations (project_id, email, token_hash, invited_by) values ($1, 'guest@example.test', $2, $3) returning id, invited_by`,
        [ids.projectA, randomBytes(32), victim.userId],
      );
      expect(invited).toMatchObject({ ok: true, rows: [{ invited_by: attacker.userId }] });
      const invitationId = rowsOf<{ id: string }>(invited)[0]!.id;
      expectRefused(await attempt(`update public.project_invitations set status = 'accepted' where id = $1`, [invitationId]), 'accept for someone', '42501');
      expectRefused(
        await attempt(`update public.project_invitations set expires_at = now() + interval '1 year' where id = $1`, [invitationId]),
        'an invitation valid for a year',
        '23514',
      );
      expect(await attempt(`update public.project_invitations set status = 'cancelled', cancelled_at = now() where id = $1`, [invitationId])).toMatchObject({
        rowCount: 1,
      });

      const started = await attempt('insert into public.ingestion_progress (project_id, started_by) values ($1, $2) returning started_by', [ids.projectA, victim.userId]);
      expect(started).toMatchObject({ ok: true, rows: [{ started_by: attacker.userId }] });

      for (const path of ['../../etc/passwd', '/etc/passwd', 'a/../../b', 'a/./b', '..\\..\\windows', 'a\u0001b']) {
        expectRefused(
          await attempt(
            `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key) values ($1, 'x', $2, 'text/plain', 1, $3, 'k')`,
            [ids.projectA, path, 'd'.repeat(64)],
          ),
          `file path ${JSON.stringify(path)}`,
          '23514',
        );
      }
    });
  });
});

describe('public skills: stars, ratings and imports', () => {
  test("only one's own stars and ratings, only on public skills; no figure, provenance or private skill within reach", async () => {
    const b = as(t.app, victim, orgB);
    const shared = (await b.post('/api/v1/skills').send({ name: 'Victim shared', promptTemplate: 'Explain {{text}} to me.', isPublic: true }).expect(201)).body.id;
    await b.put(`/api/v1/skills/${shared}/star`).expect(200);
    await b.put(`/api/v1/skills/${shared}/rating`).send({ rating: 2 }).expect(200);
    const before = await snapshotOf(orgB);
    const votesBefore = (await t.admin.query('select user_id, rating from public.skill_ratings where skill_id = $1 order by 1', [shared])).rows;
    await session(attacker, orgA, async (attempt) => {
      // B's private skill: no star, no rating, no copy, not in the catalogue.
      expectRefused(await attempt('insert into public.skill_stars (skill_id, user_id) values ($1, $2)', [ids.skill, attacker.userId]), 'star a private skill', '42501');
      expectRefused(
        await attempt('insert into public.skill_ratings (skill_id, user_id, rating) values ($1, $2, 5)', [ids.skill, attacker.userId]),
        'rate a private skill',
        '42501',
      );
      expect(await attempt('select count(*)::int as n from public.skill_listings where skill_id = $1', [ids.skill])).toMatchObject({ rows: [{ n: 0 }] });
      // The catalogue is the database's to write.
      expectRefused(
        await attempt(
          `insert into public.skill_listings (skill_id, name, category, prompt_template, model, parameters, input_schema, output_format, star_count, rating_count, created_at, updated_at)
           values ($1, 'Leaked', 'custom', 'Leaked prompt', 'm', '{}', '[]', 'text', 0, 0, now(), now())`,
          [ids.skill],
        ),
        'list a private skill',
        '42501',
      );
      expectRefused(await attempt('update public.skill_listings set star_count = 1000 where skill_id = $1', [shared]), 'forge a listed count', '42501');
      expectRefused(await attempt('delete from public.skill_listings where skill_id = $1', [shared]), 'unlist B skill', '42501');
      // In someone else's name.
      expectRefused(await attempt('insert into public.skill_stars (skill_id, user_id) values ($1, $2)', [shared, colleague.userId]), "a colleague's star", '42501');
      expectRefused(
        await attempt('insert into public.skill_ratings (skill_id, user_id, rating) values ($1, $2, 1)', [shared, colleague.userId]),
        "a colleague's rating",
        '42501',
      );
      // Others' votes are neither readable nor writable.
      expect(await attempt('select count(*)::int as n from public.skill_stars where skill_id = $1', [shared])).toMatchObject({ rows: [{ n: 0 }] });
      expect(await attempt('select count(*)::int as n from public.skill_ratings where skill_id = $1', [shared])).toMatchObject({ rows: [{ n: 0 }] });
      expectNoEffect(await attempt('update public.skill_ratings set rating = 5 where skill_id = $1', [shared]), "change the victim's rating");
      expectNoEffect(await attempt('delete from public.skill_ratings where skill_id = $1', [shared]), "delete the victim's rating");
      expectNoEffect(await attempt('delete from public.skill_stars where skill_id = $1', [shared]), "delete the victim's star");
      // Out of range, even for oneself.
      expectRefused(
        await attempt('insert into public.skill_ratings (skill_id, user_id, rating) values ($1, $2, 6)', [shared, attacker.userId]),
        'a rating of 6',
        '23514',
      );
      // The figures and the provenance: no grant, in B or in one's own organization.
      expectRefused(await attempt('update public.skills set star_count = 1000, rating_sum = 5000, rating_count = 1000 where id = $1', [shared]), 'forge B figures', '42501');
      expectRefused(await attempt('update public.skills set star_count = 1000 where id = $1', [ids.skillA]), 'forge own figures', '42501');
      expectRefused(await attempt('update public.skills set imported_from_skill_id = $2 where id = $1', [ids.skillA, shared]), 'forge provenance', '42501');
      expectRefused(
        await attempt(`insert into public.skills (organization_id, user_id, name, prompt_template, star_count) values ($1, $2, 'Forged', 'Forged prompt text', 1000)`, [
          orgA,
          attacker.userId,
        ]),
        'create with figures',
        '42501',
      );
      expectNoEffect(await attempt('update public.skills set is_public = false where id = $1', [shared]), 'unshare B skill');
      expectRefused(await attempt('update public.skill_ratings set user_id = $2 where user_id = $1', [attacker.userId, victim.userId]), 'move a rating', '42501');
    }, true);
    expect(await snapshotOf(orgB)).toBe(before);
    expect((await t.admin.query('select user_id, rating from public.skill_ratings where skill_id = $1 order by 1', [shared])).rows).toEqual(votesBefore);

    // What is allowed moves the figures by exactly one vote (rolled back).
    await session(attacker, orgA, async (attempt) => {
      expect(await attempt('insert into public.skill_stars (skill_id, user_id) values ($1, $2)', [shared, attacker.userId])).toMatchObject({ ok: true, rowCount: 1 });
      expect(await attempt('insert into public.skill_ratings (skill_id, user_id, rating) values ($1, $2, 5)', [shared, attacker.userId])).toMatchObject({
        ok: true,
        rowCount: 1,
      });
      expect(await attempt('select star_count, rating_count, rating::text as rating from public.skill_listings where skill_id = $1', [shared])).toMatchObject({
        rows: [{ star_count: 2, rating_count: 2, rating: '3.50' }],
      });
      const copy = await attempt(`select app.import_public_skill($1, 'Borrowed') as id`, [shared]);
      const copyId = rowsOf<{ id: string }>(copy)[0]!.id;
      expect(await attempt('select organization_id, user_id, imported_from_skill_id, is_public, star_count from public.skills where id = $1', [copyId])).toMatchObject({
        rows: [{ organization_id: orgA, user_id: attacker.userId, imported_from_skill_id: shared, is_public: false, star_count: 0 }],
      });
    });
  });

  test('the back office cannot forge the figures either', async () => {
    const client = await t.admin.connect();
    try {
      await client.query('begin');
      await client.query('set local role service_role');
      await expect(client.query('update public.skills set star_count = 7 where id = $1', [ids.skill])).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback');
      await client.query('begin');
      await client.query('set local role service_role');
      await expect(
        client.query(`insert into public.skills (organization_id, name, prompt_template, rating_count, rating_sum) values ($1, 'Forged', 'Forged prompt text', 1, 5)`, [orgB]),
      ).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('tables no request role may touch (schema app)', () => {
  test('every table of schema app is listed, and neither authenticated nor service_role may read or write one', async () => {
    const tables = await t.admin.query<{ name: string; column: string }>(
      `select c.relname as name, (select a.attname from pg_attribute a
               where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attidentity = '' and a.attgenerated = '' order by a.attnum limit 1) as column
       from pg_class c where c.relnamespace = 'app'::regnamespace and c.relkind in ('r', 'p') order by 1`,
    );
    expect(tables.rows.map((r) => r.name)).toEqual(Object.keys(PRIVATE_TABLES).sort());
    const verbs = (name: string, column: string): Array<[string, string]> => [
      ['select', `select * from app.${pg.escapeIdentifier(name)} limit 1`],
      ['insert', `insert into app.${pg.escapeIdentifier(name)} default values`],
      ['update', `update app.${pg.escapeIdentifier(name)} set ${pg.escapeIdentifier(column)} = ${pg.escapeIdentifier(column)}`],
      ['delete', `delete from app.${pg.escapeIdentifier(name)}`],
    ];
    await session(attacker, orgA, async (attempt) => {
      for (const { name, column } of tables.rows) {
        for (const [verb, sql] of verbs(name, column)) expectRefused(await attempt(sql), `authenticated ${verb} app.${name}`, '42501');
      }
    });
    const client = new pg.Client({ connectionString: t.appUrl });
    await client.connect();
    try {
      for (const { name, column } of tables.rows) {
        for (const [verb, sql] of verbs(name, column)) {
          await client.query('begin');
          await client.query('set local role service_role');
          const outcome = await client.query(sql).then(
            () => 'allowed',
            (error: { code?: string }) => error.code,
          );
          await client.query('rollback');
          expect({ table: name, verb, outcome }).toEqual({ table: name, verb, outcome: '42501' });
        }
      }
    } finally {
      await client.end();
    }
  });

  test('password hashes are read by account_keeper only, which no request role is a member of', async () => {
    // (SQL run on the login role's own connection could switch into it, as into
    // service_role: that is the API's, and a token names only authenticated or
    // service_role.)
    const members = await t.admin.query<{ role: string; member: boolean }>(
      `select r as role, pg_has_role(r, 'account_keeper', 'member') as member
       from unnest(array['anon', 'authenticated', 'service_role']) r order by 1`,
    );
    expect(members.rows.filter((row) => row.member)).toEqual([]);
    const rights = await t.admin.query<{ role: string; hashes: boolean }>(
      `select r as role, has_table_privilege(r, 'app.password_credentials', 'select') as hashes
       from unnest(array['anon', 'authenticated', 'service_role', 'account_keeper']) r order by 1`,
    );
    expect(rights.rows).toEqual([
      { role: 'account_keeper', hashes: true },
      { role: 'anon', hashes: false },
      { role: 'authenticated', hashes: false },
      { role: 'service_role', hashes: false },
    ]);
  });
});
