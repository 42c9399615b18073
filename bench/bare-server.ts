import http from 'node:http';
import type pg from 'pg';
import type { AddressInfo } from 'node:net';
import { createPool } from '../src/db/pool';
import type { Identity } from '../src/auth/caller';
import { requireOrganization, withRequestTransaction } from '../src/db/transaction';
import { paginate, pageRequest, pageStatement } from '../src/http/pagination';
import { Problem } from '../src/problems';
import { insertProjectSql, PROJECT_BY_ID, projectColumnValues, projectListQuery, toProject, type ProjectRow } from '../src/projects/sql';

export interface BareServer {
  baseUrl: string;
  stop(): Promise<void>;
}

export interface BareOptions {
  databaseUrl: string;
  poolSize: number;
  /** Fixed caller: the bare server verifies no token, which is what the comparison leaves out. */
  identity: Identity;
  statementTimeoutMs: number;
  /** The organization the limit handlers read and write in (they have no caller to resolve it from). */
  organizationId: string;
}

/**
 * The limit: what a handler costs that reads or writes the same rows with no
 * identity at all, in one round trip of the driver's usual extended protocol,
 * as the database owner (a superuser, so row level security does not apply).
 * Paths under /limit.
 */
async function limitHandler(pool: pg.Pool, req: http.IncomingMessage, url: URL, organizationId: string, userId: string): Promise<unknown> {
  if (req.method === 'POST' && url.pathname === '/limit/projects') {
    const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    const { columns, values } = projectColumnValues(body);
    const inserted = await pool.query<ProjectRow>(insertProjectSql(columns), [organizationId, userId, ...values]);
    return toProject(inserted.rows[0]!);
  }
  if (url.pathname === '/limit/projects') {
    const page = pageRequest({ pageSize: Number(url.searchParams.get('pageSize') ?? 20) });
    const statement = pageStatement(projectListQuery(organizationId, {}, page));
    const rows = (await pool.query(statement.text, statement.params)).rows;
    const present = rows.filter((row) => row.__present === true);
    return {
      data: present.slice(0, page.pageSize).map((row) => toProject(row as ProjectRow)),
      total: rows[0]?.__total ?? 0,
      hasMore: present.length > page.pageSize,
    };
  }
  const match = /^\/limit\/projects\/([^/]+)$/.exec(url.pathname);
  if (match) {
    const found = await pool.query<ProjectRow>(PROJECT_BY_ID, [match[1]]);
    if (found.rowCount === 0) throw new Problem(404, 'not-found', 'no such project');
    return toProject(found.rows[0]!);
  }
  throw new Problem(404, 'not-found', 'no such route');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The floor the API is measured against: node:http with no Express, no token
 * check and no contract validation, but the same pool settings, the same RLS
 * transaction and the same SQL as src/projects/routes.ts, so the difference
 * between the two is what the framework layers cost.
 */
export async function startBareServer(options: BareOptions): Promise<BareServer> {
  const pool = createPool(options.databaseUrl, options.poolSize);

  async function handle(req: http.IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://bare');
    if (url.pathname.startsWith('/limit/')) {
      return limitHandler(pool, req, url, options.organizationId, options.identity.userId!);
    }
    const header = req.headers['x-organization-id'];
    const transaction = {
      requestedOrganizationId: typeof header === 'string' && header ? header : undefined,
      statementTimeoutMs: options.statementTimeoutMs,
    };
    if (req.method !== 'GET') throw new Problem(405, 'method-not-allowed', 'GET only');

    if (url.pathname === '/projects') {
      const search = url.searchParams.get('search');
      const page = pageRequest({
        page: Number(url.searchParams.get('page') ?? 1),
        pageSize: Number(url.searchParams.get('pageSize') ?? 20),
      });
      // The list route's own query builder, so both run the same SQL.
      return withRequestTransaction(pool, options.identity, transaction, (tx) =>
        paginate(tx, projectListQuery(requireOrganization(tx), { search: search ?? undefined }, page), toProject),
      );
    }

    const match = /^\/projects\/([^/]+)$/.exec(url.pathname);
    if (match) {
      return withRequestTransaction(pool, options.identity, transaction, async (tx) => {
        requireOrganization(tx);
        // Same statement as the GET /projects/{projectId} route.
        const found = await tx.query<ProjectRow>(PROJECT_BY_ID, [match[1]]);
        if (found.rowCount === 0) throw new Problem(404, 'not-found', 'no such project');
        return toProject(found.rows[0]!);
      });
    }
    throw new Problem(404, 'not-found', 'no such route');
  }

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    handle(req).then(
      (body) => send(req.method === 'POST' ? 201 : 200, body),
      (error: unknown) => {
        if (error instanceof Problem) send(error.status, error.toBody());
        else send(500, { status: 500, detail: error instanceof Error ? error.message : String(error) });
      },
    );
  });
  // Same keep-alive as the API server, so neither side pays for reconnects.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await pool.end();
    },
  };
}
