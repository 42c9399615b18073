import { createHash, randomBytes } from 'node:crypto';
import { signHs256, type TokenClaims } from '../auth/jwt';

/** A high-entropy secret (refresh token, challenge, OAuth state), with a prefix that says what it is. */
export function newSecret(prefix: 'rt' | 'mfa' | 'oa'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** sha256: enough for 256-bit random secrets, which no dictionary holds (no salt, no slow hash needed). */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export interface AccessTokenInput {
  userId: string;
  email: string;
  userMetadata: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
  sessionId: string;
  aal: 'aal1' | 'aal2';
  amr: Array<{ method: string; timestamp: number }>;
}

export interface MintedAccessToken {
  token: string;
  expiresAt: number;
  expiresIn: number;
}

/**
 * An access token with exactly the claims Supabase Auth puts in its own, so
 * the verifier, identityFromClaims, auth.uid() and every policy take it as they
 * take Supabase's.
 */
export function mintAccessToken(input: AccessTokenInput, settings: { jwtSecret: string; issuer: string; ttlSeconds: number }, now = Math.floor(Date.now() / 1000)): MintedAccessToken {
  const expiresAt = now + settings.ttlSeconds;
  const claims: TokenClaims = {
    aud: 'authenticated',
    exp: expiresAt,
    iat: now,
    iss: settings.issuer,
    sub: input.userId,
    email: input.email,
    phone: '',
    app_metadata: input.appMetadata,
    user_metadata: input.userMetadata,
    role: 'authenticated',
    aal: input.aal,
    amr: input.amr,
    session_id: input.sessionId,
    is_anonymous: false,
  };
  return { token: signHs256(claims, settings.jwtSecret), expiresAt, expiresIn: settings.ttlSeconds };
}
