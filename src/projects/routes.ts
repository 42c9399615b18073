import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
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
export function projectsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  route(router, 'listProjects', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listProjects(tx, query)));
  });

  route(router, 'createProject', async ({ body, req, res }) => {
    const organizationId = organizationOfCreation(body.organizationId, req.header('x-organization-id'));
    const project = await inTransaction(req, (tx) => createProject(tx, body), organizationId ? { organizationId } : undefined);
    res.status(201).location(`/api/v1/projects/${project.id}`).json(project);
  });

  route(router, 'validateProjectName', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => checkProjectName(tx, body)));
  });

  // Before /projects/{projectId}: Express matches in order.
  route(router, 'getOrganizationProjectStats', async ({ req, res }) => {
    res.json(await inTransaction(req, organizationProjectStats));
  });

  route(router, 'getProject', async ({ params, query, req, res }) => {
    // The validator has split the comma list into an array of known names (unknown ones are a 400).
    const include = query.include ?? [];
    res.json(await inTransaction(req, (tx) => getProject(tx, params.projectId, include)));
  });

  route(router, 'getProjectStats', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getProjectStats(tx, params.projectId)));
  });

  route(router, 'updateProject', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateProject(tx, params.projectId, body)));
  });

  route(router, 'deleteProject', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteProject(tx, params.projectId));
    res.status(204).end();
  });

  return router;
}
