import { refuseHiddenWrite } from '../db/refused-writes';
import { requireOrganization, requireUser, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery, ResponseBody } from '../http/route';
import { problems } from '../problems';
import { PROJECT_NOT_FOUND } from './access';
import { canBeStored, NAME_TAKEN, projectNameProblems } from './name';
import {
  DELETE_PROJECT,
  insertProjectSql,
  ORGANIZATION_PROJECT_STATS,
  PROJECT_NAME_TAKEN,
  projectColumnValues,
  projectDetailQuery,
  projectListQuery,
  toProject,
  toProjectDetail,
  updateProjectSql,
  type Project,
  type ProjectDetail,
  type ProjectDetailRow,
  type ProjectInclude,
  type OrganizationProjectStatsRow,
  type ProjectRow,
} from './sql';
import { PROJECT_STATS, toProjectStats, type ProjectStats, type ProjectStatsRow } from './stats';

// Each operation of /projects: given the request transaction and the request's
// parts (typed from the contract), it checks, stores and answers.

type NameVerdict = ResponseBody<'validateProjectName', 200>;

export function listProjects(tx: RequestTransaction, query: RequestQuery<'listProjects'>): Promise<Page<Project>> {
  return paginate(tx, projectListQuery(requireOrganization(tx), query, pageRequest(query)), toProject);
}

export async function createProject(tx: RequestTransaction, body: RequestBody<'createProject'>): Promise<Project> {
  const { columns, values } = projectColumnValues(body);
  const inserted = await tx.queryLast<ProjectRow>(insertProjectSql(columns), [requireOrganization(tx), requireUser(tx), ...values]);
  return toProject(inserted.rows[0]!);
}

/**
 * Every rule the name breaks, and whether a project of the organization
 * already has it. `valid` means "can be used now" (rules kept and free): the
 * frontend shows a name as fine when valid is true, so a taken name is not.
 */
export async function checkProjectName(tx: RequestTransaction, body: RequestBody<'validateProjectName'>): Promise<NameVerdict> {
  requireOrganization(tx);
  const reasons = projectNameProblems(body.name);
  let available = true;
  if (canBeStored(body.name)) {
    const taken = await tx.query<{ taken: boolean }>(PROJECT_NAME_TAKEN, [body.name.trim(), body.excludeProjectId ?? null]);
    available = !taken.rows[0]!.taken;
  }
  if (!available) reasons.push(NAME_TAKEN);
  return { name: body.name, valid: reasons.length === 0, available, error: reasons[0] ?? null, reasons };
}

/** One statement whatever is included: each relation is a json subquery (see projectDetailQuery). */
export async function getProject(tx: RequestTransaction, projectId: string, include: readonly ProjectInclude[]): Promise<ProjectDetail> {
  requireOrganization(tx);
  const found = await tx.queryLast<ProjectDetailRow>(projectDetailQuery(include), [projectId]);
  if (found.rowCount === 0) throw problems.notFound(PROJECT_NOT_FOUND);
  return toProjectDetail(found.rows[0]!, include);
}

/** The dashboard's counts (the frontend's ProjectStats) over the projects the caller can see. */
export async function organizationProjectStats(tx: RequestTransaction): Promise<ResponseBody<'getOrganizationProjectStats', 200>> {
  const row = (await tx.query<OrganizationProjectStatsRow>(ORGANIZATION_PROJECT_STATS, [requireOrganization(tx)])).rows[0]!;
  return {
    totalProjects: row.total_projects,
    activeProjects: row.active_projects,
    processingProjects: row.processing_projects,
    errorProjects: row.error_projects,
    totalTokens: row.total_tokens,
    totalFiles: row.total_files,
  };
}

export async function getProjectStats(tx: RequestTransaction, projectId: string): Promise<ProjectStats> {
  requireOrganization(tx);
  const found = await tx.query<ProjectStatsRow>(PROJECT_STATS, [projectId]);
  if (found.rowCount === 0) throw problems.notFound(PROJECT_NOT_FOUND);
  return toProjectStats(found.rows[0]!);
}

export async function updateProject(tx: RequestTransaction, projectId: string, body: RequestBody<'updateProject'>): Promise<Project> {
  requireOrganization(tx);
  const { columns, values } = projectColumnValues(body);
  const updated = await tx.query<ProjectRow>(updateProjectSql(columns), [projectId, ...values]);
  if (updated.rowCount === 0) {
    return refuseHiddenWrite(tx, 'project', projectId, {
      notFound: PROJECT_NOT_FOUND,
      forbidden: 'Only the creator, project admins and managers, and organization owners and admins may edit this project.',
    });
  }
  return toProject(updated.rows[0]!);
}

export async function deleteProject(tx: RequestTransaction, projectId: string): Promise<void> {
  requireOrganization(tx);
  const deleted = await tx.query(DELETE_PROJECT, [projectId]);
  if (deleted.rowCount === 0) {
    await refuseHiddenWrite(tx, 'project', projectId, {
      notFound: PROJECT_NOT_FOUND,
      forbidden: 'Only the creator or the organization owner may delete this project.',
    });
  }
}
