// npm run load:pgbouncer (after npm run build; needs a `pgbouncer` binary, e.g. Debian's package)
//
// The production shape on one machine: PostgreSQL, PgBouncer in transaction mode
// in front of it, two built API instances (node dist/main.js) and a worker
// (node dist/cli/worker.js), all started at once so that the migrations run under
// their shared lock. Then mixed load as users of two organizations, each request
// to either instance; every answer is checked for rows of the other organization.
// Prints what it saw and exits non-zero on any error or cross-tenant row.
//
// Settings (environment):
//   LOAD_DATABASE_URL   a superuser URL of an empty database to use (default: an embedded PostgreSQL in a temporary folder)
//   LOAD_SECONDS        how long the load runs (20)
//   LOAD_CONCURRENCY    requests in flight at once (16)
//   LOAD_APP_DIR        the folder holding dist/, database/, openapi/ (this checkout; e.g. a production install)
//   PGBOUNCER_BIN       the pgbouncer binary (pgbouncer on PATH)
//   LOAD_DIRECT=true    requests straight to PostgreSQL instead (the same load, for comparison)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freeLoopbackPort, startEmbeddedDatabase } from '../src/db/embedded';
import { mintToken } from '../src/auth/demo-users';

const root = path.resolve(__dirname, '..');
const appDir = path.resolve(process.env.LOAD_APP_DIR ?? root);
const seconds = Number(process.env.LOAD_SECONDS ?? 20);
const concurrency = Number(process.env.LOAD_CONCURRENCY ?? 16);
const bouncerBin = process.env.PGBOUNCER_BIN ?? 'pgbouncer';

/**
 * PgBouncer carries protocol-level prepared statements through transaction
 * pooling from 1.21 (max_prepared_statements); an older one (Debian 12 ships
 * 1.18) would send a statement to a server connection that never prepared it.
 */
function bouncerCarriesPreparedStatements(): boolean {
  const version = /PgBouncer (\d+)\.(\d+)/.exec(execFileSync(bouncerBin, ['--version']).toString());
  return version !== null && (Number(version[1]) > 1 || Number(version[2]) >= 21);
}
const preparedStatements = bouncerCarriesPreparedStatements();
const direct = process.env.LOAD_DIRECT === 'true';

const work = mkdtempSync(path.join(os.tmpdir(), 'pgbouncer-load-'));
const children: ChildProcess[] = [];
const asRoot = process.getuid?.() === 0;
// PgBouncer refuses to run as root: as root, it runs as the postgres user (as the embedded PostgreSQL does).
const postgresIds = asRoot
  ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) }
  : {};

function withDatabase(url: string, changes: { user?: string; password?: string; host?: string; port?: number }): string {
  const parsed = new URL(url);
  if (changes.user !== undefined) parsed.username = encodeURIComponent(changes.user);
  if (changes.password !== undefined) parsed.password = encodeURIComponent(changes.password);
  if (changes.host !== undefined) parsed.hostname = changes.host;
  if (changes.port !== undefined) parsed.port = String(changes.port);
  return parsed.toString();
}

/**
 * The login role, made before any migration as an operator would (deploy/postgres-init
 * does the same for compose): the request roles exist ahead of 000/008/014, which
 * create only what is missing, so the instances can connect as soon as they migrated.
 */
async function prepareLoginRole(ownerUrl: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(`do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
      if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
      if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
      if not exists (select 1 from pg_roles where rolname = 'account_keeper') then create role account_keeper nologin noinherit; end if;
      if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator noinherit nologin; end if;
    end $$`);
    await client.query(`alter role authenticator with login noinherit password ${pg.escapeLiteral(password)}`);
    await client.query('grant authenticated, service_role, account_keeper to authenticator');
  } finally {
    await client.end();
  }
}

