import express, { type Router } from 'express';
import { refuseHiddenWrite } from '../db/refused-writes';
import type { operations } from '../generated/openapi';
import { requireOrganization, requireUser } from '../db/transaction';
import { PROJECT_NOT_FOUND } from './access';
import type { RunInTransaction } from '../http/context';
import { paginate, pageRequest } from '../http/pagination';
import { problems } from '../problems';
import {
  PROJECT_COLUMNS,
  projectDetailQuery,
  projectListQuery,
  toProject,
  toProjectDetail,
  WRITABLE_PROJECT_FIELDS,
  type ProjectDetailRow,
  type ProjectRow,
} from './sql';
import { PROJECT_STATS, toProjectStats, type ProjectStatsRow } from './stats';

type ListQuery = NonNullable<operations['listProjects']['parameters']['query']>;
type GetQuery = NonNullable<operations['getProject']['parameters']['query']>;
type CreateBody = operations['createProject']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateProject']['requestBody']['content']['application/json'];
type NameCheck = operations['validateProjectName']['requestBody']['content']['application/json'];
type NameVerdict = operations['validateProjectName']['responses']['200']['content']['application/json'];


/** Splits a body into column names and values, in the whitelist's order. */
function columnsOf(body: Record<string, unknown>): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [field, column] of Object.entries(WRITABLE_PROJECT_FIELDS)) {
    if (body[field] === undefined) continue;
    columns.push(column);
    values.push(field === 'customSettings' ? JSON.stringify(body[field]) : body[field]);
  }
  return { columns, values };
}


// The contract's ProjectName pattern: no surrounding whitespace, no line breaks.
const NAME_SHAPE = /^\S(.*\S)?$/u;

/** The same rules the contract and the database apply on create, as reasons. */
function nameProblems(name: string): string[] {
  const reasons: string[] = [];
  const length = [...name].length;
  if (length < 3) reasons.push('A project name needs at least 3 characters.');
  if (length > 50) reasons.push('A project name has at most 50 characters.');
  if (name.includes('\u0000')) reasons.push('A project name cannot contain NUL characters.');
  else if (length > 0 && !NAME_SHAPE.test(name)) {
    reasons.push('A project name cannot start or end with whitespace or contain line breaks.');
  }
  return reasons;
}

export function projectsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/projects', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) =>
      paginate(tx, projectListQuery(requireOrganization(tx), query, pageRequest(query)), toProject),
    );
    res.json(page);
  });

  router.post('/projects', async (req, res) => {
    const body = req.body as CreateBody;
    const project = await inTransaction(req, async (tx) => {
      const { columns, values } = columnsOf(body);
      const params = [requireOrganization(tx), requireUser(tx), ...values];
      const placeholders = values.map((_, i) => `$${i + 3}`);
      const inserted = await tx.query<ProjectRow>(
        `insert into public.projects as p (organization_id, user_id, ${columns.join(', ')})
         values ($1, $2, ${placeholders.join(', ')})
         returning ${PROJECT_COLUMNS}`,
        params,
      );
      return toProject(inserted.rows[0]!);
    });
    res.status(201).location(`/api/v1/projects/${project.id}`).json(project);
  });

  router.post('/projects/validate-name', async (req, res) => {
    const body = req.body as NameCheck;
    const verdict = await inTransaction(req, async (tx): Promise<NameVerdict> => {
      requireOrganization(tx);
      const reasons = nameProblems(body.name);
      const valid = reasons.length === 0;
      // Text PostgreSQL cannot hold (NUL) cannot be anyone's name either.
      let available = true;
      if (!body.name.includes('\u0000')) {
        const taken = await tx.query<{ taken: boolean }>('select app.project_name_taken($1, $2) as taken', [
          body.name.trim(),
          body.excludeProjectId ?? null,
        ]);
        available = !taken.rows[0]!.taken;
      }
      if (!available) reasons.push('A project with this name already exists in this organization.');
      return { name: body.name, valid, available, reasons };
    });
    res.json(verdict);
  });

  router.get('/projects/:projectId', async (req, res) => {
    // The validator has split the comma list into an array of known names (unknown ones are a 400).
    const include = (req.query as GetQuery).include ?? [];
    const project = await inTransaction(req, async (tx) => {
      requireOrganization(tx);
      // One statement whatever is included: each relation is a json subquery (see projectDetailQuery).
      const found = await tx.query<ProjectDetailRow>(projectDetailQuery(include), [req.params.projectId]);
      if (found.rowCount === 0) throw problems.notFound(PROJECT_NOT_FOUND);
      return toProjectDetail(found.rows[0]!, include);
    });
    res.json(project);
  });

  router.get('/projects/:projectId/stats', async (req, res) => {
    const stats = await inTransaction(req, async (tx) => {
      requireOrganization(tx);
      const found = await tx.query<ProjectStatsRow>(PROJECT_STATS, [req.params.projectId]);
      if (found.rowCount === 0) throw problems.notFound(PROJECT_NOT_FOUND);
      return toProjectStats(found.rows[0]!);
    });
    res.json(stats);
  });

  router.patch('/projects/:projectId', async (req, res) => {
    const body = req.body as UpdateBody;
    const project = await inTransaction(req, async (tx) => {
      requireOrganization(tx);
      const { columns, values } = columnsOf(body);
      const assignments = columns.map((column, i) => `${column} = $${i + 2}`);
      const updated = await tx.query<ProjectRow>(
        `update public.projects p set ${assignments.join(', ')} where p.id = $1 returning ${PROJECT_COLUMNS}`,
        [req.params.projectId, ...values],
      );
      if (updated.rowCount === 0) {
        return refuseHiddenWrite(tx, 'project', req.params.projectId, {
          notFound: PROJECT_NOT_FOUND,
          forbidden: 'Only the creator, project admins and managers, and organization owners and admins may edit this project.',
        });
      }
      return toProject(updated.rows[0]!);
    });
    res.json(project);
  });

  router.delete('/projects/:projectId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      requireOrganization(tx);
      const deleted = await tx.query('delete from public.projects where id = $1', [req.params.projectId]);
      if (deleted.rowCount === 0) {
        await refuseHiddenWrite(tx, 'project', req.params.projectId, {
          notFound: PROJECT_NOT_FOUND,
          forbidden: 'Only the creator or the organization owner may delete this project.',
        });
      }
    });
    res.status(204).end();
  });

  return router;
}
