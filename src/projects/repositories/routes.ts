import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems, type FieldError } from '../../problems';
import { loadProjectAccess, requireEditor } from '../access';
import { pathPatternProblem } from '../files/path';
import {
  DELETE_REPOSITORY,
  INSERT_REPOSITORY,
  REPOSITORY_BY_ID,
  REPOSITORY_COLUMNS,
  repositoryListQuery,
  toRepository,
  WRITABLE_REPOSITORY_FIELDS,
  type RepositoryRow,
} from './sql';
import { checkRepositoryUrl, repositoryUrlVerdict, selfHostedRepository, type GitProvider } from './url';

type UrlCheckBody = operations['validateRepositoryUrl']['requestBody']['content']['application/json'];
type ListQuery = NonNullable<operations['listRepositories']['parameters']['query']>;
type CreateBody = operations['createRepository']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateRepository']['requestBody']['content']['application/json'];

const NOT_FOUND = 'There is no such repository in this project.';
const EDIT = 'connect, change or disconnect its repositories';
const NAME_LIMIT = 200;

const unprocessable = (path: string, message: string) => problems.unprocessable(message, [{ path, message }]);

/** 400 naming every include or exclude pattern that breaks the path rule (see ../files/path.ts). */
function checkPathPatterns(body: Pick<CreateBody, 'includePaths' | 'excludePaths'>): void {
  const errors: FieldError[] = [];
  for (const field of ['includePaths', 'excludePaths'] as const) {
    body[field]?.forEach((pattern, i) => {
      const problem = pathPatternProblem(pattern);
      if (problem) errors.push({ path: `/body/${field}/${i}`, message: problem });
    });
  }
  if (errors.length > 0) throw problems.validation(errors[0]!.message, errors);
}

/**
 * What a new repository row holds for its URL, provider and name.
 *
 * Stored URL: a recognised URL is stored in its normalized form (https, no
 * credentials, query, fragment, `.git` or trailing slash), so that the unique
 * (project, url, branch) constraint sees https://github.com/a/b,
 * http://github.com/a/b/ and https://github.com/a/b.git as the one repository
 * they are. Case in the path is kept as written (hosts differ on whether it
 * matters). A host we do not recognise is accepted only when the caller names
 * the provider (a self-hosted server): then the scheme is kept (internal
 * servers may be http only) and the same suffixes are dropped.
 */
function repositoryIdentity(body: CreateBody): { provider: GitProvider; url: string; name: string } {
  const check = checkRepositoryUrl(body.repositoryUrl);
  let provider: GitProvider;
  let url: string;
  let derivedName: string;
  if (check.ok) {
    if (body.provider !== undefined && body.provider !== check.provider) {
      throw unprocessable('/body/provider', `The URL is a ${check.provider} repository, not ${body.provider}.`);
    }
    provider = check.provider;
    url = check.normalizedUrl;
    derivedName = `${check.owner}/${check.repository}`;
  } else if (check.code === 'unknown-host' && body.provider !== undefined && check.parsed) {
    const selfHosted = selfHostedRepository(check.parsed);
    if (!selfHosted) throw unprocessable('/body/repositoryUrl', 'The URL names no repository path.');
    provider = body.provider;
    url = selfHosted.url;
    derivedName = selfHosted.name;
  } else {
    const hint = check.code === 'unknown-host' ? ' Name the provider to connect a self-hosted server.' : '';
    throw unprocessable('/body/repositoryUrl', `${check.reason}${hint}`);
  }
  const name = body.repositoryName ?? derivedName;
  if (body.repositoryName === undefined && [...name].length > NAME_LIMIT) {
    throw unprocessable('/body/repositoryName', `The name taken from the URL is longer than ${NAME_LIMIT} characters; give a repositoryName.`);
  }
  return { provider, url, name };
}

export function repositoriesRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  // Pure: no database, no network. The token is still required (the contract's security).
  router.post('/repositories/validate-url', (req, res) => {
    const body = req.body as UrlCheckBody;
    res.json(repositoryUrlVerdict(body.url));
  });

  router.get('/projects/:projectId/repositories', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      return paginate(tx, repositoryListQuery(access.projectId, query, pageRequest(query)), toRepository);
    });
    res.json(page);
  });

  router.post('/projects/:projectId/repositories', async (req, res) => {
    const body = req.body as CreateBody;
    checkPathPatterns(body);
    const repository = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      requireEditor(access, EDIT);
      const { provider, url, name } = repositoryIdentity(body);
      const inserted = await tx.query<RepositoryRow>(INSERT_REPOSITORY, [
        access.projectId,
        provider,
        url,
        name,
        body.branch ?? null,
        body.includePaths ?? null,
        body.excludePaths ?? null,
      ]);
      return toRepository(inserted.rows[0]!);
    });
    res
      .status(201)
      .location(`/api/v1/projects/${repository.projectId}/repositories/${repository.id}`)
      .json(repository);
  });

  router.get('/projects/:projectId/repositories/:repositoryId', async (req, res) => {
    const repository = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      const found = await tx.query<RepositoryRow>(REPOSITORY_BY_ID, [req.params.repositoryId, access.projectId]);
      if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
      return toRepository(found.rows[0]!);
    });
    res.json(repository);
  });

  router.patch('/projects/:projectId/repositories/:repositoryId', async (req, res) => {
    const body = req.body as UpdateBody;
    checkPathPatterns(body);
    const repository = await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      requireEditor(access, EDIT);
      const columns: string[] = [];
      const values: unknown[] = [];
      for (const [field, column] of Object.entries(WRITABLE_REPOSITORY_FIELDS)) {
        const value = (body as Record<string, unknown>)[field];
        if (value === undefined) continue;
        columns.push(column);
        values.push(value);
      }
      const assignments = columns.map((column, i) => `${column} = $${i + 3}`);
      let updated;
      try {
        updated = await tx.query<RepositoryRow>(
          `update public.project_repositories r set ${assignments.join(', ')}
           where r.id = $1 and r.project_id = $2
           returning ${REPOSITORY_COLUMNS}`,
          [req.params.repositoryId, access.projectId, ...values],
        );
      } catch (error) {
        // Only the branch can make a PATCH collide with another connection of the same URL.
        if ((error as { constraint?: string }).constraint === 'project_repositories_project_id_repository_url_branch_key') {
          const detail = 'This repository is already connected to the project with that branch.';
          const errors: FieldError[] = [{ path: '/body/branch', message: detail }];
          throw problems.conflict(detail, errors);
        }
        throw error;
      }
      if (updated.rowCount === 0) throw problems.notFound(NOT_FOUND);
      return toRepository(updated.rows[0]!);
    });
    res.json(repository);
  });

  router.delete('/projects/:projectId/repositories/:repositoryId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      const access = await loadProjectAccess(tx, req.params.projectId!);
      requireEditor(access, EDIT);
      const deleted = await tx.query(DELETE_REPOSITORY, [req.params.repositoryId, access.projectId]);
      if (deleted.rowCount === 0) throw problems.notFound(NOT_FOUND);
    });
    res.status(204).end();
  });

  return router;
}
