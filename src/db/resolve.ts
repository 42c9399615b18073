import path from 'node:path';
import type { Config } from '../config';
import { readOrCreateSecret, startEmbeddedDatabase } from './embedded';
import { enableLogin, LOGIN_ROLE, urlAs } from './roles';

export interface DatabaseHandle {
  /** The owner's connection: migrations, demo data, deployment settings. Never used for requests. */
  ownerUrl: string;
  /** The connection requests and workers use (the login role of 008_least_privilege). */
  requestUrl(): Promise<string>;
  embedded: boolean;
  stop(): Promise<void>;
}

/**
 * DATABASE_URL (requests) and MIGRATION_DATABASE_URL (owner; DATABASE_URL when
 * absent) when given; otherwise an embedded PostgreSQL kept in DATA_DIR.
 */
export async function resolveDatabase(config: Config): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const requestUrl = config.databaseUrl;
    return {
      ownerUrl: config.migrationDatabaseUrl ?? requestUrl,
      requestUrl: async () => requestUrl,
      embedded: false,
      stop: async () => undefined,
    };
  }
  const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, port: config.embeddedDbPort });
  return { ...embeddedHandle(config.dataDir, embedded.url), stop: embedded.stop };
}

/**
 * An embedded database's handles: it owns its server, so it gives the login
 * role a password of its own (kept beside the data) once the migrations have
 * made the role.
 */
export function embeddedHandle(dataDir: string, ownerUrl: string): Omit<DatabaseHandle, 'stop'> {
  return {
    ownerUrl,
    embedded: true,
    requestUrl: async () => {
      const password = await readOrCreateSecret(path.join(dataDir, `${LOGIN_ROLE}-password`));
      await enableLogin(ownerUrl, LOGIN_ROLE, password);
      return urlAs(ownerUrl, LOGIN_ROLE, password);
    },
  };
}
