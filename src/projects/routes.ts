import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { organizationOfCreation } from './access';
import {
  checkProjectName,
  createProject,
  deleteProject,
  getProject,
  getProjectStats,
  listProjects,
  organizationProjectStats,
  updateProject,
} from './operations';

/** /projects: each handler parses (the contract did), calls its operation, responds. */
export function projectsRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  route(routes, 'listProjects', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listProjects(tx, query)));
  });

  route(routes, 'createProject', async ({ body, req, res }) => {
    const organizationId = organizationOfCreation(body.organizationId, req.header('x-organization-id'));
    const project = await inTransaction(req, (tx) => createProject(tx, body), organizationId ? { organizationId } : undefined);
    res.status(201).location(`/api/v1/projects/${project.id}`).json(project);
  });

  route(routes, 'validateProjectName', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => checkProjectName(tx, body)));
  });

  // Before /projects/{projectId}: Express matches in order.
  route(routes, 'getOrganizationProjectStats', async ({ req, res }) => {
    res.json(await inTransaction(req, organizationProjectStats));
  });

  route(routes, 'getProject', async ({ params, query, req, res }) => {
    // The validator has split the comma list into an array of known names (unknown ones are a 400).
    const include = query.include ?? [];
    res.json(await inTransaction(req, (tx) => getProject(tx, params.projectId, include)));
  });

  route(routes, 'getProjectStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getProjectStats(tx, params.projectId)));
  });

  route(routes, 'updateProject', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateProject(tx, params.projectId, body)));
  });

  route(routes, 'deleteProject', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteProject(tx, params.projectId));
    res.status(204).end();
  });

  return routes;
}
