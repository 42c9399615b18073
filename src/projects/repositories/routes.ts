import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { createRepository, deleteRepository, getRepository, listRepositories, updateRepository } from './operations';
import { checkPathPatterns } from './rules';
import { repositoryUrlVerdict, repositoryValidation } from './url';

/** /repositories and /projects/{projectId}/repositories: each handler parses (the contract did), calls its operation, responds. */
export function repositoriesRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  // Pure: no database, no network. The token is still required (the contract's security).
  route(routes, 'validateRepositoryUrl', async ({ body, res }) => {
    res.json(repositoryUrlVerdict(body.url));
  });

  route(routes, 'validateProjectRepository', async ({ body, res }) => {
    res.json(repositoryValidation(body.url));
  });

  route(routes, 'listRepositories', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listRepositories(tx, params.projectId, query)));
  });

  route(routes, 'createRepository', async ({ params, body, req, res }) => {
    checkPathPatterns(body);
    const repository = await inTransaction(req, (tx) => createRepository(tx, params.projectId, body));
    res.status(201).location(`/api/v1/projects/${repository.projectId}/repositories/${repository.id}`).json(repository);
  });

  route(routes, 'getRepository', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getRepository(tx, params.projectId, params.repositoryId)));
  });

  route(routes, 'updateRepository', async ({ params, body, req, res }) => {
    checkPathPatterns(body);
    res.json(await inTransaction(req, (tx) => updateRepository(tx, params.projectId, params.repositoryId, body)));
  });

  route(routes, 'deleteRepository', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteRepository(tx, params.projectId, params.repositoryId));
    res.status(204).end();
  });

  return routes;
}
