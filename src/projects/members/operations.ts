import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, loadProjectAccess } from '../access';
import { checkMemberChange, requireAdminGrantRight, requireMemberRemover } from './rules';
import {
  DELETE_MEMBER,
  INSERT_MEMBER,
  MEMBER_OWNER,
  memberColumnValues,
  memberListQuery,
  ORGANIZATION_PERSON,
  toProjectMember,
  updateMemberSql,
  type MemberOwnerRow,
  type OrganizationPersonRow,
  type ProjectMember,
  type ProjectMemberRow,
} from './sql';

// Each operation of /projects/{projectId}/members: given the request
// transaction and the request's parts (typed from the contract), it checks,
// stores and answers. Who may do what is decided in rules.ts.

const MEMBER_NOT_FOUND = 'There is no such member in this project.';
const NOBODY_MATCHES =
  "Nobody in this project's organization matches; people without an account, or outside the organization, are invited by email instead (POST /projects/{projectId}/invitations).";

async function loadMemberOwner(tx: RequestTransaction, memberId: string, projectId: string): Promise<MemberOwnerRow> {
  const owner = await tx.query<MemberOwnerRow>(MEMBER_OWNER, [memberId, projectId]);
  const target = owner.rows[0];
  if (!target) throw problems.notFound(MEMBER_NOT_FOUND);
  return target;
}

export async function listMembers(tx: RequestTransaction, projectId: string, query: RequestQuery<'listProjectMembers'>): Promise<Page<ProjectMember>> {
  const access = await loadProjectAccess(tx, projectId);
  return paginate(tx, memberListQuery(access.projectId, query, pageRequest(query)), toProjectMember);
}

/** Someone already in the organization joins the project; the body names them by exactly one of userId and email. */
export async function addMember(tx: RequestTransaction, projectId: string, body: RequestBody<'addProjectMember'>): Promise<ProjectMember> {
  const access = await loadEditableProject(tx, projectId, 'add members');
  requireAdminGrantRight(access, body.role === 'admin');
  const person = await tx.query<OrganizationPersonRow>(ORGANIZATION_PERSON, [access.organizationId, body.userId ?? null, body.email ?? null]);
  const found = person.rows[0];
  if (!found) {
    const field = body.userId !== undefined ? '/body/userId' : '/body/email';
    throw problems.unprocessable(NOBODY_MATCHES, [{ path: field, message: "is not a member of the project's organization" }]);
  }
  // A second membership is refused by the unique constraints (409).
  const inserted = await tx.query<ProjectMemberRow>(INSERT_MEMBER, [
    access.projectId,
    found.id,
    found.email,
    found.full_name,
    found.avatar_url,
    body.role ?? 'viewer',
  ]);
  return toProjectMember(inserted.rows[0]!);
}

export async function updateMember(
  tx: RequestTransaction,
  projectId: string,
  memberId: string,
  body: RequestBody<'updateProjectMember'>,
): Promise<ProjectMember> {
  const access = await loadProjectAccess(tx, projectId);
  const target = await loadMemberOwner(tx, memberId, access.projectId);
  checkMemberChange(access, target, tx.identity.userId, body);
  const { columns, values } = memberColumnValues(body);
  // Demoting the creator is refused by the database's guard (409).
  const updated = await tx.query<ProjectMemberRow>(updateMemberSql(columns), [memberId, access.projectId, ...values]);
  const row = updated.rows[0];
  // Only reachable if the policies and the checks above ever disagree.
  if (!row) throw problems.forbidden('You may not change this membership.');
  return toProjectMember(row);
}

export async function removeMember(tx: RequestTransaction, projectId: string, memberId: string): Promise<void> {
  const access = await loadProjectAccess(tx, projectId);
  await loadMemberOwner(tx, memberId, access.projectId);
  requireMemberRemover(access);
  // Removing the creator is refused by the database's guard (409).
  const deleted = await tx.query(DELETE_MEMBER, [memberId, access.projectId]);
  if (deleted.rowCount === 0) throw problems.forbidden('You may not remove this member.');
}
