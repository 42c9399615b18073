import { requireOwnerOrAdmin, requireUser, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery, ResponseBody } from '../http/route';
import { problems } from '../problems';
import { checkKeyName, expiresAtFor, newSecret } from './rules';
import { API_KEY_BY_ID, apiKeyListQuery, INSERT_API_KEY, REVOKE_API_KEY, toApiKey, type ApiKey, type ApiKeyRow } from './sql';

// The operations of /api-keys. Owners and admins manage keys; a key itself
// only with the admin scope (the database caps every other key to member, so
// its policies refuse the same writes even without the check below).

const NOT_FOUND = 'There is no such API key in this organization.';

function requireKeyManager(tx: RequestTransaction): string {
  return requireOwnerOrAdmin(
    tx,
      tx.identity.apiKey
        ? 'Only API keys with the admin scope may manage API keys.'
        : "Only the organization's owners and admins may manage API keys.",
  );
}

export async function createApiKey(tx: RequestTransaction, body: RequestBody<'createApiKey'>): Promise<ResponseBody<'createApiKey', 201>> {
  requireUser(tx);
  const organizationId = requireKeyManager(tx);
  const name = checkKeyName(body.name);
  const expiresAt = expiresAtFor(body, new Date());
  const made = newSecret();
  const inserted = await tx.query<ApiKeyRow>(INSERT_API_KEY, [organizationId, name, made.publicId, made.hash, body.scopes, expiresAt]);
  return { ...toApiKey(inserted.rows[0]!), key: made.secret };
}

export async function listApiKeys(tx: RequestTransaction, query: RequestQuery<'listApiKeys'>): Promise<Page<ApiKey>> {
  const organizationId = requireKeyManager(tx);
  return paginate(tx, apiKeyListQuery(organizationId, pageRequest(query)), toApiKey);
}

export async function getApiKey(tx: RequestTransaction, keyId: string): Promise<ApiKey> {
  const organizationId = requireKeyManager(tx);
  const found = await tx.query<ApiKeyRow>(API_KEY_BY_ID, [keyId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toApiKey(found.rows[0]!);
}

export async function revokeApiKey(tx: RequestTransaction, keyId: string): Promise<ApiKey> {
  const organizationId = requireKeyManager(tx);
  const revoked = await tx.query<ApiKeyRow>(REVOKE_API_KEY, [keyId, organizationId]);
  if (revoked.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toApiKey(revoked.rows[0]!);
}
