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

/** Inviting someone as admin grants the admin role: the same right as promoting a member. */
export function requireAdminInviteRight(access: ProjectAccess, role: RequestBody<'createInvitations'>['role']): void {
  if (role === 'admin' && !access.canRemoveMembers) {
    throw problems.forbidden('Only project admins, the creator, and organization owners and admins may invite admins.');
  }
}

export interface InvitationPlan {
  /** One result per address sent, in request order; `invited` ones are settled once stored. */
  results: InvitationResult[];
  /** The addresses to invite, each once, in the order of their first occurrence. */
  toInvite: string[];
}

/**
 * What each address of a batch comes to, in request order: the first
 * occurrence of a new plausible address is the one invited, later ones are
 * already invited by it. `normalized` is `emails` through normalizeEmail;
 * `members` and `pending` are the normalized addresses the project already has.
 */
export function planInvitations(
  emails: readonly string[],
  normalized: readonly (string | null)[],
  members: ReadonlySet<string>,
  pending: ReadonlySet<string>,
): InvitationPlan {
  const results: InvitationResult[] = [];
  const toInvite = new Set<string>();
  emails.forEach((raw, index) => {
    const email = normalized[index];
    if (email === null || email === undefined) {
      results.push({ email: raw, outcome: 'invalid_email', detail: 'This is not a plausible email address.' });
    } else if (members.has(email)) {
      results.push({ email: raw, outcome: 'already_member', detail: 'Someone with this address is already a member of the project.' });
    } else if (pending.has(email) || toInvite.has(email)) {
      results.push({ email: raw, outcome: 'already_invited', detail: ALREADY_INVITED });
    } else {
      toInvite.add(email);
      results.push({ email: raw, outcome: 'invited' });
    }
  });
  return { results, toInvite: [...toInvite] };
}

/**
 * The plan's results once the invitations are stored: an invited address
 * gets its invitation and token, or, when no row came back for it (someone
 * invited the address between the read and the insert), becomes already invited.
 */
export function settleInvitations(
  plan: InvitationPlan,
  normalized: readonly (string | null)[],
  created: readonly InvitationRow[],
  tokens: ReadonlyMap<string, string>,
): InvitationResult[] {
  const byEmail = new Map(created.map((row) => [row.email, row]));
  return plan.results.map((result, index) => {
    if (result.outcome !== 'invited') return result;
    const email = normalized[index]!;
    const row = byEmail.get(email);
    if (!row) return { email: result.email, outcome: 'already_invited', detail: ALREADY_INVITED };
    return { email: result.email, outcome: 'invited', invitation: toInvitation(row), token: tokens.get(email)! };
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
  }
}
