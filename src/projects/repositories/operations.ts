import { uniqueViolation } from '../../db/errors';
import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, loadProjectAccess, requireSameProject } from '../access';
import { repositoryIdentity } from './rules';
import {
  DELETE_REPOSITORY,
  INSERT_REPOSITORY,
  REPOSITORY_BY_ID,
  repositoryColumnValues,
  repositoryListQuery,
  toRepository,
  updateRepositorySql,
  type Repository,
  type RepositoryRow,
} from './sql';

// Each operation of /projects/{projectId}/repositories: given the request
// transaction and the request's parts (typed from the contract), it checks,
// stores and answers. The path patterns are checked before (see rules.ts).

const NOT_FOUND = 'There is no such repository in this project.';
const EDIT = 'connect, change or disconnect its repositories';

export async function listRepositories(tx: RequestTransaction, projectId: string, query: RequestQuery<'listRepositories'>): Promise<Page<Repository>> {
  const access = await loadProjectAccess(tx, projectId);
  return paginate(tx, repositoryListQuery(access.projectId, query, pageRequest(query)), toRepository);
}

export async function createRepository(tx: RequestTransaction, projectId: string, body: RequestBody<'createRepository'>): Promise<Repository> {
  requireSameProject(body.projectId, projectId);
  const access = await loadEditableProject(tx, projectId, EDIT);
  // After the access checks: a caller who may not change the project gets its 404 or 403, not a verdict on the URL.
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
}

export async function getRepository(tx: RequestTransaction, projectId: string, repositoryId: string): Promise<Repository> {
  const access = await loadProjectAccess(tx, projectId);
  const found = await tx.query<RepositoryRow>(REPOSITORY_BY_ID, [repositoryId, access.projectId]);
  if (found.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toRepository(found.rows[0]!);
}

export async function updateRepository(
  tx: RequestTransaction,
  projectId: string,
  repositoryId: string,
  body: RequestBody<'updateRepository'>,
): Promise<Repository> {
  const access = await loadEditableProject(tx, projectId, EDIT);
  const { columns, values } = repositoryColumnValues(body);
  let updated;
  try {
    updated = await tx.query<RepositoryRow>(updateRepositorySql(columns), [repositoryId, access.projectId, ...values]);
  } catch (error) {
    // Only the branch can make a PATCH collide with another connection of the same URL.
    throw uniqueViolation(error, '/body/branch') ?? error;
  }
  if (updated.rowCount === 0) throw problems.notFound(NOT_FOUND);
  return toRepository(updated.rows[0]!);
}

export async function deleteRepository(tx: RequestTransaction, projectId: string, repositoryId: string): Promise<void> {
  const access = await loadEditableProject(tx, projectId, EDIT);
  const deleted = await tx.query(DELETE_REPOSITORY, [repositoryId, access.projectId]);
  if (deleted.rowCount === 0) throw problems.notFound(NOT_FOUND);
}
