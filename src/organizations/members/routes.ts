import type { Request } from 'express';
import type { RequestTransaction } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { addMember, getMember, listMembers, removeMember, teamStats, updateMember } from './operations';

/**
 * The seats of an organization. The organization comes from the path and is
 * the one the request acts in (and is metered against); a caller outside it
 * gets 404 from the transaction helper before any handler runs.
 */
export function organizationMembersRoutes(runInTransaction: RunInTransaction): Operations {
  const routes = new Operations();
  const inOrganization = <T>(req: Request, organizationId: string, work: (tx: RequestTransaction) => Promise<T>) =>
    runInTransaction(req, work, { organizationId });

  route(routes, 'listOrganizationMembers', async ({ params, query, req, res }) => {
    res.json(await inOrganization(req, params.organizationId, (tx) => listMembers(tx, params.organizationId, query)));
  });

  route(routes, 'addOrganizationMember', async ({ params, body, req, res }) => {
    const { organizationId } = params;
    const member = await inOrganization(req, organizationId, (tx) => addMember(tx, organizationId, body));
    res.status(201).location(`/api/v1/organizations/${organizationId}/members/${member.userId}`).json(member);
  });

  route(routes, 'getTeamStats', async ({ params, req, res }) => {
    res.json(await inOrganization(req, params.organizationId, (tx) => teamStats(tx, params.organizationId)));
  });

  route(routes, 'getOrganizationMember', async ({ params, req, res }) => {
    res.json(await inOrganization(req, params.organizationId, (tx) => getMember(tx, params.organizationId, params.userId)));
  });

  route(routes, 'updateOrganizationMember', async ({ params, body, req, res }) => {
    res.json(await inOrganization(req, params.organizationId, (tx) => updateMember(tx, params.organizationId, params.userId, body)));
  });

  route(routes, 'removeOrganizationMember', async ({ params, req, res }) => {
    await inOrganization(req, params.organizationId, (tx) => removeMember(tx, params.organizationId, params.userId));
    res.status(204).end();
  });

  return routes;
}
