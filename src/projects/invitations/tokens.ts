import { createHash, randomBytes } from 'node:crypto';

/** Marks the string as an invitation token wherever it turns up (an email, a log a user pastes). */
export const INVITATION_TOKEN_PREFIX = 'inv_';

export interface InvitationToken {
  /** Shown to the inviter once, in the response; never stored, never logged. */
  token: string;
  /** What the database keeps (project_invitations.token_hash). */
  hash: Buffer;
}

/**
 * SHA-256 of the whole token as UTF-8. A fast hash is enough here: the token
 * carries 256 random bits, so there is nothing to guess by brute force, and a
 * lookup by hash stays a plain index probe.
 */
export function hashInvitationToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A fresh token: 32 random bytes, base64url, with the inv_ prefix. */
export function newInvitationToken(): InvitationToken {
  const token = `${INVITATION_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashInvitationToken(token) };
}
