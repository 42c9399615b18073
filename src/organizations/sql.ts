import type { components } from '../generated/openapi';
import type { OrganizationRole } from '../db/transaction';

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
