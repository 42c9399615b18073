import type { RequestTransaction } from '../db/transaction';
import { requireOrganization } from '../db/transaction';
import { problems } from '../problems';
import { PROJECT_ACCESS, type ProjectAccessRow } from './sql';

export interface ProjectAccess {
  projectId: string;
  organizationId: string;
  creatorId: string | null;
  /** Creator, project admin/manager, organization owner/admin. */
  canEdit: boolean;
  /** Creator, project admin, organization owner/admin. */
  canRemoveMembers: boolean;
}

export const PROJECT_NOT_FOUND = 'There is no such project, or you may not see it.';

/**
 * The project as the caller may see it, in one query: row level security
 * decides whether it exists for them (else 404), and the same helpers the
 * policies use say what they may do with it, so handlers can answer 403
 * before trying a write that the database would refuse anyway.
 */
export async function loadProjectAccess(tx: RequestTransaction, projectId: string): Promise<ProjectAccess> {
  requireOrganization(tx);
  const found = await tx.query<ProjectAccessRow>(PROJECT_ACCESS, [projectId]);
  const row = found.rows[0];
  if (!row) throw problems.notFound(PROJECT_NOT_FOUND);
  return {
    projectId: row.id,
    organizationId: row.organization_id,
    creatorId: row.user_id,
    canEdit: row.can_edit,
    canRemoveMembers: row.can_remove_members,
  };
}

/** 403 unless the caller may edit the project. */
export function requireEditor(access: ProjectAccess, what = 'change this project'): void {
  if (!access.canEdit) {
    throw problems.forbidden(`Only the creator, project admins and managers, and organization owners and admins may ${what}.`);
  }
}

/** Loads the project and refuses anyone who may not edit it (403 naming `what`). */
export async function loadEditableProject(tx: RequestTransaction, projectId: string, what?: string): Promise<ProjectAccess> {
  const access = await loadProjectAccess(tx, projectId);
  requireEditor(access, what);
  return access;
}

/** A body's projectId, when the frontend sends one, must be the path's: a mismatch is a 400, never a silent pick. */
export function requireSameProject(bodyProjectId: string | undefined, pathProjectId: string): void {
  if (bodyProjectId !== undefined && bodyProjectId.toLowerCase() !== pathProjectId.toLowerCase()) {
    throw problems.validation('The projectId in the body is not the project of the path.', [
      { path: '/body/projectId', message: 'must be the project named in the path' },
    ]);
  }
}

/**
 * The organization a new project goes to when the body names one (the
 * frontend's CreateProjectRequest.organizationId): it stands in for a missing
 * X-Organization-Id header, and must agree with one that is sent.
 */
export function organizationOfCreation(bodyOrganizationId: string | undefined, header: string | undefined): string | undefined {
  if (bodyOrganizationId === undefined) return undefined;
  if (header !== undefined && header.toLowerCase() !== bodyOrganizationId.toLowerCase()) {
    throw problems.validation('The organizationId in the body is not the organization of the X-Organization-Id header.', [
      { path: '/body/organizationId', message: 'must be the organization named in X-Organization-Id' },
    ]);
  }
  return bodyOrganizationId;
}
