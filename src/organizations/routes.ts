import express, { type Router } from 'express';
import type { operations } from '../generated/openapi';
import { refuseHiddenWrite } from '../db/refused-writes';
import { requireUser } from '../db/transaction';
import type { RunInTransaction } from '../http/context';
import { paginate, pageRequest } from '../http/pagination';
import { problems } from '../problems';
import { ORGANIZATION_COLUMNS, toOrganization, type OrganizationRow } from './sql';

type ListQuery = NonNullable<operations['listOrganizations']['parameters']['query']>;
type CreateBody = operations['createOrganization']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateOrganization']['requestBody']['content']['application/json'];

const NOT_FOUND = 'There is no such organization, or you are not a member of it.';

export function organizationsRouter(runInTransaction: RunInTransaction): Router {
  const router = express.Router();
  // These name their organization in the path (or list them all): X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  router.get('/organizations', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) =>
      paginate<OrganizationRow, ReturnType<typeof toOrganization>>(
        tx,
        {
          select: ORGANIZATION_COLUMNS,
          fromWhere: 'public.organizations o join public.organization_members m on m.organization_id = o.id where m.user_id = $1',
          params: [requireUser(tx)],
          orderBy: 'm.created_at, o.id',
          page: pageRequest(query),
        },
        toOrganization,
      ),
    );
    res.json(page);
  });

  router.post('/organizations', async (req, res) => {
    const body = req.body as CreateBody;
    const organization = await inTransaction(req, async (tx) => {
      requireUser(tx);
      const created = await tx.query<OrganizationRow>(
        `select o.id, o.name, o.plan_tier, o.is_personal, 'owner'::public.organization_role as role, o.created_at, o.updated_at
         from app.create_organization($1) o`,
        [body.name],
      );
      return toOrganization(created.rows[0]!);
    });
    res.status(201).location(`/api/v1/organizations/${organization.id}`).json(organization);
  });

  router.get('/organizations/:organizationId', async (req, res) => {
    const organization = await inTransaction(req, async (tx) => {
      const found = await tx.query<OrganizationRow>(
        `select ${ORGANIZATION_COLUMNS}
         from public.organizations o join public.organization_members m on m.organization_id = o.id and m.user_id = $2
         where o.id = $1`,
        [req.params.organizationId, requireUser(tx)],
      );
      if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
      return toOrganization(found.rows[0]!);
    });
    res.json(organization);
  });

  router.patch('/organizations/:organizationId', async (req, res) => {
    const body = req.body as UpdateBody;
    const organization = await inTransaction(req, async (tx) => {
      const updated = await tx.query<OrganizationRow>(
        `with o as (
           update public.organizations set name = coalesce($3, name) where id = $1 returning *
         )
         select ${ORGANIZATION_COLUMNS} from o join public.organization_members m on m.organization_id = o.id and m.user_id = $2`,
        [req.params.organizationId, requireUser(tx), body.name ?? null],
      );
      if (updated.rowCount === 0) {
        return refuseHiddenWrite(tx, 'organization', req.params.organizationId, {
          notFound: NOT_FOUND,
          forbidden: 'Only owners and admins of the organization may change it.',
        });
      }
      return toOrganization(updated.rows[0]!);
    });
    res.json(organization);
  });

  return router;
}
