import type { Identity } from '../auth/caller';
import { identityFromClaims } from '../auth/identity';
import type { TokenClaims } from '../auth/jwt';
import type { SecretBox } from '../db/secret-box';
import { withRequestTransaction, type RequestTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery } from '../http/route';
import { problems, type Problem } from '../problems';
import { withAccountKeeper, type Client, type KeeperDeps, type KeeperTransaction } from './keeper';
import type { SessionLiveness } from './liveness';
import { hashPassword, verifyPassword } from './passwords';
import { invalidCredentials, invalidRefreshToken, MfaRequired, refreshTokenReused, tooManyFailures, tooManySignUps } from './problems';
import {
  deviceFromUserAgent,
  failureKeys,
  fullName,
  isUsableEmail,
  isUsableName,
  MFA_CHALLENGE_TTL_SECONDS,
  objectClaim,
  normalizeEmail,
  retryAfterSeconds,
  signUpKeys,
  SIGN_IN_FAILURES_ALLOWED,
  SIGN_IN_WINDOW_SECONDS,
  splitName,
  uuidClaim,
} from './rules';
import type { AccountsSettings } from './settings';
import {
  ACCOUNT_BY_EMAIL,
  EMAIL_IN_USE,
  END_OTHER_SESSIONS,
  END_OWN_SESSION,
  INSERT_CHALLENGE,
  INSERT_CREDENTIAL,
  INSERT_REFRESH_TOKEN,
  INSERT_SESSION,
  INSERT_USER,
  LIVE_SESSIONS_OF_USER,
  LOCK_FAILURE_KEYS,
  PROFILE_NAME,
  PURGE_OLD_FAILURES,
  RECORD_FAILED_SIGN_IN,
  RECENT_FAILURES,
  REFRESH_TOKEN,
  RELEASE_ATTEMPT,
  RESERVE_ATTEMPT,
  REVOKE_SESSION,
  SET_PROFILE_NAME,
  TOUCH_SESSION,
  USE_REFRESH_TOKEN,
  type AccountRow,
  type FailureCountRow,
  type ProfileNameRow,
  type RefreshRow,
  type SessionRow,
} from './sql';
import { mintAccessToken, newSecret, sha256 } from './tokens';

export type AuthSession = components['schemas']['AuthSession'];
export type AuthUser = components['schemas']['AuthUser'];
export type UserSession = components['schemas']['UserSession'];
export type LocalSettings = Extract<AccountsSettings, { mode: 'local' }>;

export interface AccountsDeps extends KeeperDeps {
  settings: LocalSettings;
  liveness: SessionLiveness;
  /** Seals TOTP secrets at rest. */
  secrets: SecretBox;
}

export type { Client };

type Amr = Array<{ method: string; timestamp: number }>;

// ---- the brute-force limit ----

/**
 * Counts the attempt as failed before it is checked, so that concurrent
 * attempts cannot all slip under the limit (advisory locks per key serialize
 * the count); a success takes its rows back. Refused (429) when an email or
 * IP already has SIGN_IN_FAILURES_ALLOWED failures in the window.
 */
export async function reserveAttempt(tx: KeeperTransaction, keys: string[], refusal: (retryAfterSeconds: number) => Problem = tooManyFailures): Promise<number[]> {
  if (keys.length === 0) return [];
  await tx.query(LOCK_FAILURE_KEYS, [keys]);
  const counts = await tx.query<FailureCountRow>(RECENT_FAILURES, [keys, SIGN_IN_WINDOW_SECONDS]);
  const blocked = counts.rows.filter((row) => row.failures >= SIGN_IN_FAILURES_ALLOWED);
  if (blocked.length > 0) {
    const wait = Math.max(...blocked.map((row) => retryAfterSeconds(row.oldest_ms, Date.now())));
    throw refusal(wait);
  }
  if (Math.random() < 0.05) await tx.query(PURGE_OLD_FAILURES);
  return (await tx.query<{ id: number }>(RESERVE_ATTEMPT, [keys])).rows.map((row) => row.id);
}

/** A sign-up, counted for its address before any argon2 work (429 past the limit); never handed back. */
export async function countSignUp(deps: KeeperDeps, client: Client): Promise<void> {
  await withAccountKeeper(deps, (tx) => reserveAttempt(tx, signUpKeys(client.ip), tooManySignUps), client);
}

// ---- sessions and tokens ----

interface NewSession {
  sessionId: string;
  refreshToken: string;
}

