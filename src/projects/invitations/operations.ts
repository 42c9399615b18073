import { requireUser, type RequestTransaction } from '../../db/transaction';
import type { InvitationMailer } from '../../mail/invitations';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery, ResponseBody } from '../../http/route';
import { problems } from '../../problems';
import { loadEditableProject, type ProjectAccess } from '../access';
import { MEMBER_BY_ID, toProjectMember, type ProjectMemberRow } from '../members/sql';
import {
  invitationBatch,
  inviteesOf,
  normalizeEmail,
  planInvitations,
  plausibleAddresses,
  refusal,
  requireAdminInviteRight,
  requireCancellable,
  requireResendable,
  settleInvitations,
  type Invitee,
} from './rules';
import {
  ACCEPT_INVITATION,
  CANCEL_INVITATION,
  EXPIRE_STALE_INVITATIONS,
  INSERT_INVITATIONS,
  invitationListQuery,
  LOCK_INVITATION,
  MEMBER_EMAILS,
  PENDING_EMAILS,
  RENEW_INVITATION,
  SELECT_ORGANIZATION,
  toInvitation,
  type AcceptRow,
  type Invitation,
  type InvitationResult,
  type InvitationRow,
} from './sql';
import { hashInvitationToken, newInvitationToken } from './tokens';

// Each operation of the invitations: given the request transaction and the
// request's parts (typed from the contract), it checks, stores and answers.
// What a batch of addresses comes to is decided in rules.ts.

type Batch = ResponseBody<'createInvitations', 200>;
type WithToken = ResponseBody<'resendInvitation', 200>;
type Acceptance = ResponseBody<'acceptInvitation', 200>;

const INVITATION_NOT_FOUND = 'There is no such invitation in this project.';
const DEFAULT_VALIDITY_DAYS = 7;

async function lockInvitation(tx: RequestTransaction, invitationId: string, projectId: string): Promise<InvitationRow> {
  const found = await tx.query<InvitationRow>(LOCK_INVITATION, [invitationId, projectId]);
  const row = found.rows[0];
  if (!row) throw problems.notFound(INVITATION_NOT_FOUND);
  return row;
}

/** Which of the addresses already belong to a member, and which have a live pending invitation: address -> id. */
async function knownAddresses(
  tx: RequestTransaction,
  projectId: string,
  addresses: string[],
): Promise<{ members: Map<string, string>; pending: Map<string, string> }> {
  if (addresses.length === 0) return { members: new Map(), pending: new Map() };
  await tx.query(EXPIRE_STALE_INVITATIONS, [projectId, addresses, null]);
  const members = await tx.query<{ email: string; id: string }>(MEMBER_EMAILS, [projectId, addresses]);
  const pending = await tx.query<{ email: string; id: string }>(PENDING_EMAILS, [projectId, addresses]);
  const byEmail = (rows: Array<{ email: string; id: string }>) => new Map(rows.map((row) => [row.email, row.id]));
  return { members: byEmail(members.rows), pending: byEmail(pending.rows) };
}

export async function listInvitations(tx: RequestTransaction, projectId: string, query: RequestQuery<'listInvitations'>): Promise<Page<Invitation>> {
  const access = await loadEditableProject(tx, projectId, 'see invitations');
  return paginate(tx, invitationListQuery(access.projectId, pageRequest(query), query.sort), toInvitation);
}

/**
 * One result per invitee, in request order; new plausible addresses are
 * invited, each with its token shown once. The caller has loaded the project
 * as an editor; the admin role's extra right is checked here.
 */
