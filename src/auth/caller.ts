import type { TokenClaims } from './jwt';

/** Who is calling, as the verified token says. */
export interface Identity {
  role: DatabaseRole;
  userId: string | null;
  email: string | null;
  claims: TokenClaims;
}

/** The only roles a request may take in the database. */
export const DATABASE_ROLES = ['authenticated', 'service_role'] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];
