import type { Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
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
 * with a public skill. Registered ahead of /skills/{skillId}, which would
 * otherwise take "stats" and "public" for ids.
 */
export function addCommunityRoutes(router: Router, inTransaction: RunInTransaction): void {
  route(router, 'getOrganizationSkillStats', async ({ req, res }) => {
    res.json(await inTransaction(req, organizationSkillStats));
  });

  route(router, 'listPublicSkills', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPublicSkills(tx, query)));
  });

  route(router, 'getPublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getPublicSkill(tx, params.skillId)));
  });

  route(router, 'starPublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => starSkill(tx, params.skillId)));
  });

  route(router, 'unstarPublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => unstarSkill(tx, params.skillId)));
  });

  route(router, 'ratePublicSkill', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => rateSkill(tx, params.skillId, body.rating)));
  });

  route(router, 'unratePublicSkill', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => unrateSkill(tx, params.skillId)));
  });

  route(router, 'importPublicSkill', async ({ params, req, res }) => {
    const copy = await inTransaction(req, (tx) => importPublicSkill(tx, params.skillId));
    res.status(201).location(`/api/v1/skills/${copy.id}`).json(copy);
  });
}
