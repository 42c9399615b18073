import type { ApiKeyScope } from '../auth/caller';
import { registerSqlState, registerUniqueConstraints } from '../db/errors';
import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import { problems } from '../problems';
import { keyPrefixOf } from './rules';

export type ApiKey = components['schemas']['ApiKey'];

export interface ApiKeyRow {
  id: string;
  organization_id: string;
  created_by: string;
  name: string;
  public_id: string;
  scopes: ApiKeyScope[];
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  usage_count: number;
  created_at: string;
  /** Computed by the query, on the database's clock. */
  is_expired: boolean;
}

/** Every column a request role may read (never the hash), read through the alias `k`. */
const API_KEY_COLUMNS = `k.id, k.organization_id, k.created_by, k.name, k.public_id, k.scopes::text[] as scopes,
  k.expires_at, k.revoked_at, k.last_used_at, k.usage_count, k.created_at,
  (k.expires_at is not null and k.expires_at <= now()) as is_expired`;

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    keyPrefix: keyPrefixOf(row.public_id),
    scopes: row.scopes,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    usageCount: row.usage_count,
    expiresAt: row.expires_at,
    isExpired: row.is_expired,
    revokedAt: row.revoked_at,
    isRevoked: row.revoked_at !== null,
  };
}

/** The organization's ($1) keys, newest first; row level security shows them to owners and admins only. */
export function apiKeyListQuery(organizationId: string, page: PageRequest): PageQuery<ApiKeyRow> {
  return {
    select: API_KEY_COLUMNS,
    fromWhere: 'public.api_keys k where k.organization_id = $1',
    params: [organizationId],
    orderBy: 'k.created_at desc, k.id desc',
    page,
  };
}

/** Key $1 of organization $2. */
export const API_KEY_BY_ID = `select ${API_KEY_COLUMNS} from public.api_keys k where k.id = $1 and k.organization_id = $2`;

/** A new key: organization, name, public id, hash, scopes, expiry; the creator is the caller (column default). */
export const INSERT_API_KEY = `insert into public.api_keys as k (organization_id, name, public_id, secret_hash, scopes, expires_at)
  values ($1, $2, $3, $4, $5::public.api_key_scope[], $6)
  returning ${API_KEY_COLUMNS}`;

/** Revokes key $1 of organization $2; revoking a revoked key leaves it as it was. */
export const REVOKE_API_KEY = `update public.api_keys k set revoked_at = coalesce(k.revoked_at, now())
  where k.id = $1 and k.organization_id = $2
  returning ${API_KEY_COLUMNS}`;

export interface KeyLookupRow {
  id: string;
  organization_id: string;
  created_by: string;
  email: string;
  scopes: ApiKeyScope[];
  expires_at: string | null;
  revoked_at: string | null;
}

/** The key whose secret hashes to $1, with its creator's email (service_role: before any identity exists). */
export const KEY_BY_HASH = `select k.id, k.organization_id, k.created_by, p.email, k.scopes::text[] as scopes, k.expires_at, k.revoked_at
  from public.api_keys k join public.profiles p on p.id = k.created_by
  where k.secret_hash = $1`;

/** Adds batched usage: ids $1, counts $2, last uses $3 (service_role). */
export const ADD_KEY_USAGE = `update public.api_keys k
  set usage_count = k.usage_count + u.n, last_used_at = greatest(k.last_used_at, u.at)
  from unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) as u(id, n, at)
  where k.id = u.id`;

registerUniqueConstraints({
  // 96 random bits: a clash means the generator is broken, not that the caller did something wrong.
  api_keys_public_id_key: { detail: 'A key with this public id exists; create the key again.' },
  api_keys_secret_hash_key: { detail: 'A key with this secret exists; create the key again.' },
});

// A read key's transaction is read-only: a write attempted anyway (a GET that
// would change something) is the key's scope refusing it, not a server error.
registerSqlState('25006', () => problems.forbidden('This API key has the read scope: it cannot change anything.'));
