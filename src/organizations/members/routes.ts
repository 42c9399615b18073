import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RequestTransaction } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems } from '../../problems';
import {
  ADD_MEMBER,
  DELETE_MEMBER,
  MEMBER_BY_ID,
  MEMBER_VISIBLE,
  memberListQuery,
  toOrganizationMember,
  UPDATE_MEMBER_ROLE,
  type AddMemberOutcome,
  type OrganizationMemberRow,
} from './sql';

type ListQuery = NonNullable<operations['listOrganizationMembers']['parameters']['query']>;
type CreateBody = operations['addOrganizationMember']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateOrganizationMember']['requestBody']['content']['application/json'];

const NOT_FOUND = 'There is no such member of this organization.';
const FORBIDDEN = 'Owners manage every member; admins manage plain members only.';

async function loadMember(tx: RequestTransaction, organizationId: string, userId: string) {
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

/**
 * The seats of an organization. The organization comes from the path and is
 * the one the request acts in (and is metered against); a caller outside it
 * gets 404 from the transaction helper before any handler runs.
 */
export function organizationMembersRouter(runInTransaction: RunInTransaction): Router {
  const router = express.Router();
  const inTransaction: RunInTransaction = (req, work) =>
    runInTransaction(req, work, { organizationId: req.params.organizationId as string });

  router.get('/organizations/:organizationId/members', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) =>
      paginate(tx, memberListQuery(req.params.organizationId!, query.role, pageRequest(query)), toOrganizationMember),
    );
    res.json(page);
  });

  router.post('/organizations/:organizationId/members', async (req, res) => {
    const body = req.body as CreateBody;
    const role = body.role ?? 'member';
    const organizationId = req.params.organizationId!;
    const member = await inTransaction(req, async (tx) => {
      if (tx.organizationRole !== 'owner' && tx.organizationRole !== 'admin') {
        throw problems.forbidden('Only owners and admins of the organization add members.');
      }
      if (tx.organizationRole === 'admin' && role !== 'member') {
        throw problems.forbidden('Admins add plain members only; owners grant the admin and owner roles.');
      }
      const added = (await tx.query<{ outcome: AddMemberOutcome; user_id: string | null }>(ADD_MEMBER, [organizationId, body.email, role])).rows[0]!;
      if (added.outcome === 'no_account') {
        const detail = 'No account uses this email address. People without an account can be invited to a project instead.';
        throw problems.unprocessable(detail, [{ path: '/body/email', message: detail }]);
      }
      if (added.outcome === 'already_member') throw problems.conflict('This user is already a member of the organization.');
      if (added.outcome === 'forbidden') throw problems.forbidden('Only owners and admins of the organization add members.');
      return loadMember(tx, organizationId, added.user_id!);
    });
    res.status(201).location(`/api/v1/organizations/${organizationId}/members/${member.userId}`).json(member);
  });

  router.get('/organizations/:organizationId/members/:userId', async (req, res) => {
    const member = await inTransaction(req, (tx) => loadMember(tx, req.params.organizationId!, req.params.userId!));
    res.json(member);
  });

  router.patch('/organizations/:organizationId/members/:userId', async (req, res) => {
    const body = req.body as UpdateBody;
    const { organizationId, userId } = req.params as { organizationId: string; userId: string };
    const member = await inTransaction(req, async (tx) => {
      const updated = await tx.query(UPDATE_MEMBER_ROLE, [organizationId, userId, body.role]);
      if (updated.rowCount === 0) return refuseMemberWrite(tx, organizationId, userId);
      return loadMember(tx, organizationId, userId);
    });
    res.json(member);
  });

  router.delete('/organizations/:organizationId/members/:userId', async (req, res) => {
    const { organizationId, userId } = req.params as { organizationId: string; userId: string };
    await inTransaction(req, async (tx) => {
      const deleted = await tx.query(DELETE_MEMBER, [organizationId, userId]);
      if (deleted.rowCount === 0) await refuseMemberWrite(tx, organizationId, userId);
    });
    res.status(204).end();
  });

  return router;
}
