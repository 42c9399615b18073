import { rmSync } from 'node:fs';
import pg from 'pg';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis as Record<string, unknown>;
  const embedded = state.__embeddedDatabase as { stop(): Promise<void>; dataDir: string } | undefined;
  const created = state.__testDatabase as { adminUrl: string; database: string; loginRole: string } | undefined;
  if (embedded) {
    await embedded.stop();
    rmSync(embedded.dataDir, { recursive: true, force: true });
    return;
  }
  if (created) {
    // On an external server, leave nothing behind.
    const admin = new pg.Client({ connectionString: created.adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${created.database} with (force)`);
    await admin.query(`drop role if exists ${created.loginRole}`);
    await admin.end();
  }
}