async function insertSession(tx: KeeperTransaction, deps: AccountsDeps, userId: string, aal: 'aal1' | 'aal2', amr: Amr, client: Client): Promise<NewSession> {
  const sessionId = (await tx.query<{ id: string }>(INSERT_SESSION, [userId, aal, JSON.stringify(amr), client.ip ?? null, client.userAgent])).rows[0]!.id;
  const refreshToken = newSecret('rt');
  await tx.query(INSERT_REFRESH_TOKEN, [sha256(refreshToken), sessionId, deps.settings.refreshTokenTtlDays]);
  return { sessionId, refreshToken };
}

interface SessionOwner {
  userId: string;
  email: string;
  userMetadata: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
}

/** The tokens of a session, and its user as the frontend reads one (provisioned on the way, like any first request). */
async function answer(deps: AccountsDeps, owner: SessionOwner, session: NewSession, aal: 'aal1' | 'aal2', amr: Amr, fullNameAtSignUp?: string | null): Promise<AuthSession> {
  const { settings } = deps;
  const minted = mintAccessToken(
    { userId: owner.userId, email: owner.email, userMetadata: owner.userMetadata, appMetadata: owner.appMetadata, sessionId: session.sessionId, aal, amr },
    { jwtSecret: settings.jwtSecret, issuer: settings.issuer, ttlSeconds: settings.accessTokenTtlSeconds },
  );
  const user = await userOfToken(deps, decodeOwnClaims(minted.token), fullNameAtSignUp);
  return {
    access_token: minted.token,
    token_type: 'bearer',
    expires_in: minted.expiresIn,
    expires_at: minted.expiresAt,
    refresh_token: session.refreshToken,
    user,
  };
}

/**
 * The user of a session just issued, as the frontend reads one (provisioned on
 * the way, like any first request); the name given at sign-up goes into the profile.
 */
export function userOfToken(deps: KeeperDeps, claims: TokenClaims, fullNameAtSignUp?: string | null): Promise<AuthUser> {
  const identity = identityFromClaims(claims);
  return withRequestTransaction(deps.pool, identity, { statementTimeoutMs: deps.statementTimeoutMs, meterApiCall: false }, async (tx) => {
    if (fullNameAtSignUp) await tx.query(SET_PROFILE_NAME, [identity.userId, fullNameAtSignUp]);
    return describeUser(tx);
  });
}

/** The claims of a token this process just signed, or Supabase Auth just issued to it (no need to verify the signature). */
export function decodeOwnClaims(token: string): TokenClaims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as TokenClaims;
}


/** The caller as GoTrue describes a user, with the frontend's first_name, last_name, org_id and roles. */
export async function describeUser(tx: RequestTransaction): Promise<AuthUser> {
  const { claims, userId, email } = tx.identity;
  if (!userId || !email) throw problems.forbidden('This operation is for signed-in users, not service tokens.');
  const profile = (await tx.query<ProfileNameRow>(PROFILE_NAME, [userId])).rows[0];
  const userMetadata = objectClaim(claims.user_metadata);
  const names = splitName(userMetadata, profile?.full_name ?? null);
  return {
    id: userId,
    aud: 'authenticated',
    role: 'authenticated',
    email,
    phone: typeof claims.phone === 'string' ? claims.phone : '',
    app_metadata: objectClaim(claims.app_metadata),
    user_metadata: userMetadata,
    is_anonymous: claims.is_anonymous === true,
    created_at: profile?.created_at ?? new Date().toISOString(),
    first_name: names.first,
    last_name: names.last,
    org_id: tx.organizationId,
    roles: tx.organizationRole ? [tx.organizationRole] : [],
  };
}

const ownerOf = (account: Pick<AccountRow, 'user_id' | 'email' | 'raw_user_meta_data' | 'raw_app_meta_data'>): SessionOwner => ({
  userId: account.user_id,
  email: account.email,
  userMetadata: account.raw_user_meta_data ?? {},
  appMetadata: account.raw_app_meta_data ?? {},
});

export function checkedEmail(raw: string): string {
  const email = normalizeEmail(raw);
  if (!isUsableEmail(email)) throw problems.validation('Give a valid email address.', [{ path: '/body/email', message: 'is not a valid email address', code: 'format' }]);
  return email;
}

// ---- the operations ----

