import { refuseHiddenWrite } from '../db/refused-writes';
import { requireUser, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery } from '../http/route';
import { problems } from '../problems';
import {
  CREATE_ORGANIZATION,
  ORGANIZATION_OF_MEMBER,
  organizationListQuery,
  toOrganization,
  UPDATE_ORGANIZATION,
  type Organization,
  type OrganizationRow,
} from './sql';

const NOT_FOUND = 'There is no such organization, or you are not a member of it.';

export function listOrganizations(tx: RequestTransaction, query: RequestQuery<'listOrganizations'>): Promise<Page<Organization>> {
  return paginate(tx, organizationListQuery(requireUser(tx), pageRequest(query)), toOrganization);
}

export async function createOrganization(tx: RequestTransaction, body: RequestBody<'createOrganization'>): Promise<Organization> {
  requireUser(tx);
  const created = await tx.query<OrganizationRow>(CREATE_ORGANIZATION, [body.name]);
  return toOrganization(created.rows[0]!);
}

export async function getOrganization(tx: RequestTransaction, organizationId: string): Promise<Organization> {
  const found = await tx.query<OrganizationRow>(ORGANIZATION_OF_MEMBER, [organizationId, requireUser(tx)]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toOrganization(found.rows[0]!);
}

export async function updateOrganization(
  tx: RequestTransaction,
  organizationId: string,
  body: RequestBody<'updateOrganization'>,
): Promise<Organization> {
  const updated = await tx.query<OrganizationRow>(UPDATE_ORGANIZATION, [organizationId, requireUser(tx), body.name ?? null]);
  if (updated.rowCount === 0) {
    return refuseHiddenWrite(tx, 'organization', organizationId, {
      notFound: NOT_FOUND,
      forbidden: 'Only owners and admins of the organization may change it.',
    });
  }
  return toOrganization(updated.rows[0]!);
}
