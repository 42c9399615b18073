import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { createOrganization, getOrganization, listOrganizations, updateOrganization } from './operations';

export function organizationsRoutes(runInTransaction: RunInTransaction): Operations {
  const routes = new Operations();
  // These name their organization in the path (or list them all): X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  route(routes, 'listOrganizations', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listOrganizations(tx, query)));
  });

  route(routes, 'createOrganization', async ({ body, req, res }) => {
    const organization = await inTransaction(req, (tx) => createOrganization(tx, body));
    res.status(201).location(`/api/v1/organizations/${organization.id}`).json(organization);
  });

  route(routes, 'getOrganization', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getOrganization(tx, params.organizationId)));
  });

  route(routes, 'updateOrganization', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateOrganization(tx, params.organizationId, body)));
  });

  return routes;
}
