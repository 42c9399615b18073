import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';
import type { ProjectAccess } from '../access';
import type { AcceptRow, InvitationResult, InvitationRow } from './sql';
import { toInvitation } from './sql';

// The rules of inviting people that need no database: which addresses are
// plausible, what each address of a batch comes to, and what the invitee is
// told when an invitation cannot be accepted.

// A plausible address: dot-separated atoms, then host labels of at most 63
// characters and a top-level label that starts with a letter. It accepts no
// more than the contract's `format: email` does, so a stored address always
// passes response validation, and no more than the table's own check.
const EMAIL_PATTERN =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$/i;

const ALREADY_INVITED = 'This address already has a pending invitation to the project.';

/** The address as it will be stored (trimmed, lowercase), or null when it is not plausible. */
export function normalizeEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_PATTERN.test(email)) return null;
  const local = email.slice(0, email.lastIndexOf('@'));
  return local.length <= 64 ? email : null;
}

/** The plausible addresses of a batch, each once: the ones worth asking the database about. */
export function plausibleAddresses(normalized: readonly (string | null)[]): string[] {
  return [...new Set(normalized.filter((email): email is string => email !== null))];
}

type InviteBody = RequestBody<'createInvitations'>;
type ProjectMemberRole = NonNullable<InviteBody['role']>;
type NotificationLevel = NonNullable<NonNullable<InviteBody['invitations']>[number]['notificationLevel']>;

/** The three preferences a membership stores, as an invitation carries them until it is accepted. */
export interface NotificationPreferences {
  notifyOnIngestion: boolean;
  notifyOnError: boolean;
  notifyOnTeamChanges: boolean;
}

/** One person to invite, as sent (the address not yet judged). */
export interface Invitee extends NotificationPreferences {
  email: string;
  role: ProjectMemberRole;
}

/**
 * The frontend's notification level as the stored preferences: digests
 * (daily, weekly) still carry ingestion and error notices; only real-time
 * adds every team change.
 */
export function notificationPreferences(level: NotificationLevel = 'real-time'): NotificationPreferences {
  const any = level !== 'disabled';
  return { notifyOnIngestion: any, notifyOnError: any, notifyOnTeamChanges: level === 'real-time' };
}

/**
 * The people a batch names, in request order: `emails` with the one role, or
 * `invitations` with a role and notification level each (the top-level role,
 * else viewer, for those without one). Exactly one of the two: else a 400.
 */
export function inviteesOf(body: Pick<InviteBody, 'emails' | 'invitations' | 'role'>): Invitee[] {
  const fallbackRole = body.role ?? 'viewer';
  if (body.emails !== undefined && body.invitations === undefined) {
    return body.emails.map((email) => ({ email, role: fallbackRole, ...notificationPreferences() }));
  }
  if (body.invitations !== undefined && body.emails === undefined) {
    return body.invitations.map((invitee) => ({
      email: invitee.email,
      role: invitee.role ?? fallbackRole,
      ...notificationPreferences(invitee.notificationLevel),
    }));
  }
  const message = body.emails === undefined ? 'give emails or invitations' : 'give either emails or invitations, not both';
  throw problems.validation('Name the people to invite by exactly one of emails and invitations.', [
    { path: '/body/emails', message, code: 'oneOf' },
    { path: '/body/invitations', message, code: 'oneOf' },
  ]);
}

/** Inviting someone as admin grants the admin role: the same right as promoting a member. */
export function requireAdminInviteRight(access: ProjectAccess, roles: readonly ProjectMemberRole[]): void {
  if (roles.includes('admin') && !access.canRemoveMembers) {
    throw problems.forbidden('Only project admins, the creator, and organization owners and admins may invite admins.');
  }
}

type Outcome = InvitationResult['outcome'];