/** What a sign-up gives the new account besides its password: checked email, name and user metadata. */
export function signUpProfile(body: RequestBody<'signUp'>) {
  const email = checkedEmail(body.email);
  for (const field of ['first_name', 'last_name'] as const) {
    const value = body[field];
    if (value !== undefined && !isUsableName(value)) {
      throw problems.validation('A name may not hold control characters.', [{ path: `/body/${field}`, message: 'holds control characters or broken text' }]);
    }
  }
  const name = fullName(body.first_name, body.last_name);
  const userMetadata = {
    ...(body.first_name !== undefined ? { first_name: body.first_name.trim() } : {}),
    ...(body.last_name !== undefined ? { last_name: body.last_name.trim() } : {}),
    ...(name ? { full_name: name } : {}),
  };
  return { email, name, userMetadata };
}

export async function signUp(deps: AccountsDeps, body: RequestBody<'signUp'>, client: Client): Promise<AuthSession> {
  const { email, name, userMetadata } = signUpProfile(body);
  const appMetadata = { provider: 'email', providers: ['email'] };
  await countSignUp(deps, client);
  const passwordHash = await hashPassword(body.password);
  const amr: Amr = [{ method: 'password', timestamp: Math.floor(Date.now() / 1000) }];
  const { userId, session } = await withAccountKeeper(deps, async (tx) => {
    const taken = (await tx.query<{ taken: boolean }>(EMAIL_IN_USE, [email])).rows[0]!.taken;
    if (taken) {
      throw problems.conflict('An account with this email address already exists.', [{ path: '/body/email', message: 'is taken', code: 'unique' }]).because('email_taken');
    }
    const id = (await tx.query<{ id: string }>(INSERT_USER, [email, userMetadata, appMetadata])).rows[0]!.id;
    await tx.query(INSERT_CREDENTIAL, [id, email, passwordHash]);
    return { userId: id, session: await insertSession(tx, deps, id, 'aal1', amr, client) };
  }, client);
  return answer(deps, { userId, email, userMetadata, appMetadata }, session, 'aal1', amr, name);
}

export async function signIn(deps: AccountsDeps, body: RequestBody<'signIn'>, client: Client): Promise<AuthSession> {
  const email = checkedEmail(body.email);
  const { reservation, account } = await withAccountKeeper(deps, async (tx) => ({
    reservation: await reserveAttempt(tx, failureKeys(email, client.ip)),
    account: (await tx.query<AccountRow>(ACCOUNT_BY_EMAIL, [email])).rows[0] ?? null,
  }), client);
  // The same argon2 work with or without an account: the answer's timing tells nothing.
  const matches = await verifyPassword(account?.password_hash ?? null, body.password);
  if (!matches || !account) {
    // The audit log's entry, in the same one round trip whether or not the
    // account exists (without one it records nothing), so this step tells nothing either.
    await withAccountKeeper(deps, (tx) => tx.query(RECORD_FAILED_SIGN_IN, [email]), client);
    throw invalidCredentials();
  }

  if (account.mfa_enabled) {
    const challenge = newSecret('mfa');
    await withAccountKeeper(deps, async (tx) => {
      await tx.query(RELEASE_ATTEMPT, [reservation]);
      await tx.query(INSERT_CHALLENGE, [sha256(challenge), account.user_id, MFA_CHALLENGE_TTL_SECONDS]);
    }, client);
    throw new MfaRequired(challenge, MFA_CHALLENGE_TTL_SECONDS);
  }
  const amr: Amr = [{ method: 'password', timestamp: Math.floor(Date.now() / 1000) }];
  const session = await withAccountKeeper(deps, async (tx) => {
    await tx.query(RELEASE_ATTEMPT, [reservation]);
    return insertSession(tx, deps, account.user_id, 'aal1', amr, client);
  }, client);
  return answer(deps, ownerOf(account), session, 'aal1', amr);
}

/** A session at aal2, after a second factor (two-factor.ts checks the code, in the same transaction). */
export async function startVerifiedSession(tx: KeeperTransaction, deps: AccountsDeps, account: AccountRow, method: 'totp' | 'recovery', client: Client) {
  const now = Math.floor(Date.now() / 1000);
  const amr: Amr = [
    { method, timestamp: now },
    { method: 'password', timestamp: now },
  ];
  return { session: await insertSession(tx, deps, account.user_id, 'aal2', amr, client), amr };
}

export function answerVerified(deps: AccountsDeps, account: AccountRow, session: NewSession, amr: Amr): Promise<AuthSession> {
  return answer(deps, ownerOf(account), session, 'aal2', amr);
}

type Rotation = { kind: 'invalid' } | { kind: 'reused'; sessionId: string } | { kind: 'rotated'; row: RefreshRow; next: string };

