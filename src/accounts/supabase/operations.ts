import type { AuthError, Session, User } from '@supabase/supabase-js';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { withAccountKeeper, type Client, type KeeperDeps } from '../keeper';
import { checkedEmail, countSignUp, decodeOwnClaims, reserveAttempt, signUpProfile, userOfToken, type AuthSession, type AuthUser } from '../operations';
import { invalidChallenge, invalidCredentials, invalidRefreshToken, MfaRequired, wrongSignInCode } from '../problems';
import { failureKeys, isUsableName, MFA_CHALLENGE_TTL_SECONDS, objectClaim, splitName } from '../rules';
import { RELEASE_ATTEMPT } from '../sql';
import { newSecret, sha256 } from '../tokens';
import { recordFailedSignIn, recordSessionEvent } from './audit';
import { newFlow, problemOf, STORAGE_KEY, unexpected, type Flow, type SupabaseSettings } from './client';
import { open, seal } from './sealed';
import { DROP_PENDING, INSERT_PENDING, PENDING, type PendingKind, type PendingRow } from './sql';

export interface SupabaseDeps extends KeeperDeps {
  settings: SupabaseSettings;
}

export type SignUpPending = { user: AuthUser; email_confirmation_required: true; confirmation_sent_at?: string; message: string };
export type SignUpOutcome = { kind: 'session'; session: AuthSession } | { kind: 'pending'; pending: SignUpPending };

/** What supabase-js answers: data, or an AuthError; a throw (not an AuthError) is unexpected. */
export async function call<R>(work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (error) {
    throw unexpected(error);
  }
}


/** A session of Supabase Auth in our AuthSession shape, its user described as local mode describes one. */
export async function answerSession(deps: SupabaseDeps, session: Session, fullNameAtSignUp?: string | null): Promise<AuthSession> {
  const user = await userOfToken(deps, decodeOwnClaims(session.access_token), fullNameAtSignUp ?? providerName(session.user));
  return {
    access_token: session.access_token,
    token_type: 'bearer',
    expires_in: session.expires_in,
    expires_at: session.expires_at ?? Math.floor(Date.now() / 1000) + session.expires_in,
    refresh_token: session.refresh_token,
    user,
  };
}

/**
 * The name an OAuth provider gave (GitHub and Google put it in user_metadata
 * as full_name or name): the profile takes it when it has none yet.
 */
function providerName(user: User | undefined): string | null {
  const metadata = objectClaim(user?.user_metadata);
  const name = [metadata.full_name, metadata.name].find((value): value is string => typeof value === 'string' && isUsableName(value) && value.trim() !== '');
  return name ? name.trim().slice(0, 200) : null;
}

/** A user Supabase Auth created without a session yet (no token: no organization to name). */
function pendingUser(user: User, email: string): AuthUser {
  const userMetadata = objectClaim(user.user_metadata);
  const names = splitName(userMetadata, typeof userMetadata.full_name === 'string' ? userMetadata.full_name : null);
  return {
    id: user.id,
    aud: user.aud || 'authenticated',
    role: user.role || 'authenticated',
    email: user.email ?? email,
    phone: user.phone ?? '',
    app_metadata: objectClaim(user.app_metadata),
    user_metadata: userMetadata,
    is_anonymous: user.is_anonymous === true,
    created_at: user.created_at,
    first_name: names.first,
    last_name: names.last,
    org_id: null,
    roles: [],
  };
}

// ---- pending sign-ins (database/019): sealed with the token the client holds ----

export async function keepPendingSignIn(deps: SupabaseDeps, kind: PendingKind, token: string, payload: unknown, ttlSeconds: number, client?: Client, release?: number[]) {
  await withAccountKeeper(deps, async (tx) => {
    if (release) await tx.query(RELEASE_ATTEMPT, [release]);
    await tx.query(INSERT_PENDING, [sha256(token), kind, seal(token, payload), ttlSeconds]);
  }, client);
}

