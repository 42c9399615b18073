import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const SEED_FILE = path.resolve(__dirname, '..', '..', 'db', 'seed.sql');

/** Applies the demo data, as the owner; the script itself makes a second run a no-op. */
export async function seedDemoData(ownerUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(readFileSync(SEED_FILE, 'utf8'));
  } finally {
    await client.end();
  }
}
