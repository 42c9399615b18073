import { asServiceRole, requireUser, type RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery, ResponseBody } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, loadProjectAccess, requireSameProject } from '../access';
import { estimateDurationSeconds, preflightProblems, type IngestionSources } from './rules';
import {
  CANCEL_INGESTION,
  CURRENT_INGESTION,
  INGESTION_PLANNING,
  ingestionListQuery,
  ingestionStatus,
  INSERT_INGESTION,
  LOCK_CURRENT_INGESTION,
  LOCK_INGESTION,
  progressAssignments,
  toIngestion,
  updateIngestionSql,
  type Ingestion,
  type IngestionPlanningRow,
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

type Started = ResponseBody<'startIngestion', 201>;
type Cancellation = ResponseBody<'cancelIngestion', 200>;

const UP_TO_DATE =
  'The latest ingestion of this project completed and nothing has changed since; send forceReprocess: true to ingest it again.';

/**
 * The body is optional: without one there is no message, the repository
 * check runs and an up-to-date project is not ingested again.
 */
export async function startIngestion(tx: RequestTransaction, projectId: string, body: RequestBody<'startIngestion'>): Promise<Started> {
  const userId = requireUser(tx);
  requireSameProject(body?.projectId, projectId);
  const access = await loadEditableProject(tx, projectId, 'start an ingestion');
  const planning = (await tx.query<IngestionPlanningRow>(INGESTION_PLANNING, [access.projectId])).rows[0]!;
  const sources: IngestionSources = {
    repositories: planning.repositories,
    failedRepositories: planning.failed_repositories,
    files: planning.files,
    fileBytes: Number(planning.file_bytes),
  };
  if (body?.skipValidation !== true) {
    const found = preflightProblems(sources);
    if (found.length > 0) {
      throw problems.unprocessable('The project is not ready to ingest; fix what is listed, or send skipValidation: true.', found);
    }
  }
  if (planning.up_to_date && body?.forceReprocess !== true) throw problems.conflict(UP_TO_DATE).because('ingestion_up_to_date');
  const estimate = estimateDurationSeconds(sources, planning.mean_seconds);
  // A second unfinished one breaks ingestion_progress_one_unfinished_key: 409.
  const inserted = await tx.query<IngestionRow>(INSERT_INGESTION, [access.projectId, body?.message ?? null, userId, estimate]);
  const ingestion = toIngestion(inserted.rows[0]!);
  return { ...ingestion, jobId: ingestion.id, estimatedDurationSeconds: estimate };
}

/** Cancels a locked ingestion row: a finished one is a 409 here, and the database's guard refuses it as well. */
async function cancelLocked(tx: RequestTransaction, projectId: string, row: IngestionRow): Promise<Cancellation> {
  const status = ingestionStatus(row);
  if (status !== 'processing') throw problems.conflict(`This ingestion has already ended (${status}); only a processing one can be cancelled.`);
  const cancelled = await tx.query<IngestionRow>(CANCEL_INGESTION, [row.id, projectId]);
  const updated = cancelled.rows[0];
  // Only reachable if the policies and the editor check above ever disagree.
  if (!updated) throw problems.forbidden('You may not cancel this ingestion.');
  return { success: true, ingestion: toIngestion(updated) };
}

export async function cancelIngestion(tx: RequestTransaction, projectId: string, ingestionId: string): Promise<Cancellation> {
  const access = await loadEditableProject(tx, projectId, 'cancel an ingestion');
  const found = await tx.query<IngestionRow>(LOCK_INGESTION, [ingestionId, access.projectId]);
  const row = found.rows[0];
  if (!row) throw problems.notFound(NO_SUCH_INGESTION);
  return cancelLocked(tx, access.projectId, row);
}

/** The frontend cancels by project: the unfinished ingestion, a 409 when there is none. */
export async function cancelCurrentIngestion(tx: RequestTransaction, projectId: string): Promise<Cancellation> {
  const access = await loadEditableProject(tx, projectId, 'cancel an ingestion');
  const found = await tx.query<IngestionRow>(LOCK_CURRENT_INGESTION, [access.projectId]);
  const row = found.rows[0];
  if (!row) throw problems.conflict('No ingestion of this project is processing; there is nothing to cancel.');
  return cancelLocked(tx, access.projectId, row);
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
  const update = () => tx.query<IngestionRow>(updateIngestionSql(assignments), [ingestionId, projectId, ...values]);
  if (tx.identity.apiKey) {
    // A worker's key: the ingestion must be one it can see in its
    // organization; the write itself is the back office's (request roles
    // have no grant on progress columns), and the claim guard checks that
    // this key holds the claim.
    await loadProjectAccess(tx, projectId);
    const visible = await tx.query('select 1 from public.ingestion_progress i where i.id = $1 and i.project_id = $2', [ingestionId, projectId]);
    if (visible.rowCount === 0) throw problems.notFound(NO_SUCH_INGESTION);
  }
  const updated = tx.identity.apiKey ? await asServiceRole(tx, update) : await update();
  if (updated.rowCount === 0) throw problems.notFound(NO_SUCH_INGESTION);
  return toIngestion(updated.rows[0]!);
}
