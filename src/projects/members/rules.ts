import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import { requireEditor, type ProjectAccess } from '../access';
import { SELF_SERVICE_MEMBER_FIELDS, sentMemberFields, type MemberOwnerRow } from './sql';

// Who may do what to a project's team, decided from what is already loaded
// (the caller's access to the project, the membership's owner): no database.

/** Exactly one of userId and email: the contract says so in words, this says it with a 400. */
export function requireOnePerson(body: Pick<RequestBody<'addProjectMember'>, 'userId' | 'email'>): void {
  const hasUserId = body.userId !== undefined;
  const hasEmail = body.email !== undefined;
  if (hasUserId === hasEmail) {
    const message = hasUserId ? 'give either userId or email, not both' : 'give userId or email';
    throw problems.validation('Name the person to add by exactly one of userId and email.', [
      { path: '/body/userId', message, code: 'oneOf' },
      { path: '/body/email', message, code: 'oneOf' },
    ]);
  }
}

/**
 * Managers edit the team, but only those who may remove members (project
 * admins, the creator, organization owners and admins) may make or unmake
 * an admin: otherwise a manager could promote themselves past their role.
 */
export function requireAdminGrantRight(access: ProjectAccess, touchesAdmin: boolean): void {
  if (touchesAdmin && !access.canRemoveMembers) {
    throw problems.forbidden('Only project admins, the creator, and organization owners and admins may grant or revoke the admin role.');
  }
}

/**
 * 403 unless the caller may make this change to the membership: editors
 * change anyone's, others only the notification settings of their own.
 */
export function checkMemberChange(
  access: ProjectAccess,
  target: MemberOwnerRow,
  callerId: string | null,
  body: RequestBody<'updateProjectMember'>,
): void {
  requireAdminGrantRight(access, body.role !== undefined && body.role !== target.role && (body.role === 'admin' || target.role === 'admin'));
  if (access.canEdit) return;
  if (target.user_id !== callerId) requireEditor(access, "change other members' settings");
  if (sentMemberFields(body).some((field) => !SELF_SERVICE_MEMBER_FIELDS.has(field))) requireEditor(access, 'change roles');
}

/** Only those who may remove members may; the creator is kept by the database's guard. */
export function requireMemberRemover(access: ProjectAccess): void {
  if (!access.canRemoveMembers) {
    throw problems.forbidden('Only the creator, project admins, and organization owners and admins may remove members.');
  }
}
