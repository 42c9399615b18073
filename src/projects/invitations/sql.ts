import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { registerUniqueConstraints } from '../../db/errors';

export type Invitation = components['schemas']['Invitation'];
export type InvitationResult = components['schemas']['InvitationResult'];

export interface InvitationRow {
  id: string;
  project_id: string;
  email: string;
  role: Invitation['role'];
  message: string | null;
  notify_on_ingestion: boolean;
  notify_on_error: boolean;
  notify_on_team_changes: boolean;
  status: Invitation['status'];
  invited_by: string | null;
  expires_at: string;
  accepted_at: string | null;
  created_at: string;
}

/** Columns of an invitation `i`. token_hash is never read back. */
export const INVITATION_COLUMNS = `i.id, i.project_id, i.email, i.role, i.message,
  i.notify_on_ingestion, i.notify_on_error, i.notify_on_team_changes, i.status, i.invited_by,
  i.expires_at, i.accepted_at, i.created_at`;

export function toInvitation(row: InvitationRow): Invitation {
  return {
    id: row.id,
    projectId: row.project_id,
    email: row.email,
    role: row.role,
    message: row.message,
    notifyOnIngestion: row.notify_on_ingestion,
    notifyOnError: row.notify_on_error,
    notifyOnTeamChanges: row.notify_on_team_changes,
    status: row.status,
    invitedBy: row.invited_by,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    createdAt: row.created_at,
  };
}

/** How long a resent invitation lasts. */
export const RESEND_VALIDITY = '7 days';

/**
 * Invitations still marked pending after their expiry are expired for real,
 * so that they block neither a new invitation nor a renewed one (the unique
 * index allows one pending row per address). $1 project, $2 lowercased addresses,
 * $3 an invitation to leave alone (or null).
 */
export const EXPIRE_STALE_INVITATIONS = `update public.project_invitations i
  set status = 'expired'
  where i.project_id = $1 and lower(i.email) = any($2::text[])
    and i.status = 'pending' and i.expires_at <= now()
    and i.id is distinct from $3::uuid`;

/** Which of the (lowercased) addresses already belong to a member of the project, with the membership's id (unique per address). */
export const MEMBER_EMAILS = `select lower(pm.email) as email, pm.id from public.project_members pm
  where pm.project_id = $1 and lower(pm.email) = any($2::text[])`;

/** Which of the (lowercased) addresses have a pending invitation, with its id (run after EXPIRE_STALE_INVITATIONS). */
export const PENDING_EMAILS = `select lower(i.email) as email, i.id from public.project_invitations i
  where i.project_id = $1 and i.status = 'pending' and lower(i.email) = any($2::text[])`;

/**
 * One row per new address: $1 project, $2 addresses, $3 roles, $4 message,
 * $5 inviter, $6 days of validity, $7 token hashes (hex), $8-$10 the three
 * notification preferences; the arrays in the same order as $2.
 * An address that gained a pending invitation concurrently is skipped, not an
 * error: the caller reports it as already invited.
 */
export const INSERT_INVITATIONS = `insert into public.project_invitations as i
    (project_id, email, role, message, invited_by, expires_at, token_hash,
     notify_on_ingestion, notify_on_error, notify_on_team_changes)
  select $1::uuid, e.email, e.role::public.project_member_role, $4::text, $5::uuid,
         now() + make_interval(days => $6::int), decode(e.token_hash, 'hex'),
         e.on_ingestion, e.on_error, e.on_team_changes
  from unnest($2::text[], $3::text[], $7::text[], $8::boolean[], $9::boolean[], $10::boolean[])
    as e(email, role, token_hash, on_ingestion, on_error, on_team_changes)
  on conflict (project_id, lower(email)) where status = 'pending' do nothing
  returning ${INVITATION_COLUMNS}`;

/** The invitation, locked for the rest of the transaction. */
export const LOCK_INVITATION = `select ${INVITATION_COLUMNS} from public.project_invitations i
  where i.id = $1 and i.project_id = $2 for update`;

/** New token and expiry; back to pending. */
export const RENEW_INVITATION = `update public.project_invitations i
  set token_hash = $3, expires_at = now() + interval '${RESEND_VALIDITY}', status = 'pending'
  where i.id = $1 and i.project_id = $2
  returning ${INVITATION_COLUMNS}`;

export const CANCEL_INVITATION = `update public.project_invitations i
  set status = 'cancelled', cancelled_at = now()
  where i.id = $1 and i.project_id = $2`;

export const ACCEPT_INVITATION = `select a.outcome, a.project_id, a.organization_id, a.member_id
  from app.accept_project_invitation($1) a`;

/**
 * Selects organization $1 for the rest of the transaction, as begin_request
 * does with X-Organization-Id, so that the member policies show its rows.
 */
export const SELECT_ORGANIZATION = `select set_config('app.organization_id', $1, true)`;

export interface AcceptRow {
  outcome:
    | 'accepted'
    | 'not_found'
    | 'cancelled'
    | 'used'
    | 'expired'
    | 'email_mismatch'
    | 'email_unconfirmed'
    | 'member_inactive'
    | 'already_member';
  project_id: string | null;
  organization_id: string | null;
  member_id: string | null;
}

type InvitationSort = NonNullable<RequestQuery<'listInvitations'>['sort']>;

/** The whitelisted sorts, each ending in a unique key so pages never overlap. */
const INVITATION_SORTS: Record<InvitationSort, string> = {
  createdAt: 'i.created_at asc, i.id asc',
  '-createdAt': 'i.created_at desc, i.id desc',
  expiresAt: 'i.expires_at asc, i.id asc',
  '-expiresAt': 'i.expires_at desc, i.id desc',
};

/** A project's open invitations (pending and not yet expired). */
export function invitationListQuery(projectId: string, page: PageRequest, sort: InvitationSort = '-createdAt'): PageQuery<InvitationRow> {
  return {
    select: INVITATION_COLUMNS,
    fromWhere: `public.project_invitations i where i.project_id = $1 and i.status = 'pending' and i.expires_at > now()`,
    params: [projectId],
    orderBy: INVITATION_SORTS[sort]!,
    page,
  };
}

registerUniqueConstraints({
  project_invitations_pending_email_key: {
    detail: 'This address already has a pending invitation to the project.',
    problemCode: 'invitation_already_pending',
  },
});
