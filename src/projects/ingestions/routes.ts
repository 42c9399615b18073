import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import { requireUser } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems } from '../../problems';
import { loadProjectAccess, requireEditor } from '../access';
import { INGESTION_COLUMNS, INGESTION_SORTS, toIngestion, UNFINISHED, type IngestionRow } from './sql';

type ListQuery = NonNullable<operations['listIngestions']['parameters']['query']>;
type StartBody = NonNullable<operations['startIngestion']['requestBody']>['content']['application/json'];
type UpdateBody = operations['reportIngestionProgress']['requestBody']['content']['application/json'];

const NO_SUCH_INGESTION = 'There is no such ingestion of this project.';

/**
 * The SET list of a progress report, in a fixed order. Validation of each
 * value is the contract's; the rules between fields are checked here, and the
 * ones about the stored row (forward phases, finished is final) by the
 * database's trigger, which answers 55000 (409).
 */
function progressAssignments(body: UpdateBody): { assignments: string[]; values: unknown[] } {
  if (body.completed === true && body.error !== undefined) {
    throw problems.validation('An ingestion either completes or fails, not both.', [
      { path: '/body/error', message: 'must not be sent together with completed' },
    ]);
  }
  if (body.completed !== true) {
    for (const field of ['originalTokens', 'optimizedTokens'] as const) {
      if (body[field] !== undefined) {
        throw problems.validation('Token totals are reported together with completed: true.', [
          { path: `/body/${field}`, message: 'is only accepted together with completed: true' },
        ]);
      }
    }
  }
  // Parameters $1 and $2 are the ingestion's and the project's ids.
  const assignments: string[] = [];
  const values: unknown[] = [];
  const set = (sql: (placeholder: string) => string, value: unknown) => {
    values.push(value);
    assignments.push(sql(`$${values.length + 2}`));
  };
  if (body.phase !== undefined) set((v) => `phase = ${v}::public.ingestion_phase`, body.phase);
  if (body.progressPercent !== undefined) set((v) => `progress_percent = ${v}`, body.progressPercent);
  if (body.message !== undefined) set((v) => `message = ${v}`, body.message);
  // Counters given replace the stored ones; the others stay as they are.
  if (body.metrics !== undefined) set((v) => `metrics = i.metrics || ${v}::jsonb`, JSON.stringify(body.metrics));
  if (body.estimatedCompletionAt !== undefined) {
    set((v) => `estimated_completion_at = ${v}::timestamptz`, body.estimatedCompletionAt);
  }
  if (body.completed === true) {
    // The trigger sets progress to 100 and the project follows (active, totals, time).
    assignments.push('completed_at = now()');
    if (body.originalTokens !== undefined) set((v) => `original_tokens = ${v}`, body.originalTokens);
    if (body.optimizedTokens !== undefined) set((v) => `optimized_tokens = ${v}`, body.optimizedTokens);
  }
  if (body.error !== undefined) {
    set((v) => `error_message = ${v}`, body.error.message);
    set((v) => `error_code = ${v}`, body.error.code ?? null);
  }
  return { assignments, values };
}

export function ingestionsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/projects/:projectId/ingestions', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      return paginate<IngestionRow, ReturnType<typeof toIngestion>>(
        tx,
        {
          select: INGESTION_COLUMNS,
          // Served by ingestion_progress_project_started_idx (project_id, started_at, id), read backwards.
          fromWhere: 'public.ingestion_progress i where i.project_id = $1',
          params: [access.projectId],
          orderBy: INGESTION_SORTS[query.sort ?? '-startedAt'],
          page: pageRequest(query),
        },
        toIngestion,
      );
    });
    res.json(page);
  });

  router.post('/projects/:projectId/ingestions', async (req, res) => {
    // The body is optional: without one, express.json leaves req.body undefined.
    const body = (req.body ?? {}) as StartBody;
    const ingestion = await inTransaction(req, async (tx) => {
      const userId = requireUser(tx);
      const access = await loadProjectAccess(tx, req.params.projectId!);
      requireEditor(access, 'start an ingestion');
      // A second unfinished one breaks ingestion_progress_one_unfinished_key: 409.
      const inserted = await tx.query<IngestionRow>(
        `insert into public.ingestion_progress as i (project_id, message, started_by)
         values ($1, $2, $3)
         returning ${INGESTION_COLUMNS}`,
        [access.projectId, body.message ?? null, userId],
      );
      return toIngestion(inserted.rows[0]!);
    });
    res.status(201).json(ingestion);
  });

  router.get('/projects/:projectId/ingestions/current', async (req, res) => {
    const ingestion = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      const found = await tx.query<IngestionRow>(
        `select ${INGESTION_COLUMNS} from public.ingestion_progress i where i.project_id = $1 and ${UNFINISHED}`,
        [access.projectId],
      );
      if (found.rowCount === 0) throw problems.notFound('This project has no unfinished ingestion.');
      return toIngestion(found.rows[0]!);
    });
    res.json(ingestion);
  });

  router.patch('/projects/:projectId/ingestions/:ingestionId', async (req, res) => {
    // Workers report progress with a service_role token; people never do, not even the creator.
    if (req.identity?.role !== 'service_role') {
      throw problems.forbidden('Only ingestion workers (service_role tokens) may report ingestion progress.');
    }
    const { assignments, values } = progressAssignments(req.body as UpdateBody);
    const ingestion = await inTransaction(req, async (tx) => {
      // service_role bypasses row level security and may have no organization:
      // the ingestion is scoped by both ids here, explicitly.
      const updated = await tx.query<IngestionRow>(
        `update public.ingestion_progress i set ${assignments.join(', ')}
         where i.id = $1 and i.project_id = $2
         returning ${INGESTION_COLUMNS}`,
        [req.params.ingestionId, req.params.projectId, ...values],
      );
      if (updated.rowCount === 0) throw problems.notFound(NO_SUCH_INGESTION);
      return toIngestion(updated.rows[0]!);
    }, { allowServiceRole: true });
    res.json(ingestion);
  });

  return router;
}
