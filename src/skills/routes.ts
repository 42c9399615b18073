import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { addCommunityRoutes } from './community-routes';
import { bulkSkills } from './operations/bulk';
import {
  checkSkillFields,
  createSkill,
  deleteSkill,
  duplicateSkill,
  getSkill,
  listSkills,
  updateSkill,
} from './operations/skills';

/** /skills and /skills/{skillId}: each handler parses (the contract did), calls its operation, responds. */
export function skillsRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();
  addCommunityRoutes(routes, inTransaction);

  route(routes, 'listSkills', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listSkills(tx, query)));
  });

  route(routes, 'createSkill', async ({ body, req, res }) => {
    checkSkillFields(body);
    const skill = await inTransaction(req, (tx) => createSkill(tx, body));
    res.status(201).location(`/api/v1/skills/${skill.id}`).json(skill);
  });

  route(routes, 'bulkSkills', async ({ body, req, res }) => {
    res.json(await inTransaction(req, (tx) => bulkSkills(tx, body)));
  });

  route(routes, 'getSkill', async ({ params, query, req, res }) => {
    // The validator has split the comma list into known names (unknown ones are a 400).
    res.json(await inTransaction(req, (tx) => getSkill(tx, params.skillId, query.include ?? [])));
  });

  route(routes, 'updateSkill', async ({ params, body, req, res }) => {
    checkSkillFields(body);
    res.json(await inTransaction(req, (tx) => updateSkill(tx, params.skillId, body)));
  });

  route(routes, 'deleteSkill', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteSkill(tx, params.skillId));
    res.status(204).end();
  });

  route(routes, 'duplicateSkill', async ({ params, req, res }) => {
    const copy = await inTransaction(req, (tx) => duplicateSkill(tx, params.skillId));
    res.status(201).location(`/api/v1/skills/${copy.id}`).json(copy);
  });

  return routes;
}
