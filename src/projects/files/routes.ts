import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems } from '../../problems';
import { fireFileChangeReflexes, fireFileDeletedReflexes } from '../../events/file-changes';
import { loadProjectAccess, requireEditor } from '../access';
import { normalizeFilePath } from './path';
import { DELETE_FILE, FILE_BY_ID, fileListQuery, INSERT_FILE, toProjectFile, type ProjectFileRow } from './sql';

type ListQuery = NonNullable<operations['listProjectFiles']['parameters']['query']>;
type CreateBody = operations['registerProjectFile']['requestBody']['content']['application/json'];

const NOT_FOUND = 'There is no such file in this project.';
const EDIT = 'register or remove its files';

export function filesRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/projects/:projectId/files', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      return paginate(tx, fileListQuery(access.projectId, query, pageRequest(query)), toProjectFile);
    });
    res.json(page);
  });

  router.post('/projects/:projectId/files', async (req, res) => {
    const body = req.body as CreateBody;
    const path = normalizeFilePath(body.path);
    if (!path.ok) throw problems.validation(path.reason, [{ path: '/body/path', message: path.reason }]);
    const file = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      requireEditor(access, EDIT);
      const inserted = await tx.query<ProjectFileRow>(INSERT_FILE, [
        access.projectId,
        body.name,
        path.path,
        body.mimeType,
        body.sizeBytes,
        body.checksum.toLowerCase(),
        body.storageKey,
        body.storageProvider ?? 'local',
      ]);
      const registered = toProjectFile(inserted.rows[0]!);
      await fireFileChangeReflexes(tx, 'create', registered);
      return registered;
    });
    res.status(201).location(`/api/v1/projects/${file.projectId}/files/${file.id}`).json(file);
  });

  router.get('/projects/:projectId/files/:fileId', async (req, res) => {
    const file = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      const found = await tx.query<ProjectFileRow>(FILE_BY_ID, [req.params.fileId, access.projectId]);
      if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
      return toProjectFile(found.rows[0]!);
    });
    res.json(file);
  });

  router.delete('/projects/:projectId/files/:fileId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      requireEditor(access, EDIT);
      await fireFileDeletedReflexes(tx, access.projectId, req.params.fileId!);
      const deleted = await tx.query(DELETE_FILE, [req.params.fileId, access.projectId]);
      if (deleted.rowCount === 0) throw problems.notFound(NOT_FOUND);
    });
    res.status(204).end();
  });

  return router;
}
