import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import request from 'supertest';
import { templateRunner } from '../src/skills/runner/template';
import { addMember, as, createTestApp, expectProblem, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

// GET /executions/export: CSV and JSON, streamed through a cursor. alice owns
// organization A (bob is a member); carol owns B and must export none of A.

let t: TestApp;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let orgA: string;
let orgB: string;
let skill: string;

beforeAll(async () => {
  t = createTestApp({ skills: { runner: templateRunner(), executeWaitMaxMs: 0 } });
  [alice, bob, carol] = await Promise.all([newUser(t.app, 'alice'), newUser(t.app, 'bob'), newUser(t.app, 'carol')]);
  orgA = await newOrganization(t.app, alice, 'Export');
  orgB = await newOrganization(t.app, carol, 'Elsewhere');
  await addMember(t, orgA, bob, 'member');
  skill = (
    await t.admin.query<{ id: string }>(
      `insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, 'Export, "quoted" skill', 'Summarize {{text}} now.') returning id`,
      [orgA, alice.userId],
    )
  ).rows[0]!.id;
});
afterAll(() => t.close());

const api = (user: TestUser, org = orgA) => as(t.app, user, org);

async function insertExecution(org: string, values: { output?: unknown; status?: string; input?: unknown; createdAt?: string; errorMessage?: string } = {}) {
  const row = await t.admin.query<{ id: string }>(
    `insert into public.skill_executions (organization_id, skill_id, user_id, status, input, output, cost_cents, duration_ms, created_at, error_message)
     values ($1, $2, $3, $4::public.execution_status, $5, $6, 0.0150, 120, $7, $8) returning id`,
    [
      org,
      org === orgA ? skill : null,
      org === orgA ? alice.userId : carol.userId,
      values.status ?? 'completed',
      values.input ?? { text: 'x' },
      values.output === undefined ? JSON.stringify('ok') : JSON.stringify(values.output),
      values.createdAt ?? new Date().toISOString(),
      values.errorMessage ?? null,
    ],
  );
  return row.rows[0]!.id;
}

/** A minimal RFC 4180 reader: records of cells, quoted cells may hold commas, quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i += 1;
    } else cell += c;
  }
  if (cell !== '' || record.length > 0) throw new Error('the CSV does not end with CRLF');
  return records;
}

describe('GET /executions/export as CSV', () => {
  let tricky: string;
  let formula: string;
  let plain: string;

  beforeAll(async () => {
    plain = await insertExecution(orgA, { createdAt: '2026-04-01T00:00:00Z' });
    tricky = await insertExecution(orgA, {
      createdAt: '2026-04-02T00:00:00Z',
      output: 'line one\nline "two", with a comma\r\nand CRLF',
      input: { note: 'a,"b"' },
    });
    formula = await insertExecution(orgA, { createdAt: '2026-04-03T00:00:00Z', status: 'failed', output: null, errorMessage: '=HYPERLINK("http://evil","x")' });
  });

  test('a header, one record per execution newest first, RFC 4180 quoting and the formula guard', async () => {
    const res = await api(bob).get('/api/v1/executions/export?format=csv&startDate=2026-04-01T00:00:00Z&endDate=2026-04-03T00:00:00Z').expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="executions-\d{4}-\d\d-\d\d\.csv"$/);
    const records = parseCsv(res.text);
    const header = records[0]!;
    expect(header).toEqual([
      'id', 'skillId', 'skillName', 'userId', 'executionType', 'referenceId', 'status', 'input', 'output', 'outputFormat', 'tokensUsed',
      'promptTokens', 'completionTokens', 'durationMs', 'costCents', 'errorCode', 'errorMessage', 'executedAt', 'startedAt', 'completedAt',
    ]);
    const rows = records.slice(1).map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i]])));
    expect(rows.map((row) => row.id)).toEqual([formula, tricky, plain]);
    expect(rows[1]).toMatchObject({
      skillName: 'Export, "quoted" skill',
      output: 'line one\nline "two", with a comma\r\nand CRLF',
      input: '{"note":"a,\\"b\\""}',
      costCents: '0.0150',
      durationMs: '120',
      executedAt: '2026-04-02T00:00:00.000Z',
      status: 'completed',
      outputFormat: 'markdown',
    });
    expect(rows[0]).toMatchObject({ status: 'failed', errorMessage: `'=HYPERLINK("http://evil","x")`, output: '' });
    // The raw text: quoted, the guard inside the quotes.
    expect(res.text).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
  });

  test('JSON: an array of SkillExecution with their skill, the same filters', async () => {
    const res = await api(alice).get(`/api/v1/executions/export?format=json&skillId=${skill}&from=2026-04-01T00:00:00Z&to=2026-04-03T00:00:00Z`).expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="executions-\d{4}-\d\d-\d\d\.json"$/);
    const body = JSON.parse(res.text);
    expect(body.map((e: { id: string }) => e.id)).toEqual([tricky, plain]);
    expect(body[0]).toMatchObject({ costCents: 0.015, costCentsExact: '0.0150', executedAt: '2026-04-02T00:00:00.000Z', skill: { id: skill } });
    const none = await api(alice).get('/api/v1/executions/export?format=json&status=running&from=2026-04-01T00:00:00Z&to=2026-04-03T00:00:00Z').expect(200);
    expect(JSON.parse(none.text)).toEqual([]);
    const failed = await api(alice).get('/api/v1/executions/export?format=json&status=failed&executionType=manual').expect(200);
    expect(JSON.parse(failed.text).map((e: { id: string }) => e.id)).toContain(formula);
  });

  test('another organization exports none of these; bad input is a 400 before anything is written', async () => {
    const theirs = await insertExecution(orgB);
    const csv = await api(carol, orgB).get('/api/v1/executions/export').expect(200);
    const exported = parseCsv(csv.text).slice(1).map((cells) => cells[0]);
    expect(exported).toEqual([theirs]);
    const json = await api(carol, orgB).get('/api/v1/executions/export?format=json').expect(200);
    expect(JSON.parse(json.text).map((e: { id: string }) => e.id)).toEqual([theirs]);
    expectProblem(await api(carol, orgA).get('/api/v1/executions/export'), 404);
    for (const query of ['format=xml', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'startDate=2026-01-01T00:00:00Z&from=2026-01-01T00:00:00Z', 'skillId=x', 'status=done']) {
      expectProblem(await api(alice).get(`/api/v1/executions/export?${query}`), 400);
    }
    expectProblem(await request(t.app).get('/api/v1/executions/export'), 401);
  });
});

describe('GET /executions/export of 100,000 executions', () => {
  const ROWS = 100_000;
  let org: string;
  let owner: TestUser;

  beforeAll(async () => {
    owner = await newUser(t.app, 'bulk');
    org = await newOrganization(t.app, owner, 'Bulk');
    const bulkSkill = (
      await t.admin.query<{ id: string }>(
        `insert into public.skills (organization_id, user_id, name, prompt_template) values ($1, $2, 'Bulk', 'Summarize {{text}} now.') returning id`,
        [org, owner.userId],
      )
    ).rows[0]!.id;
    // As the owner, with the row triggers (metering, counters) off for this one statement's transaction.
    const client = await t.admin.connect();
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(
        `insert into public.skill_executions (organization_id, skill_id, user_id, status, input, output, output_format, cost_cents,
           duration_ms, tokens_used, created_at, executed_at, completed_at)
         select $1, $2, $3, 'completed', jsonb_build_object('text', 'row ' || g, 'padding', repeat('p', 200)), to_jsonb('output of row ' || g),
           'markdown', 0.0150, g % 1000, 42, now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval,
           now() - (g || ' seconds')::interval + interval '1 second'
         from generate_series(1, $4::int) g`,
        [org, bulkSkill, owner.userId, ROWS],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
  }, 120_000);

  test('every row arrives, and the server holds one batch at a time (live heap bounded)', async () => {
    // The server runs in this process. Garbage is collected at V8's leisure, so
    // what the export keeps alive is measured after a full collection, taken
    // while it streams, as its first bytes arrive and once more as it ends. A full collection of a test
    // process's heap is not free (a worker that has run many suites holds a
    // large one): the next sample waits at least twice as long as the last
    // collection took, so the sampler never takes more than a third of the
    // thread the export runs on.
    v8.setFlagsFromString('--expose-gc');
    const collect = vm.runInNewContext('gc') as () => void;
    collect();
    const baseline = process.memoryUsage();
    let peakLive = baseline.heapUsed;
    let peakRss = baseline.rss;
    let samples = 0;
    let sampler: NodeJS.Timeout | undefined;
    const measure = () => {
      collect();
      const now = process.memoryUsage();
      peakLive = Math.max(peakLive, now.heapUsed);
      peakRss = Math.max(peakRss, now.rss);
      samples += 1;
    };
    const sample = () => {
      const started = Date.now();
      measure();
      sampler = setTimeout(sample, Math.max(250, 2 * (Date.now() - started)));
    };
    sampler = setTimeout(sample, 250);
    let bytes = 0;
    let lines = 0;
    let firstRecord = '';
    try {
      const res = await as(t.app, owner, org)
        .get('/api/v1/executions/export?format=csv')
        .buffer(false)
        .parse((response, done) => {
          // With buffering off, supertest hands the parser the incoming message itself.
          const stream = response as unknown as IncomingMessage;
          // Counts as it reads, keeping nothing: the test's own side must not hold the file either.
          stream.on('data', (chunk: Buffer) => {
            if (bytes === 0) measure();
            bytes += chunk.length;
            if (firstRecord.length < 2000) firstRecord += chunk.toString('utf8', 0, Math.min(chunk.length, 2000));
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
          });
          stream.on('end', () => {
            measure();
            done(null, null);
          });
          stream.on('error', (error) => done(error, null));
        });
      expect(res.status).toBe(200);
    } finally {
      clearTimeout(sampler);
    }
    expect(lines).toBe(ROWS + 1);
    expect(firstRecord.split('\r\n')[1]).toContain('"{""text"":""row 1"",');
    const liveGrowthMb = (peakLive - baseline.heapUsed) / 1e6;
    const rssGrowthMb = (peakRss - baseline.rss) / 1e6;
    const exportedMb = bytes / 1e6;
    console.log(
      `export of ${ROWS} executions: ${exportedMb.toFixed(1)} MB streamed; peak live heap growth ${liveGrowthMb.toFixed(1)} MB ` +
        `(${samples} samples after a full GC), peak RSS growth ${rssGrowthMb.toFixed(1)} MB`,
    );
    expect(samples).toBeGreaterThan(3);
    // Holding the export would keep more than its own size alive in strings and row objects.
    expect(exportedMb).toBeGreaterThan(30);
    expect(liveGrowthMb).toBeLessThan(16);
  }, 180_000);

  test('a client that leaves mid-file ends the export: the cursor\'s transaction rolls back and the connection returns', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const received = await new Promise<number>((resolve, reject) => {
        const req = http.get(
          { host: '127.0.0.1', port, path: '/api/v1/executions/export?format=json', headers: { Authorization: `Bearer ${owner.token}`, 'X-Organization-Id': org } },
          (res) => {
            res.once('data', (chunk: Buffer) => {
              req.destroy();
              resolve(chunk.length);
            });
          },
        );
        req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      });
      expect(received).toBeGreaterThan(0);
      // Nothing of ours stays inside the export's transaction.
      const deadline = Date.now() + 5000;
      let open = 1;
      while (Date.now() < deadline) {
        open = (
          await t.admin.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid() and state in ('active', 'idle in transaction')
               and query ilike '%executions_export%'`,
          )
        ).rows[0]!.n;
        if (open === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(open).toBe(0);
      await as(t.app, owner, org).get('/api/v1/executions/recent?limit=1').expect(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
