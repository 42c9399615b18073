import type { RunInTransaction } from '../../http/context';
import type { InvitationMailer } from '../../mail/invitations';
import { Operations, route } from '../../http/route';
import { addMember, listMembers, removeMember, updateMember } from './operations';
import { requireOnePerson } from './rules';

/** /projects/{projectId}/members: each handler parses (the contract did), calls its operation, responds. */
export function membersRoutes(inTransaction: RunInTransaction, options: { mailer: InvitationMailer }): Operations {
  const routes = new Operations();

  route(routes, 'listProjectMembers', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listMembers(tx, params.projectId, query)));
  });

  route(routes, 'addProjectMember', async ({ params, body, req, res }) => {
    requireOnePerson(body);
    const addition = await inTransaction(req, (tx) => addMember(tx, params.projectId, body, options.mailer));
    if ('added' in addition) {
      const member = addition.added;
      res.status(201).location(`/api/v1/projects/${member.projectId}/members/${member.id}`).json(member);
    } else {
      res.status(202).json(addition.invited);
    }
  });

  route(routes, 'updateProjectMember', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateMember(tx, params.projectId, params.memberId, body)));
  });

  route(routes, 'removeProjectMember', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => removeMember(tx, params.projectId, params.memberId));
    res.status(204).end();
  });

  return routes;
}
