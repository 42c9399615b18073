import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { migrationVersions, runDbmate } from '../src/db/migrations';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database';

// Every migration runs up, down and up again on databases made for this file,
// never on the shared test database.

const up = (db: ScratchDatabase) => runDbmate(db.url, ['up', '--strict'], { quiet: true });

async function rollbackAll(db: ScratchDatabase): Promise<void> {
  for (let i = 0; i < migrationVersions().length; i += 1) {
    await runDbmate(db.url, ['rollback'], { quiet: true });
  }
}

async function appliedVersions(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ version: string }>('select version from public.schema_migrations order by version');
  return rows.map((row) => row.version);
}

async function exists(client: pg.Client, sql: string, params: unknown[] = []): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(`select exists (${sql}) as found`, params);
  return rows[0]!.found;
}

const schemaExists = (client: pg.Client, name: string) =>
  exists(client, 'select 1 from pg_namespace where nspname = $1', [name]);
const relationExists = (client: pg.Client, name: string) =>
  exists(client, 'select 1 where to_regclass($1) is not null', [name]);

/**
 * Everything user-made in the database, by name: schemas, relations, types,
 * functions and policies. dbmate's own bookkeeping and the shared extensions
 * schema (kept on purpose by 001's down) are left out.
 */
async function userObjects(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ object: string }>(`
    with ns as (
      select oid, nspname from pg_namespace
      where nspname !~ '^pg_' and nspname not in ('information_schema', 'extensions')
    )
    select 'schema ' || nspname as object from ns
    union all
    select 'relation ' || ns.nspname || '.' || c.relname
      from pg_class c join ns on ns.oid = c.relnamespace
      where c.relname not in ('schema_migrations', 'schema_migrations_pkey')
    union all
    select 'type ' || ns.nspname || '.' || t.typname
      from pg_type t join ns on ns.oid = t.typnamespace
      where t.typname not in ('schema_migrations', '_schema_migrations')
    union all
    select 'function ' || p.oid::regprocedure::text
      from pg_proc p join ns on ns.oid = p.pronamespace
    union all
    select 'policy ' || ns.nspname || '.' || c.relname || '.' || pol.polname
      from pg_policy pol join pg_class c on c.oid = pol.polrelid join ns on ns.oid = c.relnamespace
    order by 1`);
  return rows.map((row) => row.object);
}

