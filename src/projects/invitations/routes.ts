import express, { type Router } from 'express';
import type { operations } from '../../generated/openapi';
import { requireUser, type RequestTransaction } from '../../db/transaction';
import type { RunInTransaction } from '../../http/context';
import { paginate, pageRequest } from '../../http/pagination';
import { problems } from '../../problems';
import { loadProjectAccess, requireEditor, type ProjectAccess } from '../access';
import { MEMBER_BY_ID, toProjectMember, type ProjectMemberRow } from '../members/sql';
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
  toInvitation,
  type AcceptRow,
  type InvitationResult,
  type InvitationRow,
} from './sql';
import { hashInvitationToken, newInvitationToken } from './tokens';

type ListQuery = NonNullable<operations['listInvitations']['parameters']['query']>;
type CreateBody = operations['createInvitations']['requestBody']['content']['application/json'];
type Batch = operations['createInvitations']['responses']['200']['content']['application/json'];
type WithToken = operations['resendInvitation']['responses']['200']['content']['application/json'];
type AcceptBody = operations['acceptInvitation']['requestBody']['content']['application/json'];
type Acceptance = operations['acceptInvitation']['responses']['200']['content']['application/json'];

const INVITATION_NOT_FOUND = 'There is no such invitation in this project.';
const DEFAULT_VALIDITY_DAYS = 7;

// A plausible address: dot-separated atoms, then host labels of at most 63
// characters and a top-level label that starts with a letter. It accepts no
// more than the contract's `format: email` does, so a stored address always
// passes response validation, and no more than the table's own check.
const EMAIL_PATTERN =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$/i;

/** The address as it will be stored (trimmed, lowercase), or null when it is not plausible. */
export function normalizeEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_PATTERN.test(email)) return null;
  const local = email.slice(0, email.lastIndexOf('@'));
  return local.length <= 64 ? email : null;
}

/** Loads the project and refuses anyone who may not manage its invitations. */
async function editableProject(tx: RequestTransaction, projectId: string, what: string): Promise<ProjectAccess> {
  const access = await loadProjectAccess(tx, projectId);
  requireEditor(access, what);
  return access;
}

async function lockInvitation(tx: RequestTransaction, invitationId: string, projectId: string): Promise<InvitationRow> {
  const found = await tx.query<InvitationRow>(LOCK_INVITATION, [invitationId, projectId]);
  const row = found.rows[0];
  if (!row) throw problems.notFound(INVITATION_NOT_FOUND);
  return row;
}

