import express, { type Router } from 'express';
import type { RunInTransaction } from '../../http/context';
import type { InvitationMailer } from '../../mail/invitations';
import { route } from '../../http/route';
import { addMember, listMembers, removeMember, updateMember } from './operations';
import { requireOnePerson } from './rules';

/** /projects/{projectId}/members: each handler parses (the contract did), calls its operation, responds. */
export function membersRouter(inTransaction: RunInTransaction, options: { mailer: InvitationMailer }): Router {
  const router = express.Router();

  route(router, 'listProjectMembers', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listMembers(tx, params.projectId, query)));
  });

  route(router, 'addProjectMember', async ({ params, body, req, res }) => {
    requireOnePerson(body);
    const addition = await inTransaction(req, (tx) => addMember(tx, params.projectId, body, options.mailer));
    if ('added' in addition) {
      const member = addition.added;
      res.status(201).location(`/api/v1/projects/${member.projectId}/members/${member.id}`).json(member);
    } else {
      res.status(202).json(addition.invited);
    }
  });

  route(router, 'updateProjectMember', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateMember(tx, params.projectId, params.memberId, body)));
  });

  route(router, 'removeProjectMember', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => removeMember(tx, params.projectId, params.memberId));
    res.status(204).end();
  });

  return router;
}
