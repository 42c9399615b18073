import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { runDbmate } from '../../src/db/migrations';

/**
 * One real PostgreSQL for the whole run: DATABASE_URL's server when set (a
 * fresh database is created on it, the given one is never touched), otherwise
 * an embedded server in a temporary folder.
 */
export default async function globalSetup(): Promise<void> {
  const given = process.env.DATABASE_URL;
  let serverUrl: string;
  if (given) {
    serverUrl = given;
  } else {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'api-test-'));
    const embedded = await startEmbeddedDatabase({ dataDir });
    (globalThis as Record<string, unknown>).__embeddedDatabase = { ...embedded, dataDir };
    serverUrl = embedded.url;
  }

  const database = `api_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();

  const url = new URL(serverUrl);
  const adminUrl = url.toString();
  url.pathname = `/${database}`;
  await runDbmate(url.toString(), ['up', '--strict'], { quiet: true });

  process.env.TEST_DATABASE_URL = url.toString();
  process.env.TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.TEST_JWT_SECRET = randomBytes(32).toString('hex');
  (globalThis as Record<string, unknown>).__testDatabase = { adminUrl, database };
}