/** What each outcome of app.accept_project_invitation means to the invitee. */
function refusal(outcome: Exclude<AcceptRow['outcome'], 'accepted'>) {
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

export function invitationsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/projects/:projectId/invitations', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, async (tx) => {
      const access = await editableProject(tx, req.params.projectId, 'see invitations');
      return paginate(tx, invitationListQuery(access.projectId, pageRequest(query), query.sort), toInvitation);
    });
    res.json(page);
  });

  router.post('/projects/:projectId/invitations', async (req, res) => {
    const body = req.body as CreateBody;
    const batch = await inTransaction(req, async (tx): Promise<Batch> => {
      const access = await editableProject(tx, req.params.projectId, 'invite people');
      const inviter = requireUser(tx);
      // Inviting someone as admin grants the admin role: the same right as promoting a member.
      if (body.role === 'admin' && !access.canRemoveMembers) {
        throw problems.forbidden('Only project admins, the creator, and organization owners and admins may invite admins.');
      }
      const normalized = body.emails.map(normalizeEmail);
      const plausible = [...new Set(normalized.filter((email): email is string => email !== null))];

      let members = new Set<string>();
      let pending = new Set<string>();
      if (plausible.length > 0) {
        await tx.query(EXPIRE_STALE_INVITATIONS, [access.projectId, plausible, null]);
        const memberRows = await tx.query<{ email: string }>(MEMBER_EMAILS, [access.projectId, plausible]);
        const pendingRows = await tx.query<{ email: string }>(PENDING_EMAILS, [access.projectId, plausible]);
        members = new Set(memberRows.rows.map((row) => row.email));
        pending = new Set(pendingRows.rows.map((row) => row.email));
      }

      // Decide each address in request order; the first occurrence of a new address is the one invited.
      const results: InvitationResult[] = [];
      const tokens = new Map<string, ReturnType<typeof newInvitationToken>>();
      body.emails.forEach((raw, index) => {
        const email = normalized[index];
        if (email === null || email === undefined) {
          results.push({ email: raw, outcome: 'invalid_email', detail: 'This is not a plausible email address.' });
        } else if (members.has(email)) {
          results.push({ email: raw, outcome: 'already_member', detail: 'Someone with this address is already a member of the project.' });
        } else if (pending.has(email) || tokens.has(email)) {
          results.push({ email: raw, outcome: 'already_invited', detail: 'This address already has a pending invitation to the project.' });
        } else {
          tokens.set(email, newInvitationToken());
          results.push({ email: raw, outcome: 'invited' });
        }
      });

      if (tokens.size > 0) {
        const emails = [...tokens.keys()];
        const inserted = await tx.query<InvitationRow>(INSERT_INVITATIONS, [
          access.projectId,
          emails,
          body.role ?? 'viewer',
          body.message ?? null,
          inviter,
          body.expiresInDays ?? DEFAULT_VALIDITY_DAYS,
          emails.map((email) => tokens.get(email)!.hash.toString('hex')),
        ]);
        const created = new Map(inserted.rows.map((row) => [row.email, row]));
        for (const [index, result] of results.entries()) {
          if (result.outcome !== 'invited') continue;
          const email = normalized[index]!;
          const row = created.get(email);
          if (!row) {
            // Someone invited the address between our read and our insert.
            results[index] = { email: result.email, outcome: 'already_invited', detail: 'This address already has a pending invitation to the project.' };
            continue;
          }
          results[index] = { email: result.email, outcome: 'invited', invitation: toInvitation(row), token: tokens.get(email)!.token };
        }
      }
      return { results };
    });
    res.json(batch);
  });

  router.post('/projects/:projectId/invitations/:invitationId/resend', async (req, res) => {
    const renewed = await inTransaction(req, async (tx): Promise<WithToken> => {
      const access = await editableProject(tx, req.params.projectId, 'resend invitations');
      const current = await lockInvitation(tx, req.params.invitationId, access.projectId);
      if (current.status === 'accepted') throw problems.conflict('This invitation has been accepted; it cannot be sent again.');
      if (current.status === 'cancelled') throw problems.conflict('This invitation was cancelled; send a new one instead.');
      // A lapsed pending invitation to the same address must not stand in the way
      // of this one becoming pending again; a live one does (409 by the unique index).
      await tx.query(EXPIRE_STALE_INVITATIONS, [access.projectId, [current.email.toLowerCase()], current.id]);
      const fresh = newInvitationToken();
      const updated = await tx.query<InvitationRow>(RENEW_INVITATION, [current.id, access.projectId, fresh.hash]);
      return { invitation: toInvitation(updated.rows[0]!), token: fresh.token };
    });
    res.json(renewed);
  });

  router.delete('/projects/:projectId/invitations/:invitationId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      const access = await editableProject(tx, req.params.projectId, 'cancel invitations');
      const current = await lockInvitation(tx, req.params.invitationId, access.projectId);
      if (current.status === 'accepted') throw problems.conflict('This invitation has already been accepted; remove the member instead.');
      if (current.status === 'cancelled') throw problems.conflict('This invitation is already cancelled.');
      await tx.query(CANCEL_INVITATION, [current.id, access.projectId]);
    });
    res.status(204).end();
  });

  router.post('/invitations/accept', async (req, res) => {
    const body = req.body as AcceptBody;
    const acceptance = await inTransaction(req, async (tx): Promise<Acceptance> => {
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
      await tx.query(`select set_config('app.organization_id', $1, true)`, [organizationId]);
      const member = await tx.query<ProjectMemberRow>(MEMBER_BY_ID, [row.member_id, projectId]);
      return { projectId, organizationId, member: toProjectMember(member.rows[0]!) };
    });
    res.json(acceptance);
  });

  return router;
}