/** The security properties every migrated database must have. */
async function expectSecuredSchema(client: pg.Client): Promise<void> {
  const tables = await client.query<{ name: string; rls: boolean; forced: boolean; policies: number }>(`
    select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
           (select count(*) from pg_policy p where p.polrelid = c.oid)::int as policies
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and c.relname <> 'schema_migrations'
    order by 1`);
  const names = tables.rows.map((row) => row.name);
  expect(names).toEqual(
    expect.arrayContaining(['organizations', 'profiles', 'organization_members', 'projects', 'project_members', 'project_files']),
  );
  expect(tables.rows.filter((row) => !row.rls).map((row) => row.name)).toEqual([]);
  expect(tables.rows.filter((row) => !row.forced).map((row) => row.name)).toEqual([]);
  expect(tables.rows.filter((row) => row.policies === 0).map((row) => row.name)).toEqual([]);

  const functions = await client.query<{
    name: string;
    definer: boolean;
    config: string[] | null;
    public_exec: boolean;
    public_in_acl: boolean;
    anon_exec: boolean;
    authenticated_exec: boolean;
    service_exec: boolean;
  }>(`
    select p.oid::regprocedure::text as name, p.prosecdef as definer, p.proconfig as config,
           has_function_privilege('public', p.oid, 'execute') as public_exec,
           p.proacl is null or exists (
             select 1 from aclexplode(p.proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE'
           ) as public_in_acl,
           has_function_privilege('anon', p.oid, 'execute') as anon_exec,
           has_function_privilege('authenticated', p.oid, 'execute') as authenticated_exec,
           has_function_privilege('service_role', p.oid, 'execute') as service_exec
    from pg_proc p
    where p.pronamespace = 'app'::regnamespace
    order by 1`);
  const definers = functions.rows.filter((row) => row.definer);
  expect(definers.map((row) => row.name)).toEqual(
    expect.arrayContaining(['app.provision_current_user()', 'app.begin_request(uuid)', 'app.organization_role(uuid)']),
  );
  // A SECURITY DEFINER function resolving names through the caller's search_path can be hijacked.
  expect(definers.filter((row) => !(row.config ?? []).includes('search_path=""')).map((row) => row.name)).toEqual([]);
  expect(functions.rows.filter((row) => row.public_exec || row.public_in_acl).map((row) => row.name)).toEqual([]);
  expect(functions.rows.filter((row) => row.anon_exec).map((row) => row.name)).toEqual([]);
  // The request roles run every function but a few internal ones (008_least_privilege);
  // the data-API security suite checks each of those one by one.
  const internal = [
    'app.add_usage(uuid,usage_metric_type,bigint,boolean)',
    'app.audit_api_key()',
    'app.audit_auth_session()',
    'app.audit_changes(jsonb,jsonb,text[])',
    'app.audit_client_ip()',
    'app.audit_mfa_factor()',
    'app.audit_retention_days(plan_tier)',
    'app.automation_deactivated_activity()',
    'app.auth_sessions_reachable(text)',
    'app.claim_idempotency_key_for(uuid,uuid,bytea,bytea,integer)',
    'app.close_organization(uuid)',
    'app.data_subject()',
    'app.enqueue_webhook_deliveries()',
    'app.erase_mentions(text,text[])',
    'app.execution_activity()',
    'app.execution_output_notify()',
    'app.forget_member_activity()',
    'app.forget_notifications_of_member()',
    'app.forget_person_in_notifications()',
    'app.ingestion_activity()',
    'app.invoice_activity()',
    'app.invoice_activity_data(invoices)',
    'app.iso_utc(timestamp with time zone)',
    'app.member_activity()',
    'app.notify_from_activity()',
    'app.plan_limit(uuid,usage_metric_type)',
    'app.queue_mail(text,uuid,text,jsonb,boolean,text,text)',
    'app.quotas_enforced()',
    'app.record_activity(uuid,text,uuid,uuid,jsonb)',
    'app.record_failed_sign_in(text,text)',
    'app.webhook_endpoint_activity()',
    'app.security_alert_from_audit()',
    'app.wants_in_app(uuid,text)',
    'app.write_audit_entry(uuid,text,text,uuid,text,jsonb,jsonb,uuid)',
  ];
  const backOffice = [
    'app.claim_back_office_idempotency_key(bytea,bytea,integer)',
    'app.claim_execution(uuid[])',
    'app.claim_mail(timestamp with time zone,integer,integer)',
    'app.finish_mail(uuid,text,timestamp with time zone,text)',
    'app.purge_analytics_events(integer,integer)',
    'app.purge_audit_log(integer)',
    'app.queue_digest(uuid,timestamp with time zone,text)',
    'app.queue_invitation_mail(uuid,text)',
    'app.record_audit_event(audit_event_category,text,text,uuid,text,jsonb,uuid,uuid)',
    // Redeemed before the API knows who calls (026); the stream's own request then runs as the ticket's claims.
    'app.redeem_stream_ticket(bytea)',
    'app.start_reflex_run(uuid,jsonb)',
  ];
  // A person's own export and erasure (022): signed-in users only, never the back office.
  const personal = [
    'app.erase_current_user(text)',
    'app.export_my_account()',
    'app.export_my_analytics_events()',
    'app.export_my_api_keys()',
    'app.export_my_audit_entries()',
    'app.export_my_sessions()',
    // A stream ticket stands for the signed-in caller who asks for it (026): nothing for the back office.
    'app.issue_stream_ticket(bytea,integer)',
  ];
  expect(functions.rows.filter((row) => !row.authenticated_exec).map((row) => row.name)).toEqual([...internal, ...backOffice].sort());
  expect(functions.rows.filter((row) => !row.service_exec).map((row) => row.name)).toEqual([...internal, ...personal].sort());
}

async function expectNothingOfOurs(client: pg.Client): Promise<void> {
  expect(await relationExists(client, 'public.projects')).toBe(false);
  expect(await relationExists(client, 'public.organizations')).toBe(false);
  expect(await schemaExists(client, 'app')).toBe(false);
  expect(await exists(client, "select 1 from pg_type where typname = 'organization_role' and typnamespace = 'public'::regnamespace")).toBe(false);
  expect(await appliedVersions(client)).toEqual([]);
}

interface ProvisionResult {
  known: boolean;
  organizationId: string | null;
  organizationRole: string | null;
  visibleOrganizations: Array<{ id: string; is_personal: boolean }>;
}