export async function readPendingSignIn<T>(deps: SupabaseDeps, kind: PendingKind, token: string): Promise<T | null> {
  const row = await withAccountKeeper(deps, async (tx) => (await tx.query<PendingRow>(PENDING, [sha256(token), kind])).rows[0]);
  return row ? open<T>(token, row.sealed) : null;
}

/** True for the one caller that used it up (a second use of one token finds nothing). */
export async function usePendingSignIn(deps: SupabaseDeps, token: string, client?: Client, release?: number[]): Promise<boolean> {
  return withAccountKeeper(deps, async (tx) => {
    if (release) await tx.query(RELEASE_ATTEMPT, [release]);
    return ((await tx.query(DROP_PENDING, [sha256(token)])).rowCount ?? 0) === 1;
  }, client);
}

// ---- signing up and in ----

const isTaken = (error: AuthError) => ['user_already_exists', 'email_exists'].includes(error.code ?? '') || /already (been )?registered/i.test(error.message);

export async function signUp(deps: SupabaseDeps, body: RequestBody<'signUp'>, client: Client): Promise<SignUpOutcome> {
  const { email, name, userMetadata } = signUpProfile(body);
  await countSignUp(deps, client);
  const flow = newFlow(deps.settings);
  const { data, error } = await call(() => flow.auth.signUp({ email, password: body.password, options: { data: userMetadata } }));
  if (error) {
    throw problemOf(error, flow, () => {
      if (isTaken(error)) {
        return problems.conflict('An account with this email address already exists.', [{ path: '/body/email', message: 'is taken', code: 'unique' }]).because('email_taken');
      }
      const field = error.code === 'weak_password' ? '/body/password' : /email/i.test(error.code ?? error.message) ? '/body/email' : '/body';
      return problems.validation(`Supabase Auth refused the sign-up: ${error.message}`, [{ path: field, message: error.message }]);
    });
  }
  if (data.session) return { kind: 'session', session: await answerSession(deps, data.session, name) };
  if (!data.user) throw unexpected(new Error('a sign-up answered neither a session nor a user'));
  return {
    kind: 'pending',
    pending: {
      user: pendingUser(data.user, email),
      email_confirmation_required: true,
      ...(data.user.confirmation_sent_at ? { confirmation_sent_at: data.user.confirmation_sent_at } : {}),
      message: `A confirmation email was sent to ${email}: follow its link, then sign in.`,
    },
  };
}

interface MfaPending {
  email: string;
  session: Session;
}

export async function signIn(deps: SupabaseDeps, body: RequestBody<'signIn'>, client: Client): Promise<AuthSession> {
  const email = checkedEmail(body.email);
  // Our own limit stands in front of Supabase's: counted here, per email and IP, on every instance.
  const reservation = await withAccountKeeper(deps, (tx) => reserveAttempt(tx, failureKeys(email, client.ip)), client);
  const release = () => withAccountKeeper(deps, (tx) => tx.query(RELEASE_ATTEMPT, [reservation]), client);
  const flow = newFlow(deps.settings);
  let signedIn: Awaited<ReturnType<typeof flow.auth.signInWithPassword>>;
  try {
    signedIn = await flow.auth.signInWithPassword({ email, password: body.password });
  } catch (error) {
    await release();
    throw unexpected(error);
  }
  const { data, error } = signedIn;
  if (error || !data.session) {
    // Older Supabase Auth servers give no code, only the message.
    if (error && (error.code === 'email_not_confirmed' || /email not confirmed/i.test(error.message))) {
      await release();
      throw problems.forbidden('This email address is not confirmed yet: follow the link in the confirmation email, then sign in.');
    }
    // A wrong password stays counted; Supabase being down or limiting is not the caller's failure.
    const problem = error ? problemOf(error, flow, invalidCredentials) : invalidCredentials();
    if (problem.code !== 'invalid_credentials') await release();
    else await recordFailedSignIn(deps, client, email);
    throw problem;
  }
  const session = data.session;
  const level = await call(() => flow.auth.mfa.getAuthenticatorAssuranceLevel(session.access_token));
  if (level.error || !level.data) {
    await release();
    throw problemOf(level.error!, flow, () => problems.unavailable('Supabase Auth did not say whether this account needs a second factor.'));
  }
  if (level.data.nextLevel === 'aal2' && level.data.currentLevel !== 'aal2') {
    // The aal1 session waits for the code, sealed in the database (any instance can finish the sign-in).
    const challenge = newSecret('mfa');
    await keepPendingSignIn(deps, 'mfa', challenge, { email, session } satisfies MfaPending, MFA_CHALLENGE_TTL_SECONDS, client, reservation);
    throw new MfaRequired(challenge, MFA_CHALLENGE_TTL_SECONDS);
  }
  await release();
  return signedInAs(deps, session, client);
}

