import type { RequestTransaction } from '../../db/transaction';
import { fireFileChangeReflexes, fireFileDeletedReflexes } from '../../events/file-changes';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, loadProjectAccess } from '../access';
import { DELETE_FILE, FILE_BY_ID, fileListQuery, INSERT_FILE, toProjectFile, type ProjectFile, type ProjectFileRow } from './sql';

// Each operation of /projects/{projectId}/files: given the request
// transaction and the request's parts (typed from the contract), it checks,
// stores and answers. The path is normalized before (see path.ts).

const NOT_FOUND = 'There is no such file in this project.';
const EDIT = 'register or remove its files';

export async function listFiles(tx: RequestTransaction, projectId: string, query: RequestQuery<'listProjectFiles'>): Promise<Page<ProjectFile>> {
  const access = await loadProjectAccess(tx, projectId);
  return paginate(tx, fileListQuery(access.projectId, query, pageRequest(query)), toProjectFile);
}

/** Registers a file at its normalized `path`; the reflexes watching the project's files fire in the same transaction. */
export async function registerFile(
  tx: RequestTransaction,
  projectId: string,
  body: RequestBody<'registerProjectFile'>,
  path: string,
): Promise<ProjectFile> {
  const access = await loadEditableProject(tx, projectId, EDIT);
  const inserted = await tx.query<ProjectFileRow>(INSERT_FILE, [
    access.projectId,
    body.name,
    path,
    body.mimeType,
    body.sizeBytes,
    body.checksum.toLowerCase(),
    body.storageKey,
    body.storageProvider ?? 'local',
  ]);
  const registered = toProjectFile(inserted.rows[0]!);
  await fireFileChangeReflexes(tx, 'create', registered);
  return registered;
}

export async function getFile(tx: RequestTransaction, projectId: string, fileId: string): Promise<ProjectFile> {
  const access = await loadProjectAccess(tx, projectId);
  const found = await tx.query<ProjectFileRow>(FILE_BY_ID, [fileId, access.projectId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toProjectFile(found.rows[0]!);
}

export async function deleteFile(tx: RequestTransaction, projectId: string, fileId: string): Promise<void> {
  const access = await loadEditableProject(tx, projectId, EDIT);
  await fireFileDeletedReflexes(tx, access.projectId, fileId);
  const deleted = await tx.query(DELETE_FILE, [fileId, access.projectId]);
  if (deleted.rowCount === 0) throw problems.notFound(NOT_FOUND);
}
