import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { runDbmate } from '../../src/db/migrations';
import { applyDeploymentSettings, enableLogin, urlAs } from '../../src/db/roles';

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
  // Most suites are not about quotas: the Free plan's one seat would stand in
  // their way. Quota suites get a database of their own with quotas on.
  await applyDeploymentSettings(url.toString(), { quotasEnforced: false });

  // The app logs in as production does: a role of its own with no privileges,
  // allowed to SET ROLE to the request roles. One per run, since roles are
  // shared by every database on the server.
  const loginRole = `${database}_login`;
  const loginPassword = randomBytes(18).toString('hex');
  await enableLogin(url.toString(), loginRole, loginPassword);

  process.env.TEST_DATABASE_URL = url.toString();
  process.env.TEST_APP_DATABASE_URL = urlAs(url.toString(), loginRole, loginPassword);
  process.env.TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.TEST_JWT_SECRET = randomBytes(32).toString('hex');
  // The one key every app of the run seals secrets at rest with (they share the database).
  process.env.TEST_SECRETS_ENCRYPTION_KEYS = randomBytes(32).toString('base64');
  (globalThis as Record<string, unknown>).__testDatabase = { adminUrl, database, loginRole };
}
