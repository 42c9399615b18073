import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { deleteFile, getFile, listFiles, registerFile } from './operations';
import { requireFilePath } from './path';

/** /projects/{projectId}/files: each handler parses (the contract did), calls its operation, responds. */
export function filesRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  route(routes, 'listProjectFiles', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listFiles(tx, params.projectId, query)));
  });

  route(routes, 'registerProjectFile', async ({ params, body, req, res }) => {
    const path = requireFilePath(body.path);
    const file = await inTransaction(req, (tx) => registerFile(tx, params.projectId, body, path));
    res.status(201).location(`/api/v1/projects/${file.projectId}/files/${file.id}`).json(file);
  });

  route(routes, 'getProjectFile', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getFile(tx, params.projectId, params.fileId)));
  });

  route(routes, 'deleteProjectFile', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteFile(tx, params.projectId, params.fileId));
    res.status(204).end();
  });

  return routes;
}
