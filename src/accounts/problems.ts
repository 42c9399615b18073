import { Problem, problems, type ProblemBody } from '../problems';
import { SIGN_IN_WINDOW_SECONDS } from './rules';

// The problems of signing in, each with the code a client branches on.

export const invalidCredentials = () => problems.unauthorized('The email address or the password is wrong.').because('invalid_credentials');

export const invalidRefreshToken = () =>
  problems.unauthorized('This refresh token is unknown, expired or of a session that has ended; sign in again.').because('invalid_refresh_token');

export const refreshTokenReused = () =>
  problems.unauthorized('This refresh token was already used; the session has been ended to protect the account. Sign in again.').because('refresh_token_reused');

export const invalidChallenge = () =>
  problems.unauthorized('This two-factor challenge is unknown, used or expired; sign in with your password again.').because('invalid_mfa_challenge');

export const wrongSignInCode = () => problems.unauthorized('The two-factor code is wrong.').because('invalid_mfa_code');

export const wrongCode = () => problems.unprocessable('The two-factor code is wrong.', [{ path: '/body/code', message: 'is not a current code' }]).because('invalid_mfa_code');

export const wrongPassword = () =>
  problems.unprocessable('The password is wrong.', [{ path: '/body/password', message: 'is not the password of this account' }]).because('invalid_credentials');

/** 429 from a sign-in limit (database-counted attempts in the window), with when to try again. */
function limited(what: string, retryAfterSeconds: number): Problem {
  return new Problem(
    429,
    'quota-exceeded',
    `Too many ${what} in the last ${SIGN_IN_WINDOW_SECONDS} seconds; try again in ${retryAfterSeconds} seconds.`,
    undefined,
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

export const tooManySignUps = (retryAfterSeconds: number) => limited('sign-ups from this address', retryAfterSeconds);

export const tooManyFailures = (retryAfterSeconds: number) => limited('failed sign-ins for this email address or from this address', retryAfterSeconds);

export function notImplemented(detail: string): Problem {
  return new Problem(501, 'not-implemented', detail).because('not_implemented');
}

/** The password was right; the answer carries the challenge the second factor is sent with. */
export class MfaRequired extends Problem {
  constructor(
    private readonly challengeToken: string,
    private readonly expiresIn: number,
  ) {
    super(401, 'unauthorized', 'This account uses two-factor authentication: send a code with the challenge token to /api/v1/auth/mfa/verify.', undefined, {
      'WWW-Authenticate': 'Bearer',
    });
    this.because('mfa_required');
  }

  override toBody(instance?: string): ProblemBody {
    return { ...super.toBody(instance), challenge_token: this.challengeToken, expires_in: this.expiresIn } as ProblemBody;
  }
}

export const invalidOAuthState = () =>
  problems.unauthorized('This OAuth state is unknown, used or expired; start signing in with the provider again.').because('invalid_oauth_state');

export const invalidOAuthCode = () =>
  problems.unauthorized('Supabase Auth refused this code (unknown, used, expired, or not of this state); start signing in with the provider again.').because('invalid_oauth_code');
