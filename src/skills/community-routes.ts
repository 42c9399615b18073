import type { RunInTransaction } from '../http/context';
import { route, type Operations } from '../http/route';
import {
  getPublicSkill,
  importPublicSkill,
  listPublicSkills,
  rateSkill,
  starSkill,
  unrateSkill,
  unstarSkill,
} from './operations/community';
import { organizationSkillStats } from './operations/organization-stats';

/**
 * /skills/stats, the public catalogue (/skills/public) and what anyone may do
 * with a public skill.
 */
export function addCommunityRoutes(routes: Operations, inTransaction: RunInTransaction): void {
  route(routes, 'getOrganizationSkillStats', async ({ req, res }) => {
    res.json(await inTransaction(req, organizationSkillStats));
  });

  route(routes, 'listPublicSkills', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPublicSkills(tx, query)));
  });

  route(routes, 'getPublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getPublicSkill(tx, params.skillId)));
  });

  route(routes, 'starPublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => starSkill(tx, params.skillId)));
  });

  route(routes, 'unstarPublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => unstarSkill(tx, params.skillId)));
  });

  route(routes, 'ratePublicSkill', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => rateSkill(tx, params.skillId, body.rating)));
  });

  route(routes, 'unratePublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => unrateSkill(tx, params.skillId)));
  });

  route(routes, 'importPublicSkill', async ({ params, req, res }) => {
    const copy = await inTransaction(req, (tx) => importPublicSkill(tx, params.skillId));
    res.status(201).location(`/api/v1/skills/${copy.id}`).json(copy);
  });
}
