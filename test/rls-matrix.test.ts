import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Identity } from '../src/auth/caller';
import { openAs, SERVICE_IDENTITY } from '../src/db/transaction';
import { ACTORS, NOT_TENANT_TABLES, RLS_MATRIX, type Actor, type Outcome, type Verb } from './rls-matrix';
import { addMember, addProjectMember, as, createTestApp, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// Runs every line of the matrix in test/rls-matrix.ts against the real
// database. Each actor gets one session, opened with the SQL the API opens
// requests with, and each attempt runs in a savepoint that is rolled back: the
// rows under test are the same for every attempt, and nothing is left behind.

let t: TestApp;
let owner: TestUser; // owner of A: creates every row under test
let member: TestUser; // plain member of A
let colleague: TestUser; // another plain member of A: their profile and membership are under test
let newcomer: TestUser; // in no organization of these: added to A by the insert into organization_members
let outsider: TestUser; // owner of B
let orgA: string;
let orgB: string;
const ids: Record<string, string> = {};
const id = (name: string): string => {
  const value = ids[name];
  if (value === undefined) throw new Error(`no row ${name} was made`);
  return value;
};

/** The row under test of a table, as a WHERE clause over $1.. and its parameters. */
interface Target {
  where: string;
  params: () => unknown[];
}

interface TableCase {
  target: Target;
  /** A new row for organization A, written by `me` where the row has an author. */
  insert: (me: string) => { sql: string; params: unknown[] };
  /** A SET clause that writes a column the API writes, with its own value. */
  update: string;
}

const byId = (name: string): Target => ({ where: 'id = $1', params: () => [id(name)] });
const unique = () => randomUUID().slice(0, 8);

// One row per organization (subscriptions, billing details) or per user
// (profiles) cannot be inserted twice: ON CONFLICT DO NOTHING lets the grant,
// the policy's check and the guard triggers decide (they all run before the
// conflict is looked for), and "allowed" means they let the row through.
const CASES: Record<string, TableCase> = {
  organizations: {
    target: { where: 'id = $1', params: () => [orgA] },
    insert: () => ({ sql: 'insert into public.organizations (name) values ($1)', params: [`Matrix ${unique()}`] }),
    update: 'name = name',
  },
  profiles: {
    target: { where: 'id = $1', params: () => [colleague.userId] },
    insert: () => ({ sql: 'insert into public.profiles (id, email) values ($1, $2) on conflict do nothing', params: [colleague.userId, colleague.email] }),
    update: 'full_name = full_name',
  },
  organization_members: {
    target: { where: 'organization_id = $1 and user_id = $2', params: () => [orgA, colleague.userId] },
    insert: () => ({ sql: `insert into public.organization_members (organization_id, user_id, role) values ($1, $2, 'member')`, params: [orgA, newcomer.userId] }),
    update: 'role = role',
  },
  projects: {
    target: byId('project'),
    insert: (me) => ({
      sql: `insert into public.projects (organization_id, user_id, name, type) values ($1, $2, $3, 'manual')`,
      params: [orgA, me, `Matrix ${unique()}`],
    }),
    update: 'description = description',
  },
  project_members: {
    target: byId('projectMember'),
    insert: () => ({
      sql: `insert into public.project_members (project_id, user_id, email, role) values ($1, $2, $3, 'viewer')`,
      params: [id('project'), member.userId, member.email],
    }),
    update: 'role = role',
  },
  project_repositories: {
    target: byId('repository'),
    insert: () => ({
      sql: `insert into public.project_repositories (project_id, provider, repository_url, repository_name) values ($1, 'github', $2, 'acme/matrix')`,
      params: [id('project'), `https://github.com/acme/matrix-${unique()}`],
    }),
    update: 'branch = branch',
  },
  project_invitations: {
    target: byId('invitation'),
    insert: () => ({
      sql: 'insert into public.project_invitations (project_id, email, token_hash) values ($1, $2, $3)',
      params: [id('project'), `guest-${unique()}@example.test`, randomBytes(32)],
    }),
    update: 'expires_at = expires_at',
  },
  ingestion_progress: {
    target: byId('ingestion'),
    // A project has one unfinished ingestion at most: the new one goes to a second project.
    insert: () => ({ sql: 'insert into public.ingestion_progress (project_id, message) values ($1, $2)', params: [id('secondProject'), 'matrix'] }),
    update: 'message = message',
  },
  project_files: {
    target: byId('file'),
    insert: () => ({
      sql: `insert into public.project_files (project_id, name, path, mime_type, size_bytes, checksum, storage_key)
            values ($1, 'm.md', $2, 'text/markdown', 1, repeat('c', 64), $3)`,
      params: [id('project'), `matrix/${unique()}.md`, `k/${unique()}`],
    }),
    update: 'name = name',
  },
  skills: {
    target: byId('skill'),
    insert: (me) => ({
      sql: `insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, $3, 'Summarize {{text}} for the matrix.')`,
      params: [orgA, me, `Matrix ${unique()}`],
    }),
    update: 'description = description',
  },
  habits: {
    target: byId('habit'),
    insert: (me) => ({
      sql: `insert into public.habits (organization_id, skill_id, user_id, schedule_cron, next_run_at) values ($1, $2, $3, '0 9 * * 1', now() + interval '1 day')`,
      params: [orgA, id('skill'), me],
    }),
    update: 'config = config',
  },
  reflexes: {
    target: byId('webhookReflex'),
    insert: (me) => ({
      sql: `insert into public.reflexes (organization_id, skill_id, user_id, trigger_type, trigger_config) values ($1, $2, $3, 'event', '{"eventName":"matrix"}')`,
      params: [orgA, id('skill'), me],
    }),
    update: 'is_active = is_active',
  },
  reflex_secrets: {
    target: { where: 'reflex_id = $1', params: () => [id('webhookReflex')] },
    insert: () => ({
      sql: 'insert into public.reflex_secrets (reflex_id, organization_id, secret) values ($1, $2, $3)',
      params: [id('eventReflex'), orgA, `whsec_${randomBytes(32).toString('base64url').slice(0, 43)}`],
    }),
    update: 'created_at = created_at',
  },
  reflex_webhook_deliveries: {
    target: { where: 'reflex_id = $1 and signature = $2', params: () => [id('webhookReflex'), id('signature')] },
    insert: () => ({
      sql: `insert into public.reflex_webhook_deliveries (reflex_id, signature, expires_at) values ($1, $2, now() + interval '5 minutes')`,
      params: [id('webhookReflex'), randomBytes(32).toString('hex')],
    }),
    update: 'expires_at = expires_at',
  },
  skill_executions: {
    target: byId('execution'),
    insert: (me) => ({
      sql: `insert into public.skill_executions (organization_id, skill_id, user_id, execution_type, input) values ($1, $2, $3, 'manual', '{"text":"x"}')`,
      params: [orgA, id('skill'), me],
    }),
    update: 'status = status',
  },
  activity_events: {
    target: { where: "subject_id = $1 and type = 'execution.queued'", params: () => [id('execution')] },
    insert: () => ({
      sql: `insert into public.activity_events (organization_id, type, subject_type, subject_id, data) values ($1, 'execution.queued', 'execution', $2, '{}')`,
      params: [orgA, id('execution')],
    }),
    update: 'data = data',
  },
  notifications: {
    target: { where: "source_key = 'matrix:notification'", params: () => [] },
    insert: (me) => ({
      sql: `insert into public.notifications (user_id, organization_id, type, title, source_key) values ($1, $2, 'system_update', 'Forged', 'matrix:forged')`,
      params: [me, orgA],
    }),
    update: 'read_at = read_at',
  },
  notification_preferences: {
    target: { where: 'user_id = $1', params: () => [owner.userId] },
    insert: (me) => ({ sql: 'insert into public.notification_preferences (user_id) values ($1) on conflict do nothing', params: [me] }),
    update: 'time_zone = time_zone',
  },
  skill_stars: {
    target: { where: 'skill_id = $1 and user_id = $2', params: () => [id('publicSkill'), owner.userId] },
    insert: (me) => ({ sql: 'insert into public.skill_stars (skill_id, user_id) values ($1, $2) on conflict do nothing', params: [id('publicSkill'), me] }),
    update: 'created_at = created_at',
  },
  skill_listings: {
    target: { where: 'skill_id = $1', params: () => [id('publicSkill')] },
    insert: () => ({
      sql: `insert into public.skill_listings (skill_id, name, category, prompt_template, model, parameters, input_schema, output_format,
              star_count, rating_count, created_at, updated_at)
            values ($1, 'Listed', 'custom', 'Listed prompt', 'm', '{}', '[]', 'text', 0, 0, now(), now()) on conflict do nothing`,
      params: [id('skill')],
    }),
    update: 'name = name',
  },
  skill_ratings: {
    target: { where: 'skill_id = $1 and user_id = $2', params: () => [id('publicSkill'), owner.userId] },
    insert: (me) => ({
      sql: 'insert into public.skill_ratings (skill_id, user_id, rating) values ($1, $2, 3) on conflict do nothing',
      params: [id('publicSkill'), me],
    }),
    update: 'rating = rating',
  },
  subscriptions: {
    target: { where: 'organization_id = $1', params: () => [orgA] },
    insert: () => ({ sql: `insert into public.subscriptions (organization_id, plan_id) values ($1, 'free') on conflict do nothing`, params: [orgA] }),
    update: 'cancel_at_period_end = cancel_at_period_end',
  },
  payment_methods: {
    target: byId('paymentMethod'),
    insert: () => ({
      sql: `insert into public.payment_methods (organization_id, type, card_brand, last4, exp_month, exp_year) values ($1, 'card', 'visa', '4242', 12, 2030)`,
      params: [orgA],
    }),
    update: 'is_default = is_default',
  },
  billing_details: {
    target: { where: 'organization_id = $1', params: () => [orgA] },
    insert: () => ({ sql: `insert into public.billing_details (organization_id, company_name, country) values ($1, 'Matrix B.V.', 'NL') on conflict do nothing`, params: [orgA] }),
    update: 'company_name = company_name',
  },
  invoices: {
    target: byId('invoice'),
    insert: () => ({
      sql: `insert into public.invoices (organization_id, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due)
            values ($1, 'Matrix', 'domestic', 21, 0, 0, 0, 0)`,
      params: [orgA],
    }),
    update: 'description = description',
  },
  invoice_lines: {
    target: byId('invoiceLine'),
    insert: () => ({
      sql: `insert into public.invoice_lines (invoice_id, organization_id, position, description, unit_amount, amount) values ($1, $2, 2, 'Matrix', 0, 0)`,
      params: [id('invoice'), orgA],
    }),
    update: 'description = description',
  },
  usage_counters: {
    target: { where: `organization_id = $1 and metric = 'api_calls' and period_start = '2001-01-01'`, params: () => [orgA] },
    insert: () => ({ sql: `insert into public.usage_counters (organization_id, metric, period_start, used) values ($1, 'api_calls', '2002-01-01', 1)`, params: [orgA] }),
    update: 'used = used',
  },
  usage_daily: {
    target: { where: `organization_id = $1 and metric = 'api_calls' and day = '2001-01-01'`, params: () => [orgA] },
    insert: () => ({ sql: `insert into public.usage_daily (organization_id, metric, day, value) values ($1, 'api_calls', '2002-01-01', 1)`, params: [orgA] }),
    update: 'value = value',
  },
  // Idempotency-Key records: read by their caller; reserved through app.claim_idempotency_key, settled by the API as service_role.
  idempotency_keys: {
    target: { where: 'organization_id = $1 and key_hash = $2', params: () => [orgA, createHash('sha256').update(id('idempotencyKey')).digest()] },
    insert: (me) => ({
      sql: `insert into public.idempotency_keys (organization_id, user_id, key_hash, fingerprint, reservation, locked_until)
            values ($1, $2, $3, $3, gen_random_uuid(), now() + interval '1 minute')`,
      params: [orgA, me, randomBytes(32)],
    }),
    update: 'response_status = response_status',
  },
  // Append-only product events: one's own, in an organization one belongs to; nobody reads or changes them.
  analytics_events: {
    target: byId('analyticsEvent'),
    insert: (me) => ({
      sql: `insert into public.analytics_events (user_id, organization_id, type, occurred_at) values ($1, $2, 'matrix_event', now())`,
      params: [me, orgA],
    }),
    update: 'type = type',
  },
  // Append-only: owners and admins read their organization's entries; nobody writes them but the database.
  audit_log: {
    target: byId('auditEntry'),
    insert: () => ({
      sql: `insert into public.audit_log (organization_id, category, event_type, target_type) values ($1, 'team', 'team.settings_updated', 'organization')`,
      params: [orgA],
    }),
    update: 'target_name = target_name',
  },
  audit_saved_filters: {
    target: byId('savedFilter'),
    insert: (me) => ({
      sql: `insert into public.audit_saved_filters (organization_id, user_id, name, filters) values ($1, $2, $3, '{}')`,
      params: [orgA, me, `Matrix ${unique()}`],
    }),
    update: 'name = name',
  },
  // Keys: owners and admins of the organization; the hash is never readable, usage is the back office's.
  api_keys: {
    target: byId('apiKey'),
    insert: (me) => ({
      sql: `insert into public.api_keys (organization_id, created_by, name, public_id, secret_hash, scopes) values ($1, $2, 'Matrix key', $3, $4, '{read}')`,
      params: [orgA, me, randomBytes(6).toString('hex'), randomBytes(32)],
    }),
    update: 'revoked_at = revoked_at',
  },
  webhook_endpoints: {
    target: byId('webhook'),
    insert: (me) => ({
      sql: `insert into public.webhook_endpoints (organization_id, created_by, name, endpoint_url, events, secret) values ($1, $2, 'Matrix hook', 'https://93.184.216.34/', '{member.joined}', 'sealed')`,
      params: [orgA, me],
    }),
    update: 'name = name',
  },
  webhook_deliveries: {
    target: byId('webhookDelivery'),
    insert: () => ({
      sql: `insert into public.webhook_deliveries (organization_id, webhook_id, message_id, event_type, payload) values ($1, $2, 'msg_matrix', 'webhook.test', '{}')`,
      params: [orgA, id('webhook')],
    }),
    update: 'status = status',
  },
};

function attemptSql(table: string, verb: Verb, me: string): { sql: string; params: unknown[] } {
  const spec = CASES[table];
  if (!spec) throw new Error(`no statements for table ${table}: add them to CASES`);
  const target = spec.target;
  switch (verb) {
    case 'select':
      return { sql: `select count(*)::int as n from public.${table} where ${target.where}`, params: target.params() };
    case 'insert':
      return spec.insert(me);
    case 'update':
      return { sql: `update public.${table} set ${spec.update} where ${target.where}`, params: target.params() };
    case 'delete':
      return { sql: `delete from public.${table} where ${target.where}`, params: target.params() };
  }
}

/** What happened, in the matrix's words; anything else (a broken statement) is reported as it is. */
function outcomeOf(verb: Verb, result: { ok: true; rows: pg.QueryResultRow[]; rowCount: number } | { ok: false; code?: string; message: string }): Outcome | string {
  if (!result.ok) {
    if (result.code !== '42501') return `error ${result.code}: ${result.message}`;
    return /^permission denied for (table|relation)/.test(result.message) ? 'denied' : 'refused';
  }
  if (verb === 'select') return result.rows[0]!.n > 0 ? 'sees' : 'sees-none';
  if (verb === 'insert') return 'allowed';
  return result.rowCount > 0 ? 'allowed' : 'hidden';
}

interface Session {
  identity: Identity;
  organizationId: string;
  /** The organization and role the session must end up with. */
  expected: { organization_id: string; organization_role: string | null };
  /** Author of the rows this actor inserts. */
  me: string;
}

function sessionOf(actor: Actor): Session {
  const signedIn = (user: TestUser): Identity => ({
    role: 'authenticated',
    userId: user.userId,
    email: user.email,
    claims: { sub: user.userId, email: user.email, role: 'authenticated', aud: 'authenticated' },
  });
  switch (actor) {
    case 'owner':
      return { identity: signedIn(owner), organizationId: orgA, expected: { organization_id: orgA, organization_role: 'owner' }, me: owner.userId };
    case 'member':
      return { identity: signedIn(member), organizationId: orgA, expected: { organization_id: orgA, organization_role: 'member' }, me: member.userId };
    case 'outsider':
      return { identity: signedIn(outsider), organizationId: orgB, expected: { organization_id: orgB, organization_role: 'owner' }, me: outsider.userId };
    case 'service':
      return { identity: SERVICE_IDENTITY, organizationId: orgA, expected: { organization_id: orgA, organization_role: null }, me: owner.userId };
  }
}

/** Every line of the matrix for one actor, in one session that rolls back: observed outcomes keyed "table verb". */
async function observe(actor: Actor): Promise<Record<string, string>> {
  const session = sessionOf(actor);
  const client = new pg.Client({ connectionString: t.appUrl });
  await client.connect();
  try {
    // The API's own opening (claims, SET LOCAL ROLE, begin_request or the service branch), not metered.
    const context = await openAs(client, session.identity, { requestedOrganizationId: session.organizationId, statementTimeoutMs: 5000, meterApiCall: false });
    expect({ actor, organization_id: context.organization_id, organization_role: context.organization_role }).toEqual({ actor, ...session.expected });
    const observed: Record<string, string> = {};
    for (const row of RLS_MATRIX.filter((r) => r.actor === actor)) {
      const { sql, params } = attemptSql(row.table, row.verb, session.me);
      await client.query('savepoint attempt');
      try {
        const result = await client.query(sql, params);
        observed[`${row.table} ${row.verb}`] = outcomeOf(row.verb, { ok: true, rows: result.rows, rowCount: result.rowCount ?? 0 });
      } catch (error) {
        const { code, message } = error as { code?: string; message: string };
        observed[`${row.table} ${row.verb}`] = outcomeOf(row.verb, { ok: false, code, message });
      }
      await client.query('rollback to savepoint attempt');
    }
    return observed;
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

beforeAll(async () => {
  t = createTestApp();
  owner = await newUser(t.app, 'matrix-owner');
  member = await newUser(t.app, 'matrix-member');
  colleague = await newUser(t.app, 'matrix-colleague');
  newcomer = await newUser(t.app, 'matrix-newcomer');
  outsider = await newUser(t.app, 'matrix-outsider');
  orgA = await newOrganization(t.app, owner, 'Matrix A');
  orgB = await newOrganization(t.app, outsider, 'Matrix B');
  await addMember(t, orgA, member, 'member');
  await addMember(t, orgA, colleague, 'member');

  // The rows under test, made the way the API makes them where it can.
  const a = as(t.app, owner, orgA);
  ids.idempotencyKey = randomUUID();
  ids.project = (
    await a.post('/api/v1/projects').set('Idempotency-Key', ids.idempotencyKey).send({ name: 'Matrix project', type: 'manual', privacy: 'shared' }).expect(201)
  ).body.id;
  ids.projectMember = await addProjectMember(t, id('project'), colleague, 'viewer');
  ids.repository = (await a.post(`/api/v1/projects/${ids.project}/repositories`).send({ repositoryUrl: 'https://github.com/acme/matrix' }).expect(201)).body.id;
  ids.file = (
    await a
      .post(`/api/v1/projects/${ids.project}/files`)
      .send({ name: 'a.md', path: 'docs/a.md', mimeType: 'text/markdown', sizeBytes: 10, checksum: 'b'.repeat(64), storageKey: `k/${unique()}` })
      .expect(201)
  ).body.id;
  const invited = await a.post(`/api/v1/projects/${ids.project}/invitations`).send({ emails: [`invitee-${unique()}@example.test`], role: 'viewer' }).expect(200);
  ids.invitation = invited.body.results[0].invitation.id;
  ids.ingestion = (await a.post(`/api/v1/projects/${ids.project}/ingestions`).send({}).expect(201)).body.id;
  ids.secondProject = (await a.post('/api/v1/projects').send({ name: 'Matrix second project', type: 'manual', privacy: 'shared' }).expect(201)).body.id;
  ids.skill = (await a.post('/api/v1/skills').send({ name: 'Matrix skill', promptTemplate: 'Summarize {{text}} for me.' }).expect(201)).body.id;
  ids.publicSkill = (await a.post('/api/v1/skills').send({ name: 'Matrix public skill', promptTemplate: 'Explain {{text}} to me.', isPublic: true }).expect(201)).body.id;
  await a.put(`/api/v1/skills/${ids.publicSkill}/star`).expect(200);
  await a.put(`/api/v1/skills/${ids.publicSkill}/rating`).send({ rating: 4 }).expect(200);
  ids.habit = (await a.post('/api/v1/habits').send({ skillId: ids.skill, scheduleCron: '0 9 * * 1' }).expect(201)).body.id;
  ids.webhookReflex = (await a.post('/api/v1/reflexes').send({ skillId: ids.skill, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201)).body.id;
  ids.eventReflex = (await a.post('/api/v1/reflexes').send({ skillId: ids.skill, triggerType: 'event', triggerConfig: { eventName: 'matrix' } }).expect(201)).body.id;
  ids.signature = randomBytes(32).toString('hex');
  await t.admin.query(`insert into public.reflex_webhook_deliveries (reflex_id, signature, expires_at) values ($1, $2, now() + interval '1 hour')`, [
    ids.webhookReflex,
    ids.signature,
  ]);
  ids.execution = (await a.post(`/api/v1/skills/${ids.skill}/execute`).send({ input: { text: 'x' } }).expect(202)).body.id;
  ids.paymentMethod = (
    await a.post('/api/v1/billing/payment-methods').send({ type: 'card', cardBrand: 'visa', cardLast4: '4242', cardExpMonth: 12, cardExpYear: 2030 }).expect(201)
  ).body.id;
  await a.put('/api/v1/billing/details').send({ companyName: 'Matrix A B.V.', country: 'NL' }).expect(200);
  ids.invoice = (
    await t.admin.query<{ id: string }>(
      `insert into public.invoices (organization_id, description, vat_treatment, vat_rate, subtotal, vat_amount, total, amount_due)
       values ($1, 'Matrix invoice', 'domestic', 21, 10, 2.10, 12.10, 12.10) returning id`,
      [orgA],
    )
  ).rows[0]!.id;
  ids.invoiceLine = (
    await t.admin.query<{ id: string }>(
      `insert into public.invoice_lines (invoice_id, organization_id, position, description, unit_amount, amount) values ($1, $2, 1, 'Matrix line', 10, 10) returning id`,
      [ids.invoice, orgA],
    )
  ).rows[0]!.id;
  await t.admin.query(`insert into public.usage_counters (organization_id, metric, period_start, used) values ($1, 'api_calls', '2001-01-01', 1)`, [orgA]);
  await t.admin.query(`insert into public.usage_daily (organization_id, metric, day, value) values ($1, 'api_calls', '2001-01-01', 1)`, [orgA]);
  ids.apiKey = (await a.post('/api/v1/api-keys').send({ name: 'Matrix key', scopes: ['read'], expiration: 'never' }).expect(201)).body.id;
  ids.analyticsEvent = (
    await t.admin.query<{ id: string }>(
      `insert into public.analytics_events (user_id, organization_id, type, occurred_at) values ($1, $2, 'matrix_event', now()) returning id::text`,
      [owner.userId, orgA],
    )
  ).rows[0]!.id;
  ids.auditEntry = (
    await t.admin.query<{ id: string }>(`select id from public.audit_log where organization_id = $1 and event_type = 'context.created' limit 1`, [orgA])
  ).rows[0]!.id;
  await t.admin.query(`insert into public.notifications (user_id, organization_id, type, title, source_key) values ($1, $2, 'system_update', 'Matrix', 'matrix:notification')`, [
    owner.userId,
    orgA,
  ]);
  await a.patch('/api/v1/notifications/preferences').send({ timezone: 'Europe/Amsterdam' }).expect(200);
  ids.savedFilter = (await a.post('/api/v1/audit-log/saved-filters').send({ name: 'Matrix filter', filters: {} }).expect(201)).body.id;
  ids.webhook = (await a.post('/api/v1/webhooks').send({ name: 'Matrix hook', endpointUrl: 'https://93.184.216.34/hook', events: ['member.joined'] }).expect(201)).body.id;
  ids.webhookDelivery = (
    await t.admin.query<{ id: string }>(
      `insert into public.webhook_deliveries (organization_id, webhook_id, message_id, event_type, payload) values ($1, $2, 'msg_matrix', 'webhook.test', '{}') returning id`,
      [orgA, ids.webhook],
    )
  ).rows[0]!.id;
}, 60_000);
afterAll(() => t.close());

describe('the matrix', () => {
  test('covers every table of schema public that belongs to a tenant, and each has row level security, forced', async () => {
    const catalog = await t.admin.query<{ name: string; rls: boolean; forced: boolean }>(
      `select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`,
    );
    const inMatrix = [...new Set(RLS_MATRIX.map((row) => row.table))].sort();
    // A new table fails here until it has lines in the matrix (or a reason not to).
    expect(catalog.rows.map((r) => r.name).filter((name) => !(name in NOT_TENANT_TABLES))).toEqual(inMatrix);
    expect(Object.keys(NOT_TENANT_TABLES).filter((name) => !catalog.rows.some((r) => r.name === name))).toEqual([]);
    for (const table of inMatrix) {
      const row = catalog.rows.find((r) => r.name === table)!;
      expect({ table, rls: row.rls, forced: row.forced }).toEqual({ table, rls: true, forced: true });
    }
    // Every table has all four actors and all four verbs.
    for (const table of inMatrix) expect(RLS_MATRIX.filter((row) => row.table === table)).toHaveLength(ACTORS.length * 4);
  });

  test('tables of no tenant are not writable by signed-in users', async () => {
    for (const table of Object.keys(NOT_TENANT_TABLES)) {
      const rights = await t.admin.query<{ write: boolean }>(`select has_table_privilege('authenticated', $1, 'INSERT, UPDATE, DELETE, TRUNCATE') as write`, [
        `public.${table}`,
      ]);
      expect({ table, write: rights.rows[0]!.write }).toEqual({ table, write: false });
    }
  });

  test('each row under test exists exactly once, so that "sees-none" and "hidden" mean hidden, not missing', async () => {
    for (const [table, spec] of Object.entries(CASES)) {
      const found = await t.admin.query<{ n: number }>(`select count(*)::int as n from public.${table} where ${spec.target.where}`, spec.target.params());
      expect({ table, rows: found.rows[0]!.n }).toEqual({ table, rows: 1 });
    }
  });
});

describe.each(ACTORS)('as %s', (actor) => {
  test('every table and verb has the outcome the matrix gives', async () => {
    const expected = Object.fromEntries(RLS_MATRIX.filter((row) => row.actor === actor).map((row) => [`${row.table} ${row.verb}`, row.expected]));
    expect(await observe(actor)).toEqual(expected);
  });
});
