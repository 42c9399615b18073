import { requireUser, type RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, loadProjectAccess } from '../access';
import {
  CURRENT_INGESTION,
  ingestionListQuery,
  INSERT_INGESTION,
  progressAssignments,
  toIngestion,
  updateIngestionSql,
  type Ingestion,
  type IngestionRow,
} from './sql';

// Each operation of /projects/{projectId}/ingestions: given the request
// transaction and the request's parts (typed from the contract), it checks,
// stores and answers.

const NO_SUCH_INGESTION = 'There is no such ingestion of this project.';

export async function listIngestions(tx: RequestTransaction, projectId: string, query: RequestQuery<'listIngestions'>): Promise<Page<Ingestion>> {
  const access = await loadProjectAccess(tx, projectId);
  return paginate(tx, ingestionListQuery(access.projectId, pageRequest(query), query.sort), toIngestion);
}

/** The body is optional: without one there is no message. */
export async function startIngestion(tx: RequestTransaction, projectId: string, body: RequestBody<'startIngestion'>): Promise<Ingestion> {
  const userId = requireUser(tx);
  const access = await loadEditableProject(tx, projectId, 'start an ingestion');
  // A second unfinished one breaks ingestion_progress_one_unfinished_key: 409.
  const inserted = await tx.query<IngestionRow>(INSERT_INGESTION, [access.projectId, body?.message ?? null, userId]);
  return toIngestion(inserted.rows[0]!);
}

/** The unfinished ingestion, or null when none runs (the project itself must be visible: else 404). */
export async function currentIngestion(tx: RequestTransaction, projectId: string): Promise<Ingestion | null> {
  const access = await loadProjectAccess(tx, projectId);
  const found = await tx.query<IngestionRow>(CURRENT_INGESTION, [access.projectId]);
  return found.rowCount === 0 ? null : toIngestion(found.rows[0]!);
}

/**
 * A worker's report (checked by checkProgressReport). service_role bypasses
 * row level security and may have no organization: the ingestion is scoped
 * by both ids, explicitly.
 */
export async function reportProgress(
  tx: RequestTransaction,
  projectId: string,
  ingestionId: string,
  body: RequestBody<'reportIngestionProgress'>,
): Promise<Ingestion> {
  const { assignments, values } = progressAssignments(body);
  const updated = await tx.query<IngestionRow>(updateIngestionSql(assignments), [ingestionId, projectId, ...values]);
  if (updated.rowCount === 0) throw problems.notFound(NO_SUCH_INGESTION);
  return toIngestion(updated.rows[0]!);
}
