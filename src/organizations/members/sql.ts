import type { components } from '../../generated/openapi';
import type { OrganizationRole } from '../../db/transaction';
import type { PageQuery, PageRequest } from '../../http/pagination';

export type OrganizationMember = components['schemas']['OrganizationMember'];
export type OrganizationMemberStatus = components['schemas']['OrganizationMemberStatus'];
export type TeamStats = components['schemas']['TeamStats'];

export interface OrganizationMemberRow {
  organization_id: string;
  user_id: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
  role: OrganizationRole;
  status: OrganizationMemberStatus;
  created_at: string;
  last_active_at: string | null;
  updated_at: string;
}

/** A membership `m` joined to its profile `p` (visible to everyone who shares the organization). */
export const MEMBER_COLUMNS =
  'm.organization_id, m.user_id, p.email, p.full_name, p.avatar_url, m.role, m.status, m.created_at, m.last_active_at, m.updated_at';

/** The frontend's TeamMember: its team is the organization, and a member is named in paths by their user id. */
export function toOrganizationMember(row: OrganizationMemberRow): OrganizationMember {
  return {
    id: row.user_id,
    teamId: row.organization_id,
    userId: row.user_id,
    email: row.email,
    name: row.full_name,
    avatarUrl: row.avatar_url,
    role: row.role,
    status: row.status,
    joinedAt: row.created_at,
    lastActiveAt: row.last_active_at,
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

/**
 * $1 organization, $2 user, $3 role and $4 status (each null: kept). The last
 * owner stays an owner, and an owner stays active (triggers answer 409).
 */
export const UPDATE_MEMBER = `update public.organization_members
  set role = coalesce($3::public.organization_role, role), status = coalesce($4::public.organization_member_status, status)
  where organization_id = $1 and user_id = $2 returning user_id`;

export const DELETE_MEMBER = 'delete from public.organization_members where organization_id = $1 and user_id = $2';

/** Visible to every member (the select policy), so 0 rows on a write means forbidden rather than absent. */
export const MEMBER_VISIBLE = 'select 1 from public.organization_members where organization_id = $1 and user_id = $2';

export interface MemberFilters {
  role?: OrganizationRole;
  status?: OrganizationMemberStatus;
}

export function memberListQuery(organizationId: string, filters: MemberFilters, page: PageRequest): PageQuery<OrganizationMemberRow> {
  const params: unknown[] = [organizationId];
  let where = 'm.organization_id = $1';
  if (filters.role !== undefined) {
    params.push(filters.role);
    where += ` and m.role = $${params.length}`;
  }
  if (filters.status !== undefined) {
    params.push(filters.status);
    where += ` and m.status = $${params.length}`;
  }
  return {
    select: MEMBER_COLUMNS,
    fromWhere: `public.organization_members m join public.profiles p on p.id = m.user_id where ${where}`,
    params,
    orderBy: 'm.created_at, m.user_id',
    page,
  };
}

export interface TeamStatsRow {
  total_members: number;
  active_members: number;
  pending_invites: number;
  max_seats: string;
}

/**
 * $1 organization. Pending invitations count once per address, and only for
 * addresses of no member yet: those are the ones that would take a seat. They
 * are counted as row level security shows them: owners and admins see every
 * project's, a plain member those of the projects they edit.
 */
export const TEAM_STATS = `select
    (select count(*)::int from public.organization_members m where m.organization_id = $1) as total_members,
    (select count(*)::int from public.organization_members m where m.organization_id = $1 and m.status = 'active') as active_members,
    (select count(distinct lower(i.email))::int from public.project_invitations i
      where i.organization_id = $1 and i.status = 'pending' and i.expires_at > now()
        and not exists (
          select 1 from public.organization_members m join public.profiles p on p.id = m.user_id
          where m.organization_id = $1 and lower(p.email) = lower(i.email)
        )) as pending_invites,
    app.limit_in_plan(o.plan_tier, 'seats') as max_seats
  from public.organizations o where o.id = $1`;
