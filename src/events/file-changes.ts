import type { RequestTransaction } from '../db/transaction';
import { requireOrganization } from '../db/transaction';
import type { components } from '../generated/openapi';
import type { FileEvent } from '../reflexes/definition';
import { fireMatchingReflexes, MAX_REFLEXES_PER_EVENT, type ReflexCandidate, type ReflexFiring } from '../reflexes/fire';
import { FILE_CHANGE_REFLEX_CANDIDATES, FILE_OF_PROJECT, type ProjectFileRow } from './sql';

type ProjectFile = components['schemas']['ProjectFile'];

/** The payload a file_change reflex sees (and its skill gets as input). */
export function fileChangePayload(kind: FileEvent, file: Pick<ProjectFile, 'id' | 'projectId' | 'name' | 'path' | 'mimeType' | 'sizeBytes'>) {
  return {
    event: kind,
    fileId: file.id,
    projectId: file.projectId,
    name: file.name,
    path: file.path,
    mimeType: file.mimeType,
    sizeBytes: file.sizeBytes,
  };
}

/** The organization's active file_change reflexes (one index range; usually none). */
async function fileChangeCandidates(tx: RequestTransaction): Promise<ReflexCandidate[]> {
  const organizationId = requireOrganization(tx);
  const candidates = await tx.query<ReflexCandidate>(FILE_CHANGE_REFLEX_CANDIDATES, [organizationId, MAX_REFLEXES_PER_EVENT]);
  return candidates.rows;
}

/**
 * Fires the organization's active file_change reflexes whose globs and event
 * kinds match, in the same transaction as the change: if the change rolls
 * back, so do the executions.
 */
export async function fireFileChangeReflexes(tx: RequestTransaction, kind: FileEvent, file: ProjectFile): Promise<ReflexFiring[]> {
  const candidates = await fileChangeCandidates(tx);
  if (candidates.length === 0) return [];
  return fireMatchingReflexes(tx, candidates, { payload: fileChangePayload(kind, file) }, { skipRefused: true });
}

/** For a deletion, called before the row goes: the reflexes still see the file's path and name. */
export async function fireFileDeletedReflexes(tx: RequestTransaction, projectId: string, fileId: string): Promise<ReflexFiring[]> {
  const candidates = await fileChangeCandidates(tx);
  if (candidates.length === 0) return [];
  const found = await tx.query<ProjectFileRow>(FILE_OF_PROJECT, [fileId, projectId]);
  const row = found.rows[0];
  if (!row) return [];
  const file = { id: row.id, projectId: row.project_id, name: row.name, path: row.path, mimeType: row.mime_type, sizeBytes: row.size_bytes };
  return fireMatchingReflexes(tx, candidates, { payload: fileChangePayload('delete', file) }, { skipRefused: true });
}
