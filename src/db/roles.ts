import pg from 'pg';

/**
 * The role the API logs in as (database/008_least_privilege.sql): it can do
 * nothing but SET ROLE to authenticated or service_role, as PostgREST's
 * authenticator does on Supabase.
 */
export const LOGIN_ROLE = 'authenticator';

/** What the request connection's login role could do if a request escaped its SET ROLE. */
export interface LoginRoleRights {
  name: string;
  superuser: boolean;
  bypassesRowLevelSecurity: boolean;
  /** Owns the schema the migrations made (and so every table and function in it). */
  ownsSchema: boolean;
}

export async function loginRoleRights(pool: pg.Pool): Promise<LoginRoleRights> {
  const result = await pool.query<{ name: string; superuser: boolean; bypass: boolean; owns: boolean }>(
    `select r.rolname as name, r.rolsuper as superuser, r.rolbypassrls as bypass,
            coalesce((select n.nspowner = r.oid from pg_catalog.pg_namespace n where n.nspname = 'app'), false) as owns
     from pg_catalog.pg_roles r where r.rolname = session_user`,
  );
  const row = result.rows[0]!;
  return { name: row.name, superuser: row.superuser, bypassesRowLevelSecurity: row.bypass, ownsSchema: row.owns };
}

/** Why a login role is too powerful to serve requests, or null when it is fine. */
export function privilegedReason(rights: LoginRoleRights): string | null {
  if (rights.superuser) return `${rights.name} is a superuser`;
  if (rights.bypassesRowLevelSecurity) return `${rights.name} bypasses row level security`;
  if (rights.ownsSchema) return `${rights.name} owns the schema (tables and functions)`;
  return null;
}

/**
 * Lets the login role log in with `password` (the embedded database and the
 * tests own their server; on Supabase or any managed server an operator does
 * this once, see SECURITY.md). Needs the owner's or a superuser's connection,
 * after the migrations made the role.
 */
export async function enableLogin(ownerUrl: string, role: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_catalog.pg_roles where rolname = $1', [role]);
    if (found.rowCount === 0) {
      await client.query(`create role ${pg.escapeIdentifier(role)} noinherit`);
      await client.query(`grant authenticated, service_role to ${pg.escapeIdentifier(role)}`);
    }
    await client.query(`alter role ${pg.escapeIdentifier(role)} with login noinherit password ${pg.escapeLiteral(password)}`);
    // Local accounts (database/014): the login role switches into account_keeper for signing in.
    const keeper = await client.query("select 1 from pg_catalog.pg_roles where rolname = 'account_keeper'");
    if (keeper.rowCount !== 0) await client.query(`grant account_keeper to ${pg.escapeIdentifier(role)}`);
  } finally {
    await client.end();
  }
}

/** The same server and database as `url`, logged in as another role. */
export function urlAs(url: string, role: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/**
 * Applies the deployment's settings that only the owner may change
 * (app.deployment_settings): whether plan quotas refuse past their limits.
 */
export async function applyDeploymentSettings(ownerUrl: string, settings: { quotasEnforced: boolean }): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(
      'update app.deployment_settings set quotas_enforced = $1, updated_at = now() where quotas_enforced is distinct from $1',
      [settings.quotasEnforced],
    );
  } finally {
    await client.end();
  }
}
