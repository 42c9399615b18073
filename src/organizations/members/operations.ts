import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { additionRefusal, checkMemberAddition } from './rules';
import {
  ADD_MEMBER,
  DELETE_MEMBER,
  MEMBER_BY_ID,
  MEMBER_VISIBLE,
  memberListQuery,
  TEAM_STATS,
  toOrganizationMember,
  UPDATE_MEMBER,
  type AddMemberOutcome,
  type OrganizationMember,
  type OrganizationMemberRow,
  type TeamStats,
  type TeamStatsRow,
} from './sql';
import { toTeamStats } from './rules';

// The organization of these operations is the one the request acts in (named
// in the path); a caller outside it got 404 from the transaction helper.

const NOT_FOUND = 'There is no such member of this organization.';
const FORBIDDEN = 'Owners manage every member; admins manage plain members only.';

export async function getMember(tx: RequestTransaction, organizationId: string, userId: string): Promise<OrganizationMember> {
  const found = await tx.query<OrganizationMemberRow>(MEMBER_BY_ID, [organizationId, userId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toOrganizationMember(found.rows[0]!);
}

/** Row level security hides a forbidden write as "0 rows": 403 when the member exists, 404 when not. */
async function refuseMemberWrite(tx: RequestTransaction, organizationId: string, userId: string): Promise<never> {
  const visible = await tx.query(MEMBER_VISIBLE, [organizationId, userId]);
  if (visible.rowCount === 0) throw problems.notFound(NOT_FOUND);
  throw problems.forbidden(FORBIDDEN);
}

export function listMembers(
  tx: RequestTransaction,
  organizationId: string,
  query: RequestQuery<'listOrganizationMembers'>,
): Promise<Page<OrganizationMember>> {
  return paginate(tx, memberListQuery(organizationId, { role: query.role, status: query.status }, pageRequest(query)), toOrganizationMember);
}

export async function addMember(
  tx: RequestTransaction,
  organizationId: string,
  body: RequestBody<'addOrganizationMember'>,
): Promise<OrganizationMember> {
  const role = body.role ?? 'member';
  checkMemberAddition(tx.organizationRole, role);
  const added = (await tx.query<{ outcome: AddMemberOutcome; user_id: string | null }>(ADD_MEMBER, [organizationId, body.email, role])).rows[0]!;
  const refusal = additionRefusal(added.outcome);
  if (refusal) throw refusal;
  return getMember(tx, organizationId, added.user_id!);
}

export async function updateMember(
  tx: RequestTransaction,
  organizationId: string,
  userId: string,
  body: RequestBody<'updateOrganizationMember'>,
): Promise<OrganizationMember> {
  const updated = await tx.query(UPDATE_MEMBER, [organizationId, userId, body.role ?? null, body.status ?? null]);
  if (updated.rowCount === 0) return refuseMemberWrite(tx, organizationId, userId);
  return getMember(tx, organizationId, userId);
}

export async function removeMember(tx: RequestTransaction, organizationId: string, userId: string): Promise<void> {
  const deleted = await tx.query(DELETE_MEMBER, [organizationId, userId]);
  if (deleted.rowCount === 0) await refuseMemberWrite(tx, organizationId, userId);
}

export async function teamStats(tx: RequestTransaction, organizationId: string): Promise<TeamStats> {
  const row = (await tx.query<TeamStatsRow>(TEAM_STATS, [organizationId])).rows[0];
  if (!row) throw problems.notFound('There is no such organization, or you are not a member of it.');
  return toTeamStats(row);
}
