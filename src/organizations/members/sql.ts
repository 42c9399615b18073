import type { components } from '../../generated/openapi';
import type { OrganizationRole } from '../../db/transaction';
import type { PageQuery, PageRequest } from '../../http/pagination';

export type OrganizationMember = components['schemas']['OrganizationMember'];

export interface OrganizationMemberRow {
  organization_id: string;
  user_id: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
  role: OrganizationRole;
  created_at: string;
  updated_at: string;
}

/** A membership `m` joined to its profile `p` (visible to everyone who shares the organization). */
export const MEMBER_COLUMNS = 'm.organization_id, m.user_id, p.email, p.full_name, p.avatar_url, m.role, m.created_at, m.updated_at';

export function toOrganizationMember(row: OrganizationMemberRow): OrganizationMember {
  return {
    organizationId: row.organization_id,
    userId: row.user_id,
    email: row.email,
    fullName: row.full_name,
    avatarUrl: row.avatar_url,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** $1 organization, $2 user. */
export const MEMBER_BY_ID = `select ${MEMBER_COLUMNS}
  from public.organization_members m join public.profiles p on p.id = m.user_id
  where m.organization_id = $1 and m.user_id = $2`;

export type AddMemberOutcome = 'added' | 'already_member' | 'no_account' | 'forbidden';

/**
 * $1 organization, $2 email, $3 role. The database decides: owners add anyone,
 * admins plain members, and no user id leaves it unless the person was added;
 * the seats quota is checked by a trigger.
 */
export const ADD_MEMBER = 'select outcome, user_id from app.add_organization_member($1, $2, $3)';

/** $1 organization, $2 user, $3 role. The last owner stays an owner (a trigger answers 409). */
export const UPDATE_MEMBER_ROLE = `update public.organization_members set role = $3
  where organization_id = $1 and user_id = $2 returning user_id`;

export const DELETE_MEMBER = 'delete from public.organization_members where organization_id = $1 and user_id = $2';

/** Visible to every member (the select policy), so 0 rows on a write means forbidden rather than absent. */
export const MEMBER_VISIBLE = 'select 1 from public.organization_members where organization_id = $1 and user_id = $2';

export function memberListQuery(organizationId: string, role: OrganizationRole | undefined, page: PageRequest): PageQuery<OrganizationMemberRow> {
  const params: unknown[] = [organizationId];
  let where = 'm.organization_id = $1';
  if (role !== undefined) {
    params.push(role);
    where += ` and m.role = $${params.length}`;
  }
  return {
    select: MEMBER_COLUMNS,
    fromWhere: `public.organization_members m join public.profiles p on p.id = m.user_id where ${where}`,
    params,
    orderBy: 'm.created_at, m.user_id',
    page,
  };
}
