import type { RequestTransaction } from '../../db/transaction';
import type { InvitationMailer } from '../../mail/invitations';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, loadProjectAccess, requireSameProject } from '../access';
import { inviteToProject } from '../invitations/operations';
import type { InvitationResult } from '../invitations/sql';
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
  "Nobody in this project's organization has this id; people without an account, or outside the organization, are invited by email.";
const INVITATION_VALIDITY_DAYS = 7;

/** An addition made at once (201), or, for an address of nobody in the organization, an invitation sent (202). */
export type MemberAddition = { added: ProjectMember } | { invited: InvitationResult };

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

/**
 * Someone already in the organization joins the project at once; an email of
 * nobody in it gets an invitation carrying the role, the preferences and the
 * inviteMessage. The body names the person by exactly one of userId and email.
 */
export async function addMember(
  tx: RequestTransaction,
  projectId: string,
  body: RequestBody<'addProjectMember'>,
  mailer: InvitationMailer,
): Promise<MemberAddition> {
  requireSameProject(body.projectId, projectId);
  const access = await loadEditableProject(tx, projectId, 'add members');
  const role = body.role ?? 'viewer';
  requireAdminGrantRight(access, role === 'admin');
  const preferences = {
    notifyOnIngestion: body.notifyOnIngestion ?? true,
    notifyOnError: body.notifyOnError ?? true,
    notifyOnTeamChanges: body.notifyOnTeamChanges ?? true,
  };
  const person = await tx.query<OrganizationPersonRow>(ORGANIZATION_PERSON, [access.organizationId, body.userId ?? null, body.email ?? null]);
  const found = person.rows[0];
  if (!found && body.email !== undefined) {
    const options = { message: body.inviteMessage ?? null, validityDays: INVITATION_VALIDITY_DAYS, mailer };
    const [result] = await inviteToProject(tx, access, [{ email: body.email, role, ...preferences }], options);
    return { invited: refuseUnsent(result!) };
  }
  if (!found) throw problems.unprocessable(NOBODY_MATCHES, [{ path: '/body/userId', message: "is not a member of the project's organization" }]);
  // A second membership is refused by the unique constraints (409).
  const inserted = await tx.query<ProjectMemberRow>(INSERT_MEMBER, [
    access.projectId,
    found.id,
    found.email,
    found.full_name,
    found.avatar_url,
    role,
    preferences.notifyOnIngestion,
    preferences.notifyOnError,
    preferences.notifyOnTeamChanges,
  ]);
  return { added: toProjectMember(inserted.rows[0]!) };
}

/** One address is one answer: anything but a sent invitation is the problem a batch would only have reported. */
function refuseUnsent(result: InvitationResult): InvitationResult {
  switch (result.outcome) {
    case 'invited':
      return result;
    case 'already_invited':
      throw problems.conflict(result.detail ?? 'This address already has a pending invitation.').because('invitation_already_pending');
    case 'already_member':
      throw problems.conflict(result.detail ?? 'Someone with this address is already a member.').because('project_member_email_exists');
    case 'invalid_email':
      throw problems.unprocessable(result.detail ?? 'This is not a plausible email address.', [
        { path: '/body/email', message: 'is not a plausible email address' },
      ]);
  }
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
