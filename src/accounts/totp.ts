import { Secret, TOTP } from 'otpauth';
import { toDataURL } from 'qrcode';

const PERIOD_SECONDS = 30;
/** The issuer authenticator apps show beside the account. */
const ISSUER = 'DevTools';

function totpOf(secret: string, label = 'account'): TOTP {
  return new TOTP({ issuer: ISSUER, label, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS });
}

/** A new random secret (160 bits, as RFC 4226 recommends), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export async function enrolment(secret: string, email: string): Promise<{ otpauthUri: string; qrCodeUrl: string }> {
  const otpauthUri = totpOf(secret, email).toString();
  return { otpauthUri, qrCodeUrl: await toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2, width: 240 }) };
}

/**
 * The time step `code` belongs to when it is valid now (one step of clock
 * drift either way), and newer than `lastUsedStep`: a code is accepted once.
 */
export function acceptedStep(secret: string, code: string, lastUsedStep: number, nowMs = Date.now()): number | null {
  const totp = totpOf(secret);
  const delta = totp.validate({ token: code, timestamp: nowMs, window: 1 });
  if (delta === null) return null;
  const step = totp.counter({ timestamp: nowMs }) + delta;
  return step > lastUsedStep ? step : null;
}

/** The code of a secret at a time (tests, and nothing else, act as the authenticator app). */
export function codeAt(secret: string, nowMs = Date.now()): string {
  return totpOf(secret).generate({ timestamp: nowMs });
}
