/**
 * Who may do what to whose rows, for every tenant table of schema public, as
 * the database itself decides (row level security and grants; no handler in
 * between). test/rls-matrix.test.ts runs every line against the real
 * database, so a change to a policy or a grant that changes an outcome fails
 * there until this table says so.
 *
 * Each table has one row under test in organization A, created by A's owner
 * (for profiles: a colleague's profile; for organization_members: a
 * colleague's membership; for skill_stars and skill_ratings: the owner's star
 * and rating of a public skill of A, which anyone of any organization may
 * star and rate for themselves; for skill_listings: that skill's entry in the
 * public catalogue, which everyone reads and only the database writes; for
 * idempotency_keys: the owner's record of a project created with an
 * Idempotency-Key, which only its caller reads; for activity_events: the event
 * announcing the execution under test, which only triggers write; for
 * webhook_deliveries: a delivery to the webhook endpoint under test, which
 * only the back office writes; for notifications: one of the owner's, which
 * only triggers write and only its person reads; for notification_preferences:
 * the owner's own, which each person makes for themselves). The actors, in a
 * session opened as the API opens one:
 *   owner     the owner of A, acting in A
 *   member    a plain member of A who did not create the row, acting in A
 *   outsider  the owner of organization B, acting in B, reaching for A's row
 *   service   service_role (back office), naming A in X-Organization-Id
 * and the verbs: select the row; insert a new row into A (as themselves where
 * the row has an author); update the row (a column the API writes, set to
 * itself); delete the row.
 *
 * Outcomes:
 *   sees       select: the row is visible
 *   sees-none  select: allowed, but the row is not among the results
 *   allowed    insert: the row goes in; update, delete: the row changes
 *   hidden     update, delete: allowed, but the row is not theirs to touch (0 rows)
 *   refused    insert, update: a policy's check (or a guard trigger) refuses the row
 *   denied     the role has no grant for this verb on this table at all
 */
