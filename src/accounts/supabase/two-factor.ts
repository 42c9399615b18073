import type { Factor } from '@supabase/supabase-js';
import type { Identity } from '../../auth/caller';
import type { TokenClaims } from '../../auth/jwt';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { accountHolder } from '../operations';
import { wrongCode, wrongPassword } from '../problems';
import { manualEntryKey } from '../rules';
import type { TwoFactorConfirmation, TwoFactorSetupData, TwoFactorStatus } from '../two-factor';
import { flowAs, newFlow, problemOf, type Flow } from './client';
import { call, type SupabaseDeps } from './operations';

// Two-factor authentication in Supabase mode: the caller's TOTP factor in
// Supabase Auth, through supabase-js acting with the caller's access token.
// Supabase has no backup codes: the status always says 0 remain.

function callerFlow(deps: SupabaseDeps, identity: Identity, accessToken: string): Flow {
  accountHolder(identity);
  const claims: TokenClaims = identity.claims;
  return flowAs(deps.settings, { access_token: accessToken, expires_at: typeof claims.exp === 'number' ? claims.exp : 0 });
}

/** Supabase refusing the caller's token (ended session, a token it did not issue, one about to expire) is a 401; other refusals a 409. */
const failed = (flow: Flow) => (error: Parameters<typeof problemOf>[0]) =>
  problemOf(error, flow, () =>
    error.name === 'AuthSessionMissingError' || error.status === 401 || error.status === 403
      ? problems.unauthorized('Supabase Auth does not accept this access token (its session has ended, it expires within 90 seconds, or Supabase did not issue it); sign in or refresh first.')
      : problems.conflict(`Supabase Auth refused: ${error.message}`),
  );

async function totpFactors(flow: Flow): Promise<Factor[]> {
  const { data, error } = await call(() => flow.auth.mfa.listFactors());
  if (error || !data) throw failed(flow)(error!);
  return data.all.filter((factor) => factor.factor_type === 'totp');
}

const statusOf = (factors: Factor[]): TwoFactorStatus => {
  const verified = factors.find((factor) => factor.status === 'verified');
  return verified ? { isEnabled: true, enabledAt: new Date(verified.updated_at).toISOString(), backupCodesRemaining: 0 } : { isEnabled: false };
};

export async function twoFactorStatus(deps: SupabaseDeps, identity: Identity, accessToken: string): Promise<TwoFactorStatus> {
  return statusOf(await totpFactors(callerFlow(deps, identity, accessToken)));
}

export async function enrollTwoFactor(deps: SupabaseDeps, identity: Identity, accessToken: string): Promise<TwoFactorSetupData> {
  const flow = callerFlow(deps, identity, accessToken);
  const factors = await totpFactors(flow);
  if (statusOf(factors).isEnabled) throw problems.conflict('Two-factor authentication is already on; turn it off before enrolling a new authenticator.');
  // Enrolling again replaces an authenticator that was never confirmed, as in embedded mode.
  for (const stale of factors) {
    const { error } = await call(() => flow.auth.mfa.unenroll({ factorId: stale.id }));
    if (error) throw failed(flow)(error);
  }
  const { data, error } = await call(() => flow.auth.mfa.enroll({ factorType: 'totp' }));
  if (error || !data || data.type !== 'totp') throw failed(flow)(error!);
  return { secret: data.totp.secret, manualEntryKey: manualEntryKey(data.totp.secret), qrCodeUrl: data.totp.qr_code, otpauthUri: data.totp.uri };
}

export async function confirmTwoFactor(deps: SupabaseDeps, identity: Identity, accessToken: string, body: RequestBody<'confirmTwoFactor'>): Promise<TwoFactorConfirmation> {
  const flow = callerFlow(deps, identity, accessToken);
  const factors = await totpFactors(flow);
  if (statusOf(factors).isEnabled) throw problems.conflict('Two-factor authentication is already on.');
  const factor = factors.find((candidate) => candidate.status === 'unverified');
  if (!factor) throw problems.conflict('Start with POST /api/v1/auth/2fa/enroll.');
  const { error } = await call(() => flow.auth.mfa.challengeAndVerify({ factorId: factor.id, code: body.code.replace(/\s/g, '') }));
  if (error) throw problemOf(error, flow, wrongCode);
  return { status: { isEnabled: true, enabledAt: new Date().toISOString(), backupCodesRemaining: 0 }, backupCodes: [] };
}

/**
 * Supabase removes a verified factor only for an aal2 session: the password
 * opens a session of its own, the code lifts it to aal2, it removes the
 * factor, and it is signed out again.
 */
export async function disableTwoFactor(deps: SupabaseDeps, identity: Identity, body: RequestBody<'disableTwoFactor'>): Promise<TwoFactorStatus> {
  accountHolder(identity);
  if (!identity.email) throw problems.forbidden('This operation is for signed-in users with an email address.');
  const flow = newFlow(deps.settings);
  const signedIn = await call(() => flow.auth.signInWithPassword({ email: identity.email!, password: body.password }));
  if (signedIn.error || !signedIn.data.session) throw signedIn.error ? problemOf(signedIn.error, flow, wrongPassword) : wrongPassword();
  if (signedIn.data.user?.id !== identity.userId) throw wrongPassword();
  try {
    const factor = (await totpFactors(flow)).find((candidate) => candidate.status === 'verified');
    if (!factor) throw problems.conflict('Two-factor authentication is not on.');
    const verified = await call(() => flow.auth.mfa.challengeAndVerify({ factorId: factor.id, code: body.code.replace(/\s/g, '') }));
    if (verified.error) throw problemOf(verified.error, flow, wrongCode);
    const removed = await call(() => flow.auth.mfa.unenroll({ factorId: factor.id }));
    if (removed.error) throw failed(flow)(removed.error);
    return { isEnabled: false };
  } finally {
    await flow.auth.signOut({ scope: 'local' }).catch(() => undefined);
  }
}
