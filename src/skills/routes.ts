import express, { type Router } from 'express';
import { refuseHiddenWrite } from '../db/refused-writes';
import { requireOrganization, requireUser } from '../db/transaction';
import type { operations } from '../generated/openapi';
import type { RunInTransaction } from '../http/context';
import { paginate, pageRequest } from '../http/pagination';
import { problems } from '../problems';
import { checkInputSchema, loadSkill, SKILL_NOT_FOUND } from './access';
import { SKILL_INCLUDES, type SkillInclude } from './relations';
import type { InputField } from './runner/types';
import {
  copyName,
  copyNamePattern,
  OWN_COPY_NAMES,
  SKILL_COLUMNS,
  skillColumnsOf,
  skillListQuery,
  skillNameConflict,
  toSkill,
  type SkillRow,
} from './sql';

type ListQuery = NonNullable<operations['listSkills']['parameters']['query']>;
type GetQuery = NonNullable<operations['getSkill']['parameters']['query']>;
type CreateBody = operations['createSkill']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateSkill']['requestBody']['content']['application/json'];
type BulkBody = operations['bulkSkills']['requestBody']['content']['application/json'];
type BulkResult = operations['bulkSkills']['responses']['200']['content']['application/json'];

const CHANGE_FORBIDDEN = 'Only the skill\'s owner and the organization\'s owners and admins may change it.';

export function skillsRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/skills', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) => paginate(tx, skillListQuery(requireOrganization(tx), query, pageRequest(query)), toSkill));
    res.json(page);
  });

  router.post('/skills', async (req, res) => {
    const body = req.body as CreateBody;
    checkInputSchema(body.inputSchema as InputField[] | undefined);
    const skill = await inTransaction(req, async (tx) => {
      const { columns, values } = skillColumnsOf(body);
      const placeholders = values.map((_, i) => `$${i + 3}`);
      try {
        const inserted = await tx.query<SkillRow>(
          `insert into public.skills as s (organization_id, user_id, ${columns.join(', ')})
           values ($1, $2, ${placeholders.join(', ')}) returning ${SKILL_COLUMNS}`,
          [requireOrganization(tx), requireUser(tx), ...values],
        );
        return toSkill(inserted.rows[0]!);
      } catch (error) {
        throw skillNameConflict(error);
      }
    });
    res.status(201).location(`/api/v1/skills/${skill.id}`).json(skill);
  });

  router.post('/skills/bulk', async (req, res) => {
    const body = req.body as BulkBody;
    const result = await inTransaction(req, async (tx): Promise<BulkResult> => {
      requireOrganization(tx);
      // Row level security leaves out the rows the caller may not change.
      const changed =
        body.action === 'delete'
          ? await tx.query<{ id: string }>('delete from public.skills s where s.id = any($1::uuid[]) returning s.id', [body.ids])
          : await tx.query<{ id: string }>('update public.skills s set is_active = $2 where s.id = any($1::uuid[]) returning s.id', [
              body.ids,
              body.action === 'activate',
            ]);
      const done = new Set(changed.rows.map((row) => row.id));
      const visible = new Set(
        (await tx.query<{ id: string }>('select s.id from public.skills s where s.id = any($1::uuid[])', [body.ids])).rows.map((row) => row.id),
      );
      const results = body.ids.map((id) => ({
        id,
        result: done.has(id) ? ('done' as const) : visible.has(id) ? ('forbidden' as const) : ('not_found' as const),
      }));
      return { action: body.action, done: done.size, results };
    });
    res.json(result);
  });

  router.get('/skills/:skillId', async (req, res) => {
    // The validator has split the comma list into known names (unknown ones are a 400).
    const include = ((req.query as GetQuery).include ?? []) as SkillInclude[];
    const detail = await inTransaction(req, async (tx) => {
      const row = await loadSkill(tx, req.params.skillId!);
      const parts = await Promise.all(include.map((name) => SKILL_INCLUDES[name](tx, row.id)));
      return Object.assign(toSkill(row), ...parts);
    });
    res.json(detail);
  });

  router.patch('/skills/:skillId', async (req, res) => {
    const body = req.body as UpdateBody;
    checkInputSchema(body.inputSchema as InputField[] | undefined);
    const skill = await inTransaction(req, async (tx) => {
      requireOrganization(tx);
      const { columns, values } = skillColumnsOf(body);
      const assignments = columns.map((column, i) => `${column} = $${i + 2}`);
      let updated;
      try {
        updated = await tx.query<SkillRow>(`update public.skills s set ${assignments.join(', ')} where s.id = $1 returning ${SKILL_COLUMNS}`, [
          req.params.skillId,
          ...values,
        ]);
      } catch (error) {
        throw skillNameConflict(error);
      }
      if (updated.rowCount === 0) {
        return refuseHiddenWrite(tx, 'skill', req.params.skillId!, { notFound: SKILL_NOT_FOUND, forbidden: CHANGE_FORBIDDEN });
      }
      return toSkill(updated.rows[0]!);
    });
    res.json(skill);
  });

  router.delete('/skills/:skillId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      requireOrganization(tx);
      const deleted = await tx.query('delete from public.skills s where s.id = $1', [req.params.skillId]);
      if (deleted.rowCount === 0) {
        await refuseHiddenWrite(tx, 'skill', req.params.skillId!, { notFound: SKILL_NOT_FOUND, forbidden: CHANGE_FORBIDDEN });
      }
    });
    res.status(204).end();
  });

  router.post('/skills/:skillId/duplicate', async (req, res) => {
    const copy = await inTransaction(req, async (tx) => {
      const source = await loadSkill(tx, req.params.skillId!);
      const organizationId = requireOrganization(tx);
      const userId = requireUser(tx);
      const taken = await tx.query<{ name: string }>(OWN_COPY_NAMES, [organizationId, userId, copyNamePattern(source.name)]);
      const name = copyName(source.name, new Set(taken.rows.map((row) => row.name)));
      try {
        const inserted = await tx.query<SkillRow>(
          `insert into public.skills as s (organization_id, user_id, name, description, category, prompt_template, model,
             parameters, input_schema, output_format, is_active)
           select $2, $3, $4, o.description, o.category, o.prompt_template, o.model, o.parameters, o.input_schema,
             o.output_format, o.is_active
           from public.skills o where o.id = $1
           returning ${SKILL_COLUMNS}`,
          [source.id, organizationId, userId, name],
        );
        return toSkill(inserted.rows[0]!);
      } catch (error) {
        // Two copies made at the same moment: the second may retry.
        throw skillNameConflict(error, '/path/skillId');
      }
    });
    res.status(201).location(`/api/v1/skills/${copy.id}`).json(copy);
  });

  return router;
}