/** A result as the frontend reads it too: sent, pending (already invited) or failed, with the id resend and cancel take. */
export function invitationResult(
  email: string,
  outcome: Outcome,
  extra: { detail?: string; memberId?: string | null; invitation?: InvitationResult['invitation']; token?: string } = {},
): InvitationResult {
  const status = outcome === 'invited' ? 'sent' : outcome === 'already_invited' ? 'pending' : 'failed';
  const { detail, memberId = null, invitation, token } = extra;
  return {
    email,
    status,
    memberId,
    error: outcome === 'invited' ? null : (detail ?? null),
    outcome,
    ...(detail !== undefined ? { detail } : {}),
    ...(invitation !== undefined ? { invitation } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

/** The batch as the frontend's BulkInvitationResponse: it succeeded when no address failed. */
export function invitationBatch(results: InvitationResult[]) {
  const totalSent = results.filter((result) => result.status === 'sent').length;
  const totalFailed = results.filter((result) => result.status === 'failed').length;
  return { success: totalFailed === 0, results, totalSent, totalFailed };
}

export interface InvitationPlan {
  /** One result per address sent, in request order; `invited` ones are settled once stored. */
  results: InvitationResult[];
  /** The people to invite, each address once, in the order of its first occurrence (address normalized). */
  toInvite: Invitee[];
}

/**
 * What each invitee of a batch comes to, in request order: the first
 * occurrence of a new plausible address is the one invited, later ones are
 * already invited by it. `normalized` is each invitee's address through
 * normalizeEmail; `members` and `pending` map the normalized addresses the
 * project already has to the membership's or the pending invitation's id.
 */
export function planInvitations(
  invitees: readonly Invitee[],
  normalized: readonly (string | null)[],
  members: ReadonlyMap<string, string>,
  pending: ReadonlyMap<string, string>,
): InvitationPlan {
  const results: InvitationResult[] = [];
  const toInvite = new Map<string, Invitee>();
  invitees.forEach((invitee, index) => {
    const raw = invitee.email;
    const email = normalized[index];
    if (email === null || email === undefined) {
      results.push(invitationResult(raw, 'invalid_email', { detail: 'This is not a plausible email address.' }));
    } else if (members.has(email)) {
      const detail = 'Someone with this address is already a member of the project.';
      results.push(invitationResult(raw, 'already_member', { detail, memberId: members.get(email)! }));
    } else if (pending.has(email) || toInvite.has(email)) {
      results.push(invitationResult(raw, 'already_invited', { detail: ALREADY_INVITED, memberId: pending.get(email) ?? null }));
    } else {
      toInvite.set(email, { ...invitee, email });
      results.push(invitationResult(raw, 'invited'));
    }
  });
  return { results, toInvite: [...toInvite.values()] };
}

/**
 * The plan's results once the invitations are stored: an invited address
 * gets its invitation and token, or, when no row came back for it (someone
 * invited the address between the read and the insert), becomes already invited.
 * A later duplicate of an address invited now points at the new invitation.
 */
export function settleInvitations(
  plan: InvitationPlan,
  normalized: readonly (string | null)[],
  created: readonly InvitationRow[],
  tokens: ReadonlyMap<string, string>,
): InvitationResult[] {
  const byEmail = new Map(created.map((row) => [row.email, row]));
  return plan.results.map((result, index) => {
    const email = normalized[index];
    const row = email ? byEmail.get(email) : undefined;
    if (result.outcome === 'already_invited' && result.memberId === null && row) return { ...result, memberId: row.id };
    if (result.outcome !== 'invited') return result;
    if (!row) return invitationResult(result.email, 'already_invited', { detail: ALREADY_INVITED });
    return invitationResult(result.email, 'invited', { memberId: row.id, invitation: toInvitation(row), token: tokens.get(email!)! });
  });
}

/** 409 unless the invitation may be sent again. */
export function requireResendable(invitation: Pick<InvitationRow, 'status'>): void {
  if (invitation.status === 'accepted') throw problems.conflict('This invitation has been accepted; it cannot be sent again.');
  if (invitation.status === 'cancelled') throw problems.conflict('This invitation was cancelled; send a new one instead.');
}

/** 409 unless the invitation may be cancelled. */
export function requireCancellable(invitation: Pick<InvitationRow, 'status'>): void {
  if (invitation.status === 'accepted') throw problems.conflict('This invitation has already been accepted; remove the member instead.');
  if (invitation.status === 'cancelled') throw problems.conflict('This invitation is already cancelled.');
}

/** What each outcome of app.accept_project_invitation means to the invitee. */
export function refusal(outcome: Exclude<AcceptRow['outcome'], 'accepted'>) {
  switch (outcome) {
    case 'not_found':
      return problems.notFound('There is no such invitation; check that the link was copied in full.');
    case 'cancelled':
      return problems.gone('This invitation was cancelled; ask the project team for a new one.');
    case 'used':
      return problems.gone('This invitation has already been accepted; each invitation works once.');
    case 'expired':
      return problems.gone('This invitation has expired; ask the project team to send it again.');
    case 'email_mismatch':
      return problems.forbidden('This invitation was sent to another address; sign in with that address to accept it.');
    case 'email_unconfirmed':
      return problems.forbidden('Confirm your email address first; invitations are accepted only by confirmed addresses.');
    case 'already_member':
      return problems.conflict('You are already a member of this project; the invitation stays open for its team to cancel.');
    case 'member_inactive':
      return problems.forbidden('Your membership of this organization is deactivated; ask its owners or admins to reactivate it.');
  }
}