export const ACTORS = ['owner', 'member', 'outsider', 'service'] as const;
export type Actor = (typeof ACTORS)[number];
export const VERBS = ['select', 'insert', 'update', 'delete'] as const;
export type Verb = (typeof VERBS)[number];
export const OUTCOMES = ['sees', 'sees-none', 'allowed', 'hidden', 'refused', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Which outcomes a verb can have. */
export const OUTCOMES_OF: Record<Verb, readonly Outcome[]> = {
  select: ['sees', 'sees-none', 'denied'],
  insert: ['allowed', 'refused', 'denied'],
  update: ['allowed', 'hidden', 'refused', 'denied'],
  delete: ['allowed', 'hidden', 'denied'],
};

// A line without a table name continues the table above it.
const MATRIX = `
table                      actor     select     insert   update   delete

organizations              owner     sees       denied   allowed  denied
                           member    sees       denied   hidden   denied
                           outsider  sees-none  denied   hidden   denied
                           service   sees       allowed  allowed  allowed

profiles                   owner     sees       denied   hidden   denied
                           member    sees       denied   hidden   denied
                           outsider  sees-none  denied   hidden   denied
                           service   sees       allowed  allowed  allowed

organization_members       owner     sees       denied   allowed  allowed
                           member    sees       denied   hidden   hidden
                           outsider  sees-none  denied   hidden   hidden
                           service   sees       allowed  allowed  allowed

projects                   owner     sees       allowed  allowed  allowed
                           member    sees       allowed  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

project_members            owner     sees       allowed  allowed  allowed
                           member    sees       refused  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

project_repositories       owner     sees       allowed  allowed  allowed
                           member    sees       refused  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

project_invitations        owner     sees       allowed  allowed  allowed
                           member    sees-none  refused  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

ingestion_progress         owner     sees       allowed  denied   denied
                           member    sees       refused  denied   denied
                           outsider  sees-none  refused  denied   denied
                           service   sees       allowed  allowed  allowed

project_files              owner     sees       allowed  denied   allowed
                           member    sees       refused  denied   hidden
                           outsider  sees-none  refused  denied   hidden
                           service   sees       allowed  allowed  allowed

skills                     owner     sees       allowed  allowed  allowed
                           member    sees       allowed  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

habits                     owner     sees       allowed  allowed  allowed
                           member    sees       allowed  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

reflexes                   owner     sees       allowed  allowed  allowed
                           member    sees       allowed  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

reflex_secrets             owner     denied     denied   denied   denied
                           member    denied     denied   denied   denied
                           outsider  denied     denied   denied   denied
                           service   sees       allowed  allowed  allowed

reflex_webhook_deliveries  owner     denied     denied   denied   denied
                           member    denied     denied   denied   denied
                           outsider  denied     denied   denied   denied
                           service   sees       allowed  allowed  allowed

skill_executions           owner     sees       allowed  allowed  denied
                           member    sees       allowed  hidden   denied
                           outsider  sees-none  refused  hidden   denied
                           service   sees       allowed  allowed  allowed

activity_events            owner     sees       denied   denied   denied
                           member    sees       denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       denied   denied   allowed

notifications              owner     sees       denied   allowed  allowed
                           member    sees-none  denied   hidden   hidden
                           outsider  sees-none  denied   hidden   hidden
                           service   sees       denied   denied   denied

notification_preferences   owner     sees       allowed  allowed  denied
                           member    sees-none  allowed  hidden   denied
                           outsider  sees-none  allowed  hidden   denied
                           service   sees       denied   denied   denied

skill_stars                owner     sees       allowed  denied   allowed
                           member    sees-none  allowed  denied   hidden
                           outsider  sees-none  allowed  denied   hidden
                           service   sees       allowed  allowed  allowed

skill_listings             owner     sees       denied   denied   denied
                           member    sees       denied   denied   denied
                           outsider  sees       denied   denied   denied
                           service   sees       denied   denied   denied

skill_ratings              owner     sees       allowed  allowed  allowed
                           member    sees-none  allowed  hidden   hidden
                           outsider  sees-none  allowed  hidden   hidden
                           service   sees       allowed  allowed  allowed

subscriptions              owner     sees       denied   allowed  denied
                           member    sees       denied   hidden   denied
                           outsider  sees-none  denied   hidden   denied
                           service   sees       allowed  allowed  allowed

payment_methods            owner     sees       allowed  allowed  allowed
                           member    sees-none  refused  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

billing_details            owner     sees       allowed  allowed  denied
                           member    sees-none  refused  hidden   denied
                           outsider  sees-none  refused  hidden   denied
                           service   sees       allowed  allowed  allowed

invoices                   owner     sees       denied   denied   denied
                           member    sees-none  denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       allowed  allowed  allowed

invoice_lines              owner     sees       denied   denied   denied
                           member    sees-none  denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       allowed  allowed  allowed

usage_counters             owner     sees       denied   denied   denied
                           member    sees       denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       allowed  allowed  allowed

usage_daily                owner     sees       denied   denied   denied
                           member    sees       denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       allowed  allowed  allowed

api_keys                   owner     sees       allowed  allowed  denied
                           member    sees-none  refused  hidden   denied
                           outsider  sees-none  refused  hidden   denied
                           service   sees       allowed  allowed  allowed

webhook_endpoints          owner     sees       allowed  allowed  allowed
                           member    sees-none  refused  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed

webhook_deliveries         owner     sees       denied   denied   denied
                           member    sees-none  denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       allowed  allowed  allowed

analytics_events           owner     denied     allowed  denied   denied
                           member    denied     allowed  denied   denied
                           outsider  denied     refused  denied   denied
                           service   denied     denied   denied   denied

idempotency_keys           owner     sees       denied   denied   denied
                           member    sees-none  denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       denied   allowed  allowed

audit_log                  owner     sees       denied   denied   denied
                           member    sees-none  denied   denied   denied
                           outsider  sees-none  denied   denied   denied
                           service   sees       denied   denied   denied

audit_saved_filters        owner     sees       allowed  allowed  allowed
                           member    sees-none  refused  hidden   hidden
                           outsider  sees-none  refused  hidden   hidden
                           service   sees       allowed  allowed  allowed
`;

/**
 * Tables of schema public that belong to no tenant, with the reason. Signed-in
 * users may at most read them; the test checks that they cannot write them.
 */
export const NOT_TENANT_TABLES: Record<string, string> = {
  plans: 'the public price list, the same for everyone',
  invoice_number_counters: 'the last invoice number of each year, shared by all invoices',
  payment_provider_events: "the payment provider's events already applied, written by its webhook",
  schema_migrations: "the migration tool's own bookkeeping",
};

/**
 * Tables of schema app (never exposed by a Data API) that no request role may
 * touch at all: neither authenticated nor service_role has a grant, so not
 * even a service_role key reads them. test/data-api-security.test.ts tries
 * every verb on each as both roles, and fails on a table of schema app missing
 * here.
 */
export const PRIVATE_TABLES: Record<string, string> = {
  deployment_settings: 'whether plan quotas refuse; only the owner changes it',
  password_credentials: 'argon2id password hashes of local accounts; only account_keeper signs in with them',
  auth_sessions: 'sign-in sessions of local accounts (IP, user agent); account_keeper',
  refresh_tokens: 'sha256 hashes of refresh tokens; account_keeper',
  sign_in_failures: 'the brute-force window of sign-ins per email and IP; account_keeper',
  mfa_factors: 'TOTP secrets; account_keeper',
  mfa_backup_codes: 'sha256 hashes of two-factor backup codes; account_keeper',
  mfa_challenges: 'sign-ins waiting for their second factor; account_keeper',
  pending_sign_ins: 'Supabase sign-ins between two requests (sealed aal1 sessions, PKCE verifiers); account_keeper',
  execution_turns: 'when each organization last had an execution claimed, the fair claim\'s tie-break; only app.claim_execution',
  stream_tickets: 'sha256 hashes of single-use stream tickets with the claims they stand for; only app.issue_stream_ticket and app.redeem_stream_ticket',
  erased_accounts: 'ids of erased accounts, so that an old token cannot provision one again; only app.erase_current_user and app.provision_current_user',
  mail_outbox: 'queued mail (sealed invitation tokens among it); only the SECURITY DEFINER functions of 029, called by the back office',
};

export interface MatrixRow {
  table: string;
  actor: Actor;
  verb: Verb;
  expected: Outcome;
}

function isOneOf<T extends string>(values: readonly T[], word: string): word is T {
  return (values as readonly string[]).includes(word);
}

/** The table above as rows, refusing anything it does not understand (a typo must not pass as a row). */
export function parseMatrix(text: string): MatrixRow[] {
  const rows: MatrixRow[] = [];
  const seen = new Set<string>();
  let table: string | undefined;
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = lines.shift()!.trim().split(/\s+/);
  if (header.join(' ') !== ['table', 'actor', ...VERBS].join(' ')) throw new Error(`unexpected header: ${header.join(' ')}`);
  for (const line of lines) {
    const words = line.trim().split(/\s+/);
    if (words.length === 6) table = words.shift()!;
    const current = table;
    if (words.length !== 5 || current === undefined) throw new Error(`a line of the matrix has the wrong number of cells: ${line}`);
    const [actor, ...outcomes] = words as [string, ...string[]];
    if (!isOneOf(ACTORS, actor)) throw new Error(`unknown actor ${actor} in: ${line}`);
    if (seen.has(`${current} ${actor}`)) throw new Error(`${current} ${actor} appears twice`);
    seen.add(`${current} ${actor}`);
    VERBS.forEach((verb, i) => {
      const outcome = outcomes[i]!;
      if (!isOneOf(OUTCOMES_OF[verb], outcome)) throw new Error(`${outcome} is not an outcome of ${verb}, in: ${line}`);
      rows.push({ table: current, actor, verb, expected: outcome });
    });
  }
  return rows;
}

export const RLS_MATRIX: MatrixRow[] = parseMatrix(MATRIX);
