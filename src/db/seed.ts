import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

export const SEED_FILE = path.resolve(__dirname, '..', '..', 'db', 'seed.sql');

/** Applies the demo data; the script itself makes a second run a no-op. */
export async function seedDemoData(pool: pg.Pool): Promise<void> {
  await pool.query(readFileSync(SEED_FILE, 'utf8'));
}