/** The session in our shape (provisioning a new user), then its sign-in in the audit log of their organizations. */
export async function signedInAs(deps: SupabaseDeps, session: Session, client: Client | undefined, details: Record<string, unknown> = {}): Promise<AuthSession> {
  const answered = await answerSession(deps, session);
  await recordSessionEvent(deps, client, 'user.login', decodeOwnClaims(session.access_token), details);
  return answered;
}

/** The second step: the sealed aal1 session runs Supabase's challenge and verify of its TOTP factor. */
export async function verifyChallenge(deps: SupabaseDeps, body: RequestBody<'verifyMfaChallenge'>, client: Client): Promise<AuthSession> {
  const pending = await readPendingSignIn<MfaPending>(deps, 'mfa', body.challenge_token);
  if (!pending) throw invalidChallenge();
  const reservation = await withAccountKeeper(deps, (tx) => reserveAttempt(tx, failureKeys(pending.email, client.ip)), client);
  const flow = flowWithSession(deps.settings, pending.session);
  const factors = await call(() => flow.auth.mfa.listFactors());
  const factor = factors.data?.totp[0];
  if (factors.error || !factor) {
    await withAccountKeeper(deps, (tx) => tx.query(RELEASE_ATTEMPT, [reservation]), client);
    throw factors.error ? problemOf(factors.error, flow, invalidChallenge) : invalidChallenge();
  }
  const verified = await call(() => flow.auth.mfa.challengeAndVerify({ factorId: factor.id, code: body.code.replace(/\s/g, '') }));
  if (verified.error) {
    const problem = problemOf(verified.error, flow, wrongSignInCode);
    // A wrong code stays counted, as a wrong password does.
    if (problem.code !== 'invalid_mfa_code') await withAccountKeeper(deps, (tx) => tx.query(RELEASE_ATTEMPT, [reservation]), client);
    throw problem;
  }
  if (!(await usePendingSignIn(deps, body.challenge_token, client, reservation))) throw invalidChallenge();
  const upgraded = await call(() => flow.auth.getSession());
  if (!upgraded.data.session) throw unexpected(new Error('the verified session is missing'));
  return signedInAs(deps, upgraded.data.session, client);
}

export async function refreshSession(deps: SupabaseDeps, body: RequestBody<'refreshSession'>): Promise<AuthSession> {
  const flow = newFlow(deps.settings);
  const { data, error } = await call(() => flow.auth.refreshSession({ refresh_token: body.refresh_token }));
  // Supabase answers a reused token as an invalid one (and revokes the family itself).
  if (error) throw problemOf(error, flow, invalidRefreshToken);
  if (!data.session) throw invalidRefreshToken();
  return answerSession(deps, data.session);
}

/** A flow holding a whole session of Supabase Auth (refresh token included). */
export function flowWithSession(settings: SupabaseSettings, session: Session): Flow {
  return newFlow(settings, 'implicit', { [STORAGE_KEY]: JSON.stringify(session) });
}

