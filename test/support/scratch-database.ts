import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A brand-new, empty database on the test server, for tests that migrate from nothing. */
export interface ScratchDatabase {
  name: string;
  url: string;
  /** A client connected to it as the server's superuser. */
  client: pg.Client;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL;
  if (!url) throw new Error('TEST_ADMIN_DATABASE_URL is not set; run through jest (global setup)');
  return url;
}

async function asAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

export async function createScratchDatabase(prefix = 'mig'): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await asAdmin((admin) => admin.query(`create database ${name}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    name,
    url: url.toString(),
    client,
    drop: async () => {
      await client.end().catch(() => undefined);
      // Roles are cluster-wide and shared with the other test databases: only the database goes.
      await asAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}