export async function refreshSession(deps: AccountsDeps, body: RequestBody<'refreshSession'>, client: Client): Promise<AuthSession> {
  const presented = sha256(body.refresh_token);
  const outcome = await withAccountKeeper<Rotation>(deps, async (tx) => {
    const row = (await tx.query<RefreshRow>(REFRESH_TOKEN, [presented])).rows[0];
    if (!row || row.expired || row.revoked) return { kind: 'invalid' };
    if (row.used) {
      // Someone holds a copy of a rotated token: end the session (and with it every token of the family).
      await tx.query(REVOKE_SESSION, [row.session_id, 'refresh_token_reused']);
      return { kind: 'reused', sessionId: row.session_id };
    }
    await tx.query(USE_REFRESH_TOKEN, [presented]);
    const next = newSecret('rt');
    await tx.query(INSERT_REFRESH_TOKEN, [sha256(next), row.session_id, deps.settings.refreshTokenTtlDays]);
    await tx.query(TOUCH_SESSION, [row.session_id, client.ip ?? null, client.userAgent]);
    return { kind: 'rotated', row, next };
  }, client);
  if (outcome.kind === 'invalid') throw invalidRefreshToken();
  if (outcome.kind === 'reused') {
    deps.liveness.ended(outcome.sessionId);
    throw refreshTokenReused();
  }
  const { row, next } = outcome;
  return answer(deps, ownerOf(row), { sessionId: row.session_id, refreshToken: next }, row.aal, row.amr);
}

export function sessionOf(identity: Identity): string | null {
  return uuidClaim(identity.claims.session_id);
}

/**
 * The person signed in, for the operations on their own account (sessions,
 * two-factor): never a service token, and never an API key, which acts for
 * its creator in an organization but is not them.
 */
export function accountHolder(identity: Identity): string {
  if (!identity.userId || identity.apiKey) throw problems.forbidden('This operation is for signed-in users, not service tokens or API keys.');
  return identity.userId;
}

export async function signOut(deps: AccountsDeps, identity: Identity, client: Client): Promise<void> {
  const userId = accountHolder(identity);
  const sessionId = sessionOf(identity);
  // A token minted without a session (npm run token) has nothing to end.
  if (!sessionId) return;
  await withAccountKeeper(deps, (tx) => tx.query(END_OWN_SESSION, [sessionId, userId, 'logout']), client);
  deps.liveness.ended(sessionId);
}

export async function listSessions(deps: AccountsDeps, identity: Identity, query: RequestQuery<'listSessions'>): Promise<Page<UserSession>> {
  const userId = accountHolder(identity);
  const current = sessionOf(identity);
  return withAccountKeeper(deps, (tx) =>
    paginate<SessionRow, UserSession>(
      tx,
      {
        select: 's.id, s.ip_address, s.user_agent, s.created_at, s.last_active_at',
        fromWhere: LIVE_SESSIONS_OF_USER,
        params: [userId, deps.settings.refreshTokenTtlDays],
        orderBy: 's.last_active_at desc, s.id',
        page: pageRequest(query),
      },
      (row) => userSessionOf(row, current),
    ),
  );
}

/** A session row in the frontend's UserSession shape; `current` is the caller's own session id. */
export function userSessionOf(row: SessionRow, current: string | null): UserSession {
  return {
    id: row.id,
    deviceInfo: deviceFromUserAgent(row.user_agent),
    ipAddress: row.ip_address ?? '',
    location: {},
    lastActive: row.last_active_at,
    createdAt: row.created_at,
    isCurrent: row.id === current,
  };
}

export async function endSession(deps: AccountsDeps, identity: Identity, sessionId: string, client: Client): Promise<void> {
  const userId = accountHolder(identity);
  const ended = await withAccountKeeper(deps, (tx) => tx.query(END_OWN_SESSION, [sessionId, userId, 'ended']), client);
  if (ended.rowCount === 0) throw problems.notFound('You have no such session, or it has already ended.');
  deps.liveness.ended(sessionId.toLowerCase());
}

export async function endOtherSessions(deps: AccountsDeps, identity: Identity, client: Client): Promise<{ endedCount: number }> {
  const userId = accountHolder(identity);
  const ended = await withAccountKeeper(deps, (tx) => tx.query<{ id: string }>(END_OTHER_SESSIONS, [userId, sessionOf(identity)]), client);
  for (const row of ended.rows) deps.liveness.ended(row.id);
  return { endedCount: ended.rowCount ?? 0 };
}
