import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import type { InvitationMailer } from '../../mail/invitations';
import { route } from '../../http/route';
import { acceptInvitation, cancelInvitation, createInvitations, listInvitations, resendInvitation } from './operations';

/** /projects/{projectId}/invitations and /invitations/accept: each handler parses (the contract did), calls its operation, responds. */
export function invitationsRouter(inTransaction: RunInTransaction, options: { mailer: InvitationMailer }): Router {
  const router = express.Router();

  route(router, 'listInvitations', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listInvitations(tx, params.projectId, query)));
  });

  route(router, 'createInvitations', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => createInvitations(tx, params.projectId, body, options.mailer)));
  });

  route(router, 'resendInvitation', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => resendInvitation(tx, params.projectId, params.invitationId, options.mailer)));
  });

  route(router, 'cancelInvitation', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => cancelInvitation(tx, params.projectId, params.invitationId));
    res.status(204).end();
  });

  route(router, 'acceptInvitation', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => acceptInvitation(tx, body)));
  });

  return router;
}