async function startPgBouncer(target: URL, password: string): Promise<number> {
  const port = await freeLoopbackPort();
  const dir = path.join(work, 'pgbouncer');
  rmSync(dir, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', dir]);
  const ini = [
    '[databases]',
    `app = host=${target.hostname} port=${target.port || 5432} dbname=${target.pathname.slice(1)}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'pool_mode = transaction',
    'auth_type = scram-sha-256',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    'max_client_conn = 500',
    'default_pool_size = 20',
    `logfile = ${path.join(dir, 'pgbouncer.log')}`,
    // node-postgres sends no startup parameter PgBouncer would refuse; say so explicitly for other clients.
    'ignore_startup_parameters = extra_float_digits',
    ...(preparedStatements ? ['max_prepared_statements = 200'] : []),
  ].join('\n');
  writeFileSync(path.join(dir, 'pgbouncer.ini'), `${ini}\n`);
  writeFileSync(path.join(dir, 'userlist.txt'), `"authenticator" "${password}"\n`, { mode: 0o600 });
  if (asRoot) {
    chmodSync(work, 0o755);
    for (const file of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(path.join(dir, file), postgresIds.uid!, postgresIds.gid!);
  }
  const child = spawn(bouncerBin, [path.join(dir, 'pgbouncer.ini')], { ...postgresIds, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('exit', (code) => {
    if (!stopping) console.error(`pgbouncer exited (${code}):\n${output}`);
  });
  // Ready when it accepts connections.
  for (let tries = 0; tries < 50; tries += 1) {
    const probe = new pg.Client({ connectionString: `postgres://authenticator:${encodeURIComponent(password)}@127.0.0.1:${port}/app` });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.query('select 1');
      await probe.end();
      return port;
    } catch {
      await probe.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`pgbouncer did not accept connections:\n${output}`);
}

interface Started {
  name: string;
  child: ChildProcess;
  output: () => string;
  baseUrl?: string;
}

/** What a process said: the message of each JSON log line (a production install writes JSON), or the line as it is. */
function messagesOf(output: string): string {
  return output
    .split('\n')
    .map((line) => {
      try {
        const message = (JSON.parse(line) as { msg?: unknown }).msg;
        return typeof message === 'string' ? message : line;
      } catch {
        return line;
      }
    })
    .join('\n');
}

function startProcess(name: string, script: string, env: NodeJS.ProcessEnv, readyPattern: RegExp): Promise<Started> {
  const child = spawn(process.execPath, [path.join(appDir, script)], { cwd: appDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = readyPattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ name, child, output: () => output, baseUrl: match[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!stopping) reject(new Error(`${name} exited (${code}):\n${output}`));
    });
  });
}

// ---- the load ----

interface User {
  email: string;
  token: string;
  organization: string;
}

const tally = {
  requests: 0,
  errors: 0,
  crossTenantRows: 0,
  byKind: new Map<string, number>(),
  latencies: [] as number[],
  firstErrors: [] as string[],
};

function error(message: string): void {
  tally.errors += 1;
  if (tally.firstErrors.length < 10) tally.firstErrors.push(message);
}

async function call(base: string, user: User, method: string, pathname: string, body?: unknown): Promise<{ status: number; json: any }> {
  const started = performance.now();
  tally.requests += 1;
  const response = await fetch(`${base}/api/v1${pathname}`, {
    method,
    headers: {
      Authorization: `Bearer ${user.token}`,
      'X-Organization-Id': user.organization,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  tally.latencies.push(performance.now() - started);
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** Every organizationId in an answer, anywhere in it. */
function organizationsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) organizationsIn(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'organizationId' && typeof inner === 'string') found.push(inner);
      else organizationsIn(inner, found);
    }
  }
  return found;
}

function checkTenancy(kind: string, user: User, json: unknown): void {
  const foreign = organizationsIn(json).filter((id) => id !== user.organization);
  if (foreign.length > 0) {
    tally.crossTenantRows += foreign.length;
    if (tally.firstErrors.length < 10) tally.firstErrors.push(`${kind} as ${user.email}: rows of ${foreign.join(', ')}`);
  }
}