export async function inviteToProject(
  tx: RequestTransaction,
  access: ProjectAccess,
  invitees: readonly Invitee[],
  options: { message: string | null; validityDays: number; mailer: InvitationMailer },
): Promise<InvitationResult[]> {
  const inviter = requireUser(tx);
  requireAdminInviteRight(access, invitees.map((invitee) => invitee.role));
  const normalized = invitees.map((invitee) => normalizeEmail(invitee.email));
  const { members, pending } = await knownAddresses(tx, access.projectId, plausibleAddresses(normalized));
  const plan = planInvitations(invitees, normalized, members, pending);
  if (plan.toInvite.length === 0) return plan.results;

  const tokens = new Map(plan.toInvite.map((invitee) => [invitee.email, newInvitationToken()]));
  const inserted = await tx.query<InvitationRow>(INSERT_INVITATIONS, [
    access.projectId,
    plan.toInvite.map((invitee) => invitee.email),
    plan.toInvite.map((invitee) => invitee.role),
    options.message,
    inviter,
    options.validityDays,
    plan.toInvite.map((invitee) => tokens.get(invitee.email)!.hash.toString('hex')),
    plan.toInvite.map((invitee) => invitee.notifyOnIngestion),
    plan.toInvite.map((invitee) => invitee.notifyOnError),
    plan.toInvite.map((invitee) => invitee.notifyOnTeamChanges),
  ]);
  const shown = new Map([...tokens].map(([email, fresh]) => [email, fresh.token]));
  // Each new invitation's mail, with its link, queued in this transaction: it goes only if the invitation is made.
  await options.mailer.queue(
    tx,
    inserted.rows.flatMap((row) => (shown.has(row.email) ? [{ id: row.id, token: shown.get(row.email)! }] : [])),
  );
  return settleInvitations(plan, normalized, inserted.rows, shown);
}

export async function createInvitations(
  tx: RequestTransaction,
  projectId: string,
  body: RequestBody<'createInvitations'>,
  mailer: InvitationMailer,
): Promise<Batch> {
  const invitees = inviteesOf(body);
  const access = await loadEditableProject(tx, projectId, 'invite people');
  const results = await inviteToProject(tx, access, invitees, {
    message: body.message ?? null,
    validityDays: body.expiresInDays ?? DEFAULT_VALIDITY_DAYS,
    mailer,
  });
  return invitationBatch(results);
}

export async function resendInvitation(tx: RequestTransaction, projectId: string, invitationId: string, mailer: InvitationMailer): Promise<WithToken> {
  const access = await loadEditableProject(tx, projectId, 'resend invitations');
  const current = await lockInvitation(tx, invitationId, access.projectId);
  requireResendable(current);
  // A lapsed pending invitation to the same address must not stand in the way
  // of this one becoming pending again; a live one does (409 by the unique index).
  await tx.query(EXPIRE_STALE_INVITATIONS, [access.projectId, [current.email.toLowerCase()], current.id]);
  const fresh = newInvitationToken();
  const updated = await tx.query<InvitationRow>(RENEW_INVITATION, [current.id, access.projectId, fresh.hash]);
  await mailer.queue(tx, [{ id: current.id, token: fresh.token }]);
  return { invitation: toInvitation(updated.rows[0]!), token: fresh.token };
}

export async function cancelInvitation(tx: RequestTransaction, projectId: string, invitationId: string): Promise<void> {
  const access = await loadEditableProject(tx, projectId, 'cancel invitations');
  const current = await lockInvitation(tx, invitationId, access.projectId);
  requireCancellable(current);
  await tx.query(CANCEL_INVITATION, [current.id, access.projectId]);
}

export async function acceptInvitation(tx: RequestTransaction, body: RequestBody<'acceptInvitation'>): Promise<Acceptance> {
  requireUser(tx);
  const outcome = await tx.query<AcceptRow>(ACCEPT_INVITATION, [hashInvitationToken(body.token)]);
  const row = outcome.rows[0]!;
  if (row.outcome !== 'accepted') throw refusal(row.outcome);
  const organizationId = row.organization_id!;
  const projectId = row.project_id!;
  // The member policies show only rows of the organization selected for this
  // request, which was resolved before the invitation made the caller a member
  // of the project's organization: usually their default (often personal)
  // organization, or whatever X-Organization-Id named. Select the project's
  // organization for the rest of this transaction, as begin_request would have
  // with that header, so the new membership is read back through row level
  // security like any other (the caller now belongs to that organization).
  await tx.query(SELECT_ORGANIZATION, [organizationId]);
  const member = await tx.query<ProjectMemberRow>(MEMBER_BY_ID, [row.member_id, projectId]);
  return { projectId, organizationId, member: toProjectMember(member.rows[0]!) };
}
