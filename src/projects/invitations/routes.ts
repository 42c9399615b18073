import type { RunInTransaction } from '../../http/context';
import type { InvitationMailer } from '../../mail/invitations';
import { Operations, route } from '../../http/route';
import { acceptInvitation, cancelInvitation, createInvitations, listInvitations, resendInvitation } from './operations';

/** /projects/{projectId}/invitations and /invitations/accept: each handler parses (the contract did), calls its operation, responds. */
export function invitationsRoutes(inTransaction: RunInTransaction, options: { mailer: InvitationMailer }): Operations {
  const routes = new Operations();

  route(routes, 'listInvitations', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listInvitations(tx, params.projectId, query)));
  });

  route(routes, 'createInvitations', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => createInvitations(tx, params.projectId, body, options.mailer)));
  });

  route(routes, 'resendInvitation', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => resendInvitation(tx, params.projectId, params.invitationId, options.mailer)));
  });

  route(routes, 'cancelInvitation', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => cancelInvitation(tx, params.projectId, params.invitationId));
    res.status(204).end();
  });

  route(routes, 'acceptInvitation', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => acceptInvitation(tx, body)));
  });

  return routes;
}
