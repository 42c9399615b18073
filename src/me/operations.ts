import { accountHolder } from '../accounts/operations';
import { requireUser, type RequestTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import type { RequestBody } from '../http/route';
import { problems } from '../problems';
import { toOrganization, type OrganizationRow } from '../organizations/sql';
import { confirmsAddress } from './rules';
import { ERASE_CURRENT_USER, ORGANIZATIONS_OF_USER, PROFILE_BY_ID, type ProfileRow } from './sql';

export type Me = components['schemas']['Me'];

export async function getMe(tx: RequestTransaction): Promise<Me> {
  const userId = requireUser(tx);
  const profile = await tx.query<ProfileRow>(PROFILE_BY_ID, [userId]);
  const organizations = await tx.query<OrganizationRow>(ORGANIZATIONS_OF_USER, [userId]);
  const row = profile.rows[0]!;
  return {
    id: row.id,
    email: row.email,
    fullName: row.full_name,
    avatarUrl: row.avatar_url,
    defaultOrganizationId: row.default_organization_id,
    organizations: organizations.rows.map(toOrganization),
    createdAt: row.created_at,
  };
}

/**
 * Erases the caller's account in their own transaction (the rule is in
 * database/022 and the README, "Your data"). Only the person themselves, with
 * a session token and their address typed as confirmation: never an API key
 * or a service token. Returns the ids of the local sessions that were live.
 */
export async function eraseMyAccount(tx: RequestTransaction, body: RequestBody<'eraseMyAccount'>): Promise<string[]> {
  const userId = accountHolder(tx.identity);
  const profile = (await tx.query<ProfileRow>(PROFILE_BY_ID, [userId])).rows[0]!;
  if (!confirmsAddress(body.confirmEmail, profile.email)) {
    const message = 'Type the email address of this account to confirm that it is to be erased.';
    throw problems.unprocessable(message, [{ path: '/body/confirmEmail', message }]);
  }
  const ended = await tx.query<{ ended_session_id: string }>(ERASE_CURRENT_USER, [profile.email]);
  return ended.rows.map((row) => row.ended_session_id);
}
