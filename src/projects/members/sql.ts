import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { registerUniqueConstraints } from '../../db/errors';

export type ProjectMember = components['schemas']['ProjectMember'];
export type ProjectMemberRole = components['schemas']['ProjectMemberRole'];

export interface ProjectMemberRow {
  id: string;
  project_id: string;
  user_id: string;
  email: string;
  name: string | null;
  avatar_url: string | null;
  role: ProjectMemberRole;
  notify_on_ingestion: boolean;
  notify_on_error: boolean;
  notify_on_team_changes: boolean;
  invited_at: string;
  accepted_at: string | null;
  last_active_at: string | null;
  is_creator: boolean;
  created_at: string;
  updated_at: string;
}

/**
 * A membership `pm` joined to its project `p` (for is_creator), e.g.
 * `select ${PROJECT_MEMBER_COLUMNS} from public.project_members pm
 *  join public.projects p on p.id = pm.project_id where pm.project_id = $1`.
 */
export const PROJECT_MEMBER_COLUMNS = `pm.id, pm.project_id, pm.user_id, pm.email, pm.name, pm.avatar_url, pm.role,
  pm.notify_on_ingestion, pm.notify_on_error, pm.notify_on_team_changes,
  pm.invited_at, pm.accepted_at, pm.last_active_at, (pm.user_id = p.user_id) as is_creator,
  pm.created_at, pm.updated_at`;

/** The same FROM every member read uses, so `p` is always the membership's own project. */
export const PROJECT_MEMBER_FROM = 'public.project_members pm join public.projects p on p.id = pm.project_id';

export function toProjectMember(row: ProjectMemberRow): ProjectMember {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    avatarUrl: row.avatar_url,
    role: row.role,
    notifyOnIngestion: row.notify_on_ingestion,
    notifyOnError: row.notify_on_error,
    notifyOnTeamChanges: row.notify_on_team_changes,
    invitedAt: row.invited_at,
    acceptedAt: row.accepted_at,
    lastActiveAt: row.last_active_at,
    isCreator: row.is_creator,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Request fields of a membership update, and the column each lands in. */
export const WRITABLE_MEMBER_FIELDS = {
  role: 'role',
  notifyOnIngestion: 'notify_on_ingestion',
  notifyOnError: 'notify_on_error',
  notifyOnTeamChanges: 'notify_on_team_changes',
} as const satisfies Partial<Record<keyof ProjectMember, keyof ProjectMemberRow>>;

export type WritableMemberField = keyof typeof WRITABLE_MEMBER_FIELDS;

/** The writable fields a body sends, in the whitelist's order. */
export function sentMemberFields(body: Partial<Record<WritableMemberField, unknown>>): WritableMemberField[] {
  return (Object.keys(WRITABLE_MEMBER_FIELDS) as WritableMemberField[]).filter((field) => body[field] !== undefined);
}

/** Splits a body into column names and values, in the whitelist's order; fields not sent are left out. */
export function memberColumnValues(body: Partial<Record<WritableMemberField, unknown>>): { columns: string[]; values: unknown[] } {
  const fields = sentMemberFields(body);
  return { columns: fields.map((field) => WRITABLE_MEMBER_FIELDS[field]), values: fields.map((field) => body[field]) };
}

/** Fields a member who does not edit the project may still change on their own membership. */
export const SELF_SERVICE_MEMBER_FIELDS: ReadonlySet<string> = new Set([
  'notifyOnIngestion',
  'notifyOnError',
  'notifyOnTeamChanges',
]);

export const MEMBER_BY_ID = `select ${PROJECT_MEMBER_COLUMNS} from ${PROJECT_MEMBER_FROM} where pm.id = $1 and pm.project_id = $2`;

/** Who a membership belongs to, to decide who may change it. */
export const MEMBER_OWNER = 'select pm.user_id, pm.role from public.project_members pm where pm.id = $1 and pm.project_id = $2';

export interface MemberOwnerRow {
  user_id: string;
  role: ProjectMemberRole;
}

/**
 * A person the caller may add: a member of the project's organization, by id
 * or by email (case-insensitively). organization_members is readable by the
 * organization's members and profiles by people sharing an organization, so
 * anyone else simply is not found.
 */
export const ORGANIZATION_PERSON = `select pr.id, pr.email, pr.full_name, pr.avatar_url
  from public.organization_members om
  join public.profiles pr on pr.id = om.user_id
  where om.organization_id = $1
    and ($2::uuid is null or pr.id = $2::uuid)
    and ($3::text is null or lower(pr.email) = lower($3::text))`;

export interface OrganizationPersonRow {
  id: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
}

/** Adds an accepted membership ($7-$9 the notification preferences) and reads it back with is_creator. */
export const INSERT_MEMBER = `with pm as (
    insert into public.project_members (project_id, user_id, email, name, avatar_url, role, accepted_at,
                                        notify_on_ingestion, notify_on_error, notify_on_team_changes)
    values ($1, $2, $3, $4, $5, $6, now(), $7, $8, $9)
    returning *
  )
  select ${PROJECT_MEMBER_COLUMNS} from pm join public.projects p on p.id = pm.project_id`;

/** A change of member $1 of project $2: the values of `columns` from $3 on, read back with is_creator. */
export function updateMemberSql(columns: readonly string[]): string {
  const assignments = columns.map((column, i) => `${column} = $${i + 3}`);
  return `with pm as (
    update public.project_members set ${assignments.join(', ')}
    where id = $1 and project_id = $2
    returning *
  )
  select ${PROJECT_MEMBER_COLUMNS} from pm join public.projects p on p.id = pm.project_id`;
}

export const DELETE_MEMBER = 'delete from public.project_members where id = $1 and project_id = $2';

type ListQuery = RequestQuery<'listProjectMembers'>;

/** The whitelisted sorts, each ending in a unique key so pages never overlap. */
const MEMBER_SORTS: Record<NonNullable<ListQuery['sort']>, string> = {
  createdAt: 'pm.created_at asc, pm.id asc',
  '-createdAt': 'pm.created_at desc, pm.id desc',
  email: 'lower(pm.email) asc',
  '-email': 'lower(pm.email) desc',
};

/** A project's members, optionally of one role. */
export function memberListQuery(projectId: string, filters: Pick<ListQuery, 'role' | 'sort'>, page: PageRequest): PageQuery<ProjectMemberRow> {
  const params: unknown[] = [projectId];
  const where = ['pm.project_id = $1'];
  if (filters.role !== undefined) {
    params.push(filters.role);
    where.push(`pm.role = $${params.length}`);
  }
  return {
    select: PROJECT_MEMBER_COLUMNS,
    fromWhere: `${PROJECT_MEMBER_FROM} where ${where.join(' and ')}`,
    params,
    orderBy: MEMBER_SORTS[filters.sort ?? 'createdAt'],
    page,
  };
}

registerUniqueConstraints({
  project_members_project_id_user_id_key: { detail: 'This user is already a member of the project.', problemCode: 'project_member_exists' },
  project_members_project_email_key: {
    detail: 'Someone with this email is already a member of the project.',
    problemCode: 'project_member_email_exists',
  },
});
