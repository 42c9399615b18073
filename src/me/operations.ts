import { requireUser, type RequestTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import { toOrganization, type OrganizationRow } from '../organizations/sql';
import { ORGANIZATIONS_OF_USER, PROFILE_BY_ID, type ProfileRow } from './sql';

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
