import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems } from '../../problems';
import { loadProjectAccess, requireEditor, type ProjectAccess } from '../access';
import {
  DELETE_MEMBER,
  INSERT_MEMBER,
  MEMBER_OWNER,
  memberListQuery,
  ORGANIZATION_PERSON,
  SELF_SERVICE_MEMBER_FIELDS,
  toProjectMember,
  updateMemberSql,
  WRITABLE_MEMBER_FIELDS,
  type OrganizationPersonRow,
  type ProjectMemberRow,
} from './sql';

type ListQuery = NonNullable<operations['listProjectMembers']['parameters']['query']>;
type CreateBody = operations['addProjectMember']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateProjectMember']['requestBody']['content']['application/json'];

const MEMBER_NOT_FOUND = 'There is no such member in this project.';

/** Exactly one of userId and email: the contract says so in words, this says it with a 400. */
function requireOnePerson(body: CreateBody): void {
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

export function membersRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/projects/:projectId/members', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId);
      return paginate(tx, memberListQuery(access.projectId, query, pageRequest(query)), toProjectMember);
    });
    res.json(page);
  });

  /**
   * Managers edit the team, but only those who may remove members (project
   * admins, the creator, organization owners and admins) may make or unmake
   * an admin: otherwise a manager could promote themselves past their role.
   */
  function requireAdminGrantRight(access: ProjectAccess, touchesAdmin: boolean): void {
    if (touchesAdmin && !access.canRemoveMembers) {
      throw problems.forbidden('Only project admins, the creator, and organization owners and admins may grant or revoke the admin role.');
    }
  }

  router.post('/projects/:projectId/members', async (req, res) => {
    const body = req.body as CreateBody;
    requireOnePerson(body);
    const member = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId);
      requireEditor(access, 'add members');
      requireAdminGrantRight(access, body.role === 'admin');
      const person = await tx.query<OrganizationPersonRow>(ORGANIZATION_PERSON, [
        access.organizationId,
        body.userId ?? null,
        body.email ?? null,
      ]);
      const found = person.rows[0];
      if (!found) {
        const field = body.userId !== undefined ? '/body/userId' : '/body/email';
        throw problems.unprocessable(
          "Nobody in this project's organization matches; people without an account, or outside the organization, are invited by email instead (POST /projects/{projectId}/invitations).",
          [{ path: field, message: 'is not a member of the project\'s organization' }],
        );
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
    });
    res.status(201).location(`/api/v1/projects/${member.projectId}/members/${member.id}`).json(member);
  });

  router.patch('/projects/:projectId/members/:memberId', async (req, res) => {
    const body = req.body as UpdateBody;
    const member = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId);
      const owner = await tx.query<{ user_id: string; role: string }>(MEMBER_OWNER, [req.params.memberId, access.projectId]);
      const target = owner.rows[0];
      if (!target) throw problems.notFound(MEMBER_NOT_FOUND);
      requireAdminGrantRight(access, body.role !== undefined && body.role !== target.role && (body.role === 'admin' || target.role === 'admin'));

      const fields = Object.keys(WRITABLE_MEMBER_FIELDS).filter((field) => (body as Record<string, unknown>)[field] !== undefined);
      if (!access.canEdit) {
        if (target.user_id !== tx.identity.userId) {
          requireEditor(access, "change other members' settings");
        }
        if (fields.some((field) => !SELF_SERVICE_MEMBER_FIELDS.has(field))) {
          requireEditor(access, 'change roles');
        }
      }

      const values: unknown[] = [];
      const assignments: string[] = [];
      for (const field of fields) {
        values.push((body as Record<string, unknown>)[field]);
        assignments.push(`${WRITABLE_MEMBER_FIELDS[field as keyof typeof WRITABLE_MEMBER_FIELDS]} = $${values.length + 2}`);
      }
      // Demoting the creator is refused by the database's guard (409).
      const updated = await tx.query<ProjectMemberRow>(updateMemberSql(assignments), [req.params.memberId, access.projectId, ...values]);
      const row = updated.rows[0];
      // Only reachable if the policies and the checks above ever disagree.
      if (!row) throw problems.forbidden('You may not change this membership.');
      return toProjectMember(row);
    });
    res.json(member);
  });

  router.delete('/projects/:projectId/members/:memberId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId);
      const owner = await tx.query<{ user_id: string }>(MEMBER_OWNER, [req.params.memberId, access.projectId]);
      if (owner.rowCount === 0) throw problems.notFound(MEMBER_NOT_FOUND);
      if (!access.canRemoveMembers) {
        throw problems.forbidden('Only the creator, project admins, and organization owners and admins may remove members.');
      }
      // Removing the creator is refused by the database's guard (409).
      const deleted = await tx.query(DELETE_MEMBER, [req.params.memberId, access.projectId]);
      if (deleted.rowCount === 0) throw problems.forbidden('You may not remove this member.');
    });
    res.status(204).end();
  });

  return router;
}
