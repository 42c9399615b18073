import type { components } from '../generated/openapi';
import type { OrganizationRole } from '../db/transaction';
import type { PageQuery, PageRequest } from '../http/pagination';

export type Organization = components['schemas']['Organization'];

export interface OrganizationRow {
  id: string;
  name: string;
  plan_tier: Organization['planTier'];
  is_personal: boolean;
  role: OrganizationRole;
  created_at: string;
  updated_at: string;
}

/** Columns of an organization joined to the caller's membership `m`. */
export const ORGANIZATION_COLUMNS = 'o.id, o.name, o.plan_tier, o.is_personal, m.role, o.created_at, o.updated_at';

export function toOrganization(row: OrganizationRow): Organization {
  return {
    id: row.id,
    name: row.name,
    planTier: row.plan_tier,
    isPersonal: row.is_personal,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The organizations user $1 belongs to, oldest membership first. */
export function organizationListQuery(userId: string, page: PageRequest): PageQuery<OrganizationRow> {
  return {
    select: ORGANIZATION_COLUMNS,
    fromWhere: 'public.organizations o join public.organization_members m on m.organization_id = o.id where m.user_id = $1',
    params: [userId],
    orderBy: 'm.created_at, o.id',
    page,
  };
}

/** $1 name. The database function makes the caller its owner, so the role is known without a join. */
export const CREATE_ORGANIZATION = `select o.id, o.name, o.plan_tier, o.is_personal, 'owner'::public.organization_role as role, o.created_at, o.updated_at
  from app.create_organization($1) o`;

/** $1 organization, $2 user: absent unless the user is a member. */
export const ORGANIZATION_OF_MEMBER = `select ${ORGANIZATION_COLUMNS}
  from public.organizations o join public.organization_members m on m.organization_id = o.id and m.user_id = $2
  where o.id = $1`;

/** $1 organization, $2 user, $3 new name or null (kept). Row level security lets only owners and admins change a row. */
export const UPDATE_ORGANIZATION = `with o as (
    update public.organizations set name = coalesce($3, name) where id = $1 returning *
  )
  select ${ORGANIZATION_COLUMNS} from o join public.organization_members m on m.organization_id = o.id and m.user_id = $2`;
