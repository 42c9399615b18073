import { createHash } from 'node:crypto';
import { signHs256, type TokenClaims } from './jwt';

// Fixed namespace for local user ids: the same email always gets the same id,
// so tokens can be minted without asking the database.
const LOCAL_USER_NAMESPACE = '5b0c1f6e-8d3a-4e2b-9a71-2c4d6e8f0a13';

/** A name-based (version 5) UUID, RFC 9562. */
export function uuidV5(name: string, namespace: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function localUserId(email: string): string {
  return uuidV5(email.trim().toLowerCase(), LOCAL_USER_NAMESPACE);
}

export interface MintOptions {
  secret: string;
  role?: 'authenticated' | 'service_role';
  ttlSeconds?: number;
  issuer?: string;
}

/** Mints an access token shaped like the ones Supabase Auth issues. */
export function mintToken(email: string | null, options: MintOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const role = options.role ?? 'authenticated';
  const claims: TokenClaims = {
    aud: 'authenticated',
    role,
    iat: now,
    exp: now + (options.ttlSeconds ?? 24 * 3600),
    ...(options.issuer ? { iss: options.issuer } : {}),
  };
  if (email) {
    claims.sub = localUserId(email);
    claims.email = email.trim().toLowerCase();
  }
  return signHs256(claims, options.secret);
}
