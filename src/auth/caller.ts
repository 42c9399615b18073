import type { TokenClaims } from './jwt';

/** Who is calling, as the verified token says. */
export interface Identity {
  role: DatabaseRole;
  userId: string | null;
  email: string | null;
  claims: TokenClaims;
  /** Set when the caller authenticated with an organization API key (it acts as its creator). */
  apiKey?: ApiKeyIdentity;
}

/** The scopes of an API key, weakest first. */
export const API_KEY_SCOPES = ['read', 'write', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What a request made with an API key carries: which key, for which organization, with which (strongest) scope. */
export interface ApiKeyIdentity {
  id: string;
  organizationId: string;
  scope: ApiKeyScope;
}

/** The only roles a request may take in the database. */
export const DATABASE_ROLES = ['authenticated', 'service_role'] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];