/** What the API does on a request: claims and role set transaction-locally, then provision and resolve. */
async function provisionAs(client: pg.Client, sub: string, email: string): Promise<ProvisionResult> {
  await client.query('begin');
  try {
    await client.query("select set_config('request.jwt.claims', $1, true)", [
      JSON.stringify({ sub, email, role: 'authenticated' }),
    ]);
    await client.query('set local role authenticated');
    await client.query('select app.provision_current_user()');
    const context = await client.query<{ known: boolean; organization_id: string | null; organization_role: string | null }>(
      'select * from app.begin_request(null)',
    );
    const visible = await client.query<{ id: string; is_personal: boolean }>(
      'select id, is_personal from public.organizations order by created_at',
    );
    await client.query('commit');
    const row = context.rows[0]!;
    return {
      known: row.known,
      organizationId: row.organization_id,
      organizationRole: row.organization_role,
      visibleOrganizations: visible.rows,
    };
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

async function expectProvisioningWorks(client: pg.Client, options: { supabaseAuth?: boolean } = {}): Promise<void> {
  const sub = randomUUID();
  const email = `mig-${sub.slice(0, 8)}@y.test`;
  if (options.supabaseAuth) {
    // Supabase Auth owns its users: a token for an account it does not have is refused...
    await expect(provisionAs(client, sub, email)).rejects.toMatchObject({ code: '28000' });
    // ...and one it has (the sign-up made the row) is provisioned.
    await client.query('insert into auth.users (id, email) values ($1, $2)', [sub, email]);
  }

  const first = await provisionAs(client, sub, email);
  expect(first.known).toBe(true);
  expect(first.organizationRole).toBe('owner');
  expect(first.organizationId).toEqual(expect.any(String));
  expect(first.visibleOrganizations).toEqual([{ id: first.organizationId, is_personal: true }]);

  const second = await provisionAs(client, sub, email);
  expect(second.organizationId).toBe(first.organizationId);
  expect(second.organizationRole).toBe('owner');

  // Checked as the superuser, past row level security.
  const owned = await client.query<{ id: string; is_personal: boolean; role: string }>(
    `select o.id, o.is_personal, m.role from public.organizations o
     join public.organization_members m on m.organization_id = o.id
     where o.created_by = $1`,
    [sub],
  );
  expect(owned.rows).toEqual([{ id: first.organizationId, is_personal: true, role: 'owner' }]);
  const profile = await client.query('select email, default_organization_id from public.profiles where id = $1', [sub]);
  expect(profile.rows).toEqual([{ email, default_organization_id: first.organizationId }]);
}

describe('migrations on a brand-new database', () => {
  let db: ScratchDatabase;
  let empty: string[];

  beforeAll(async () => {
    db = await createScratchDatabase('mig');
    empty = await userObjects(db.client);
  });
  afterAll(() => db?.drop());

  test('up applies every migration and leaves a secured schema', async () => {
    await up(db);
    expect(await appliedVersions(db.client)).toEqual(migrationVersions());
    expect(await relationExists(db.client, 'public.projects')).toBe(true);
    expect(await relationExists(db.client, 'auth.users')).toBe(true);
    await expectSecuredSchema(db.client);
  });

  test('rolling back every migration one by one leaves nothing of ours behind', async () => {
    const versions = migrationVersions();
    for (let i = versions.length - 1; i >= 0; i -= 1) {
      await runDbmate(db.url, ['rollback'], { quiet: true });
      expect(await appliedVersions(db.client)).toEqual(versions.slice(0, i));
    }
    await expectNothingOfOurs(db.client);
    // 000 created the auth schema here, so its down removed it.
    expect(await schemaExists(db.client, 'auth')).toBe(false);
    expect(await userObjects(db.client)).toEqual(empty);
  });

  test('up again after a full rollback rebuilds the same secured schema', async () => {
    await up(db);
    expect(await appliedVersions(db.client)).toEqual(migrationVersions());
    expect(await relationExists(db.client, 'public.projects')).toBe(true);
    expect(await schemaExists(db.client, 'app')).toBe(true);
    await expectSecuredSchema(db.client);
    // Up with nothing pending is a no-op, not an error.
    await up(db);
  });

  test('a signed-in user is provisioned once, as owner of a personal organization', async () => {
    await expectProvisioningWorks(db.client);
  });

  test('the anonymous role cannot call the app functions', async () => {
    await db.client.query('begin');
    try {
      await db.client.query('set local role anon');
      await expect(db.client.query('select app.provision_current_user()')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await db.client.query('rollback');
    }
  });
});

// What a Supabase project already has before our first migration runs.
const SUPABASE_AUTH = `
create schema auth;

create table auth.users (
  instance_id uuid null,
  id uuid not null primary key,
  aud varchar(255) null,
  role varchar(255) null,
  email varchar(255) null,
  encrypted_password varchar(255) null,
  email_confirmed_at timestamptz null,
  invited_at timestamptz null,
  confirmation_token varchar(255) null,
  last_sign_in_at timestamptz null,
  raw_app_meta_data jsonb null,
  raw_user_meta_data jsonb null,
  is_super_admin boolean null,
  created_at timestamptz null,
  updated_at timestamptz null,
  phone text null unique default null,
  phone_confirmed_at timestamptz null,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  banned_until timestamptz null,
  is_sso_user boolean not null default false,
  deleted_at timestamptz null,
  is_anonymous boolean not null default false
);
create unique index users_email_partial_key on auth.users (email) where (is_sso_user = false);
create index users_instance_id_email_idx on auth.users (instance_id, lower((email)::text));

create function auth.uid() returns uuid
  language sql stable
  as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

create function auth.role() returns text
  language sql stable
  as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';

create function auth.email() returns text
  language sql stable
  as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

create function auth.jwt() returns jsonb
  language sql stable
  as $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt() to anon, authenticated, service_role;
`;

interface AuthSnapshot {
  functions: Array<{ name: string; definition: string; comment: string | null }>;
  columns: unknown[];
  indexes: string[];
  schemaComment: string | null;
}

async function authSnapshot(client: pg.Client): Promise<AuthSnapshot> {
  const functions = await client.query<{ name: string; definition: string; comment: string | null }>(`
    select p.oid::regprocedure::text as name, pg_get_functiondef(p.oid) as definition,
           obj_description(p.oid, 'pg_proc') as comment
    from pg_proc p where p.pronamespace = 'auth'::regnamespace order by 1`);
  const columns = await client.query(`
    select column_name, data_type, character_maximum_length, is_nullable, column_default, is_generated, generation_expression
    from information_schema.columns where table_schema = 'auth' and table_name = 'users' order by ordinal_position`);
  const indexes = await client.query<{ indexdef: string }>(
    "select indexdef from pg_indexes where schemaname = 'auth' and tablename = 'users' order by indexname",
  );
  const comment = await client.query<{ comment: string | null }>(
    "select obj_description('auth'::regnamespace, 'pg_namespace') as comment",
  );
  return {
    functions: functions.rows,
    columns: columns.rows,
    indexes: indexes.rows.map((row) => row.indexdef),
    schemaComment: comment.rows[0]!.comment,
  };
}

describe('migrations on a database that already has Supabase auth', () => {
  let db: ScratchDatabase;
  let before: AuthSnapshot;

  beforeAll(async () => {
    db = await createScratchDatabase('mig_supa');
    await db.client.query(SUPABASE_AUTH);
    before = await authSnapshot(db.client);
  });
  afterAll(() => db?.drop());

  test('the arranged auth schema looks like Supabase', () => {
    expect(before.functions.map((fn) => fn.name)).toEqual(['auth.email()', 'auth.jwt()', 'auth.role()', 'auth.uid()']);
    expect(before.columns).toEqual(expect.arrayContaining([expect.objectContaining({ column_name: 'is_sso_user', is_nullable: 'NO' })]));
    expect(before.schemaComment).toBeNull();
  });

  test("up succeeds and leaves Supabase's auth objects exactly as they were", async () => {
    await up(db);
    expect(await appliedVersions(db.client)).toEqual(migrationVersions());
    const after = await authSnapshot(db.client);
    expect(after.functions).toEqual(before.functions);
    expect(after.columns).toEqual(before.columns);
    expect(after.indexes).toEqual(before.indexes);
    // The marker comment would make a later rollback drop Supabase's schema.
    expect(after.schemaComment).toBeNull();
    await expectSecuredSchema(db.client);
  });

  test("provisioning works against Supabase's users table", async () => {
    await expectProvisioningWorks(db.client, { supabaseAuth: true });
  });

  test("a full rollback removes our objects and never Supabase's auth schema", async () => {
    await rollbackAll(db);
    await expectNothingOfOurs(db.client);
    expect(await schemaExists(db.client, 'auth')).toBe(true);
    expect(await relationExists(db.client, 'auth.users')).toBe(true);
    const after = await authSnapshot(db.client);
    expect(after.functions).toEqual(before.functions);
    expect(after.columns).toEqual(before.columns);
    expect(after.indexes).toEqual(before.indexes);
    expect(after.schemaComment).toBeNull();
  });

  test('up again succeeds on top of the kept auth schema', async () => {
    await up(db);
    expect(await appliedVersions(db.client)).toEqual(migrationVersions());
    expect(await relationExists(db.client, 'public.projects')).toBe(true);
    expect((await authSnapshot(db.client)).functions).toEqual(before.functions);
    await expectSecuredSchema(db.client);
  });
});
