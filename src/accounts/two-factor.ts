import type { Identity } from '../auth/caller';
import type { components } from '../generated/openapi';
import type { RequestBody } from '../http/route';
import { problems } from '../problems';
import { withAccountKeeper, type KeeperTransaction } from './keeper';
import { accountHolder, answerVerified, reserveAttempt, startVerifiedSession, type AccountsDeps, type AuthSession, type Client } from './operations';
import { verifyPassword } from './passwords';
import { invalidChallenge, wrongCode, wrongPassword, wrongSignInCode } from './problems';
import { asTotpCode, BACKUP_CODE_COUNT, failureKeys, manualEntryKey, newBackupCode, normalizeBackupCode } from './rules';
import {
  ACCOUNT_BY_USER,
  CHALLENGE,
  CONFIRM_FACTOR,
  DROP_BACKUP_CODES,
  DROP_FACTOR,
  FACTOR_OF_USER,
  INSERT_BACKUP_CODES,
  RELEASE_ATTEMPT,
  START_ENROLMENT,
  USE_BACKUP_CODE,
  USE_CHALLENGE,
  USE_TOTP_STEP,
  type AccountRow,
  type ChallengeRow,
  type FactorRow,
} from './sql';
import { sha256 } from './tokens';
import { acceptedStep, enrolment, newTotpSecret } from './totp';

export type TwoFactorStatus = components['schemas']['TwoFactorStatus'];
export type TwoFactorSetupData = components['schemas']['TwoFactorSetupData'];
export type TwoFactorConfirmation = components['schemas']['TwoFactorConfirmation'];

function statusOf(factor: FactorRow | undefined): TwoFactorStatus {
  if (!factor?.confirmed_at) return { isEnabled: false };
  return { isEnabled: true, enabledAt: factor.confirmed_at, backupCodesRemaining: factor.backup_codes_left };
}

/** What a TOTP secret is sealed for: its user's factor, and no other. */
export const totpSecretContext = (userId: string): string => `totp-secret:${userId.toLowerCase()}`;

/** The user's factor with its secret opened (sealed at rest; see db/secret-box.ts). */
async function factorOf(tx: KeeperTransaction, deps: Pick<AccountsDeps, 'secrets'>, userId: string): Promise<FactorRow | undefined> {
  const factor = (await tx.query<FactorRow>(FACTOR_OF_USER, [userId])).rows[0];
  return factor && { ...factor, secret: deps.secrets.open(factor.secret, totpSecretContext(userId)) };
}

async function accountOf(tx: KeeperTransaction, userId: string): Promise<AccountRow> {
  const account = (await tx.query<AccountRow>(ACCOUNT_BY_USER, [userId])).rows[0];
  if (!account) throw problems.conflict('Two-factor authentication is for accounts that sign in with a password (POST /api/v1/auth/signup).');
  return account;
}

/**
 * Takes a code of the user's factor: a current TOTP code newer than the last
 * one accepted, or an unused backup code (used up here). Which kind it was, or
 * null when it is neither.
 */
async function takeCode(tx: KeeperTransaction, userId: string, factor: FactorRow, code: string): Promise<'totp' | 'recovery' | null> {
  const totp = asTotpCode(code);
  if (totp) {
    const step = acceptedStep(factor.secret, totp, factor.last_used_step);
    if (step === null) return null;
    return (await tx.query(USE_TOTP_STEP, [userId, step])).rowCount === 1 ? 'totp' : null;
  }
  const used = await tx.query(USE_BACKUP_CODE, [userId, sha256(normalizeBackupCode(code))]);
  return used.rowCount === 1 ? 'recovery' : null;
}

export async function twoFactorStatus(deps: AccountsDeps, identity: Identity): Promise<TwoFactorStatus> {
  const userId = accountHolder(identity);
  return withAccountKeeper(deps, async (tx) => statusOf(await factorOf(tx, deps, userId)));
}

export async function enrollTwoFactor(deps: AccountsDeps, identity: Identity): Promise<TwoFactorSetupData> {
  const userId = accountHolder(identity);
  const secret = newTotpSecret();
  const email = await withAccountKeeper(deps, async (tx) => {
    const account = await accountOf(tx, userId);
    const started = await tx.query(START_ENROLMENT, [userId, deps.secrets.seal(secret, totpSecretContext(userId))]);
    if (started.rowCount === 0) throw problems.conflict('Two-factor authentication is already on; turn it off before enrolling a new authenticator.');
    return account.email;
  });
  return { secret, manualEntryKey: manualEntryKey(secret), ...(await enrolment(secret, email)) };
}

