import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import { route } from '../../http/route';
import { deleteFile, getFile, listFiles, registerFile } from './operations';
import { requireFilePath } from './path';

/** /projects/{projectId}/files: each handler parses (the contract did), calls its operation, responds. */
export function filesRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  route(router, 'listProjectFiles', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listFiles(tx, params.projectId, query)));
  });

  route(router, 'registerProjectFile', async ({ params, body, req, res }) => {
    const path = requireFilePath(body.path);
    const file = await inTransaction(req, (tx) => registerFile(tx, params.projectId, body, path));
    res.status(201).location(`/api/v1/projects/${file.projectId}/files/${file.id}`).json(file);
  });

  route(router, 'getProjectFile', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getFile(tx, params.projectId, params.fileId)));
  });

  route(router, 'deleteProjectFile', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteFile(tx, params.projectId, params.fileId));
    res.status(204).end();
  });

  return router;
}