async function main(): Promise<void> {
  if (!existsSync(path.join(appDir, 'dist', 'main.js'))) throw new Error(`${appDir}/dist/main.js is missing: run npm run build first`);

  let ownerUrl = process.env.LOAD_DATABASE_URL;
  if (!ownerUrl) {
    const embedded = await startEmbeddedDatabase({ dataDir: path.join(work, 'data') });
    ownerUrl = embedded.url;
    stopDatabase = embedded.stop;
  }
  const loginPassword = randomBytes(18).toString('hex');
  await prepareLoginRole(ownerUrl, loginPassword);
  const bouncerPort = await startPgBouncer(new URL(ownerUrl), loginPassword);
  const jwtSecret = randomBytes(32).toString('hex');

  const env: NodeJS.ProcessEnv = {
    // Requests through PgBouncer (transaction mode) as the login role; migrations directly as the owner.
    DATABASE_URL: direct
      ? withDatabase(ownerUrl, { user: 'authenticator', password: loginPassword })
      : withDatabase(`postgres://authenticator@127.0.0.1/app`, { password: loginPassword, port: bouncerPort }),
    MIGRATION_DATABASE_URL: ownerUrl,
    DATABASE_CA_FILE: '',
    SUPABASE_JWT_SECRET: jwtSecret,
    SECRETS_ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
    SEED_DEMO_DATA: 'false',
    MIGRATE_ON_START: 'true',
    QUOTAS_ENABLED: 'false',
    // The load sends far more than a person would: the per-user burst limit would answer 429.
    SESSION_RATE_PER_SECOND: '100000',
    SESSION_BURST: '1000000',
    EXECUTION_WORKER_INTERVAL_MS: '200',
    DB_PREPARED_STATEMENTS: direct || preparedStatements ? '200' : '0',
    // Thousands of requests: their lines would only fill this script's memory; failures are still logged.
    LOG_REQUESTS: 'false',
    DATA_DIR: path.join(work, 'app-data'),
    HOST: '127.0.0.1',
    PORT: '0',
  };
  const apiReady = /API\s+(http:\/\/\S+?)\/api\/v1/;
  const [apiA, apiB, worker] = await Promise.all([
    startProcess('api-1', 'dist/main.js', { ...env, BACKGROUND_WORK: 'false' }, apiReady),
    startProcess('api-2', 'dist/main.js', { ...env, BACKGROUND_WORK: 'false' }, apiReady),
    startProcess('worker', 'dist/cli/worker.js', env, /Worker\s+running/),
  ]);
  const started = [apiA!, apiB!, worker!];
  const migrationLines = started.map((s) => `${s.name}: ${/^Migrations .*$/m.exec(messagesOf(s.output()))?.[0] ?? '(no migration line)'}`);
  const migratedBy = started.filter((s) => /^Migrations applied/m.test(messagesOf(s.output()))).length;
  const bases = [apiA!.baseUrl!, apiB!.baseUrl!];

  // Two organizations, two people each: an owner (their personal organization) and a member added by them.
  const token = (email: string) => mintToken(email, { secret: jwtSecret, role: 'authenticated', ttlSeconds: 3600 });
  const users: User[] = [];
  for (const org of ['alpha', 'beta']) {
    const ownerEmail = `owner@${org}.test`;
    const memberEmail = `member@${org}.test`;
    const ownerMe = await fetch(`${bases[0]}/api/v1/me`, { headers: { Authorization: `Bearer ${token(ownerEmail)}` } }).then((r) => r.json() as Promise<any>);
    await fetch(`${bases[1]}/api/v1/me`, { headers: { Authorization: `Bearer ${token(memberEmail)}` } });
    const organization = ownerMe.defaultOrganizationId as string;
    const owner: User = { email: ownerEmail, token: token(ownerEmail), organization };
    const added = await call(bases[0]!, owner, 'POST', `/organizations/${organization}/members`, { email: memberEmail, role: 'member' });
    if (added.status !== 201) throw new Error(`adding ${memberEmail}: ${added.status} ${JSON.stringify(added.json)}`);
    users.push(owner, { email: memberEmail, token: token(memberEmail), organization });
  }
  const projectsOf = new Map<string, string[]>(users.map((u) => [u.organization, []]));
  const skillsOf = new Map<string, string[]>(users.map((u) => [u.organization, []]));
  const otherOrganization = (user: User) => users.find((u) => u.organization !== user.organization)!.organization;

  const kinds: Array<(user: User, base: string, n: number) => Promise<void>> = [
    async (user, base, n) => {
      const res = await call(base, user, 'POST', '/projects', { name: `Load ${user.email.split('@')[0]} ${n}`, type: 'repository' });
      if (res.status !== 201) return error(`create project: ${res.status} ${JSON.stringify(res.json)}`);
      checkTenancy('create project', user, res.json);
      projectsOf.get(user.organization)!.push(res.json.id);
    },
    async (user, base) => {
      const res = await call(base, user, 'GET', '/projects?pageSize=50');
      if (res.status !== 200) return error(`list projects: ${res.status}`);
      checkTenancy('list projects', user, res.json);
    },
    async (user, base) => {
      // Someone else's project: must be a 404, exactly like one that does not exist.
      const theirs = projectsOf.get(otherOrganization(user))!;
      if (theirs.length === 0) return;
      const res = await call(base, user, 'GET', `/projects/${theirs[Math.floor(Math.random() * theirs.length)]}`);
      if (res.status === 200) {
        tally.crossTenantRows += 1;
        if (tally.firstErrors.length < 10) tally.firstErrors.push(`${user.email} read a project of the other organization`);
      } else if (res.status !== 404) error(`foreign project: ${res.status}`);
    },
    async (user, base, n) => {
      const skills = skillsOf.get(user.organization)!;
      if (skills.length < 3) {
        const res = await call(base, user, 'POST', '/skills', { name: `Load skill ${user.email} ${n}`, promptTemplate: 'Summarize {{text}}', inputSchema: [{ name: 'text', type: 'string', required: true }] });
        if (res.status !== 201) return error(`create skill: ${res.status} ${JSON.stringify(res.json)}`);
        skills.push(res.json.id);
        return;
      }
      const res = await call(base, user, 'POST', `/skills/${skills[n % skills.length]}/execute`, { input: { text: `load ${n}` } });
      if (res.status !== 202 && res.status !== 200) return error(`execute: ${res.status} ${JSON.stringify(res.json)}`);
      checkTenancy('execute', user, res.json);
    },
    async (user, base) => {
      const res = await call(base, user, 'GET', '/executions?pageSize=50');
      if (res.status !== 200) return error(`list executions: ${res.status}`);
      checkTenancy('list executions', user, res.json);
    },
  ];

  const until = Date.now() + seconds * 1000;
  let counter = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (Date.now() < until) {
        const n = (counter += 1);
        const user = users[n % users.length]!;
        const kind = (n * 7 + lane) % kinds.length;
        const name = ['create project', 'list projects', 'foreign project', 'skill/execute', 'list executions'][kind]!;
        tally.byKind.set(name, (tally.byKind.get(name) ?? 0) + 1);
        try {
          await kinds[kind]!(user, bases[n % 2]!, n);
        } catch (failure) {
          error(`${name}: ${String(failure)}`);
        }
      }
    }),
  );

  // The worker (through PgBouncer too) drains the queue: every execution ends.
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  let pending = -1;
  for (let waited = 0; waited < 60_000; waited += 500) {
    pending = Number((await owner.query("select count(*) as n from public.skill_executions where status in ('pending', 'running')")).rows[0].n);
    if (pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const byStatus = (await owner.query<{ status: string; n: string }>('select status, count(*) as n from public.skill_executions group by status order by status')).rows;
  await owner.end();

  const sorted = [...tally.latencies].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(1) : '-');
  console.log(`\n== ${direct ? 'Direct' : 'PgBouncer'} load (${direct ? 'no pooler' : 'transaction mode'}; 2 API instances, 1 worker, built server)`);
  for (const line of migrationLines) console.log(`migrations  ${line}`);
  console.log(`migrated by ${migratedBy} process(es)`);
  console.log(`duration    ${seconds} s, ${concurrency} in flight, ${users.length} users in 2 organizations`);
  console.log(`requests    ${tally.requests} (${Math.round(tally.requests / seconds)}/s), p50 ${pct(50)} ms, p99 ${pct(99)} ms`);
  console.log(`by kind     ${[...tally.byKind].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`executions  ${byStatus.map((r) => `${r.status} ${r.n}`).join(', ')}; still pending or running: ${pending}`);
  console.log(`errors      ${tally.errors}`);
  console.log(`cross-tenant rows ${tally.crossTenantRows}`);
  for (const line of tally.firstErrors) console.log(`  ${line}`);

  stopping = true;
  await Promise.all(started.map((s) => stopChild(s.child)));
  const failed = tally.errors > 0 || tally.crossTenantRows > 0 || migratedBy !== 1 || pending !== 0;
  process.exitCode = failed ? 1 : 0;
}

let stopping = false;
let stopDatabase = async (): Promise<void> => undefined;

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

main()
  .catch((failure: unknown) => {
    console.error(failure instanceof Error ? failure.message : failure);
    process.exitCode = 1;
  })
  .finally(async () => {
    stopping = true;
    await Promise.all(children.map(stopChild));
    await stopDatabase().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });
