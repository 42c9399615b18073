import type { SecretBox } from '../db/secret-box';
import { asServiceRole, type RequestTransaction } from '../db/transaction';
import { invitationSecretContext, QUEUE_INVITATION_MAIL } from './sql';

/** Queues the mail of invitations just made or renewed, in the request's own transaction. */
export interface InvitationMailer {
  queue(tx: RequestTransaction, invitations: ReadonlyArray<{ id: string; token: string }>): Promise<void>;
}

/**
 * The token is sealed (never stored in plain text) for its own invitation's
 * mail, and the mail row is written as the back office: signed-in users have
 * no way into the outbox. The caller has already checked the right to invite.
 */
export function invitationMailer(secrets: SecretBox): InvitationMailer {
  return {
    async queue(tx, invitations) {
      if (invitations.length === 0) return;
      await asServiceRole(tx, async () => {
        for (const invitation of invitations) {
          await tx.query(QUEUE_INVITATION_MAIL, [invitation.id, secrets.seal(invitation.token, invitationSecretContext(invitation.id))]);
        }
      });
    },
  };
}