export async function confirmTwoFactor(deps: AccountsDeps, identity: Identity, body: RequestBody<'confirmTwoFactor'>): Promise<TwoFactorConfirmation> {
  const userId = accountHolder(identity);
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
  const outcome = await withAccountKeeper(deps, async (tx) => {
    const factor = await factorOf(tx, deps, userId);
    if (!factor) throw problems.conflict('Start with POST /api/v1/auth/2fa/enroll.');
    if (factor.confirmed_at) throw problems.conflict('Two-factor authentication is already on.');
    const totp = asTotpCode(body.code);
    const step = totp ? acceptedStep(factor.secret, totp, factor.last_used_step) : null;
    if (step === null) return null;
    const confirmedAt = (await tx.query<{ confirmed_at: string }>(CONFIRM_FACTOR, [userId, step])).rows[0]!.confirmed_at;
    await tx.query(DROP_BACKUP_CODES, [userId]);
    await tx.query(INSERT_BACKUP_CODES, [userId, codes.map((code) => sha256(normalizeBackupCode(code)))]);
    return confirmedAt;
  });
  if (outcome === null) throw wrongCode();
  return {
    status: { isEnabled: true, enabledAt: outcome, backupCodesRemaining: codes.length },
    backupCodes: codes.map((code) => ({ code, isUsed: false })),
  };
}

export async function disableTwoFactor(deps: AccountsDeps, identity: Identity, body: RequestBody<'disableTwoFactor'>): Promise<TwoFactorStatus> {
  const userId = accountHolder(identity);
  const account = await withAccountKeeper(deps, async (tx) => {
    const found = await accountOf(tx, userId);
    if (!statusOf(await factorOf(tx, deps, userId)).isEnabled) throw problems.conflict('Two-factor authentication is not on.');
    return found;
  });
  if (!(await verifyPassword(account.password_hash, body.password))) throw wrongPassword();
  const taken = await withAccountKeeper(deps, async (tx) => {
    const factor = await factorOf(tx, deps, userId);
    if (!factor?.confirmed_at) throw problems.conflict('Two-factor authentication is not on.');
    if (!(await takeCode(tx, userId, factor, body.code))) return false;
    await tx.query(DROP_BACKUP_CODES, [userId]);
    await tx.query(DROP_FACTOR, [userId]);
    return true;
  });
  if (!taken) throw wrongCode();
  return { isEnabled: false };
}

type Verification =
  | { ok: false }
  | { ok: true; account: AccountRow; session: Awaited<ReturnType<typeof startVerifiedSession>>['session']; amr: Awaited<ReturnType<typeof startVerifiedSession>>['amr'] };

/** The second step of a sign-in: the challenge of the first, and a code. A wrong code counts as a failed sign-in. */
export async function verifyChallenge(deps: AccountsDeps, body: RequestBody<'verifyMfaChallenge'>, client: Client): Promise<AuthSession> {
  const challengeHash = sha256(body.challenge_token);
  const outcome = await withAccountKeeper<Verification>(deps, async (tx) => {
    const challenge = (await tx.query<ChallengeRow>(CHALLENGE, [challengeHash])).rows[0];
    if (!challenge?.usable) throw invalidChallenge();
    const account = (await tx.query<AccountRow>(ACCOUNT_BY_USER, [challenge.user_id])).rows[0];
    const factor = await factorOf(tx, deps, challenge.user_id);
    if (!account || !factor?.confirmed_at) throw invalidChallenge();
    const reservation = await reserveAttempt(tx, failureKeys(account.email, client.ip));
    const method = await takeCode(tx, account.user_id, factor, body.code);
    // Committed either way: a wrong code stays counted.
    if (!method) return { ok: false };
    await tx.query(RELEASE_ATTEMPT, [reservation]);
    await tx.query(USE_CHALLENGE, [challengeHash]);
    return { ok: true, account, ...(await startVerifiedSession(tx, deps, account, method, client)) };
  }, client);
  if (!outcome.ok) throw wrongSignInCode();
  return answerVerified(deps, outcome.account, outcome.session, outcome.amr);
}
