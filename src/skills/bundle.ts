import express, { type Router } from 'express';
import { requireOrganization, requireUser } from '../db/transaction';
import type { operations } from '../generated/openapi';
import type { RunInTransaction } from '../http/context';
import { problems, type FieldError } from '../problems';
import {
  exportHabits,
  exportReflexes,
  habitBundleProblems,
  importHabits,
  importReflexes,
  reflexBundleProblems,
} from './relations';
import { inputSchemaProblems } from './runner/input';
import type { InputField } from './runner/types';
import { copyName, SKILL_COLUMNS, skillNameConflict, type SkillRow } from './sql';

type ExportQuery = NonNullable<operations['exportSkills']['parameters']['query']>;
type ImportQuery = NonNullable<operations['importSkills']['parameters']['query']>;
type Bundle = operations['importSkills']['requestBody']['content']['application/json'];
type BundleSkill = Bundle['skills'][number];
type ImportResult = operations['importSkills']['responses']['201']['content']['application/json'];

export const BUNDLE_VERSION = 1;
export const MAX_EXPORT = 1000;

/** Every rule the contract cannot check, for every skill of the bundle at once. */
function bundleProblems(bundle: Bundle): FieldError[] {
  return bundle.skills.flatMap((skill, index) => {
    const base = `/body/skills/${index}`;
    return [
      ...inputSchemaProblems((skill.inputSchema ?? []) as InputField[], `${base}/inputSchema`),
      ...reflexBundleProblems(skill.reflexes ?? [], `${base}/reflexes`),
      ...habitBundleProblems(skill.habits ?? [], `${base}/habits`),
    ];
  });
}

function toBundleSkill(row: SkillRow): BundleSkill {
  return {
    name: row.name,
    description: row.description,
    category: row.category,
    promptTemplate: row.prompt_template,
    model: row.model,
    parameters: row.parameters as BundleSkill['parameters'],
    inputSchema: row.input_schema as BundleSkill['inputSchema'],
    outputFormat: row.output_format,
    isActive: row.is_active,
  };
}

export function skillBundleRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  router.get('/skills/export', async (req, res) => {
    const { ids } = req.query as ExportQuery;
    const bundle = await inTransaction(req, async (tx): Promise<Bundle> => {
      const organizationId = requireOrganization(tx);
      const rows = (
        await tx.query<SkillRow>(
          `select ${SKILL_COLUMNS} from public.skills s
           where s.organization_id = $1 and ($2::uuid[] is null or s.id = any($2::uuid[]))
           order by s.created_at, s.id limit ${MAX_EXPORT + 1}`,
          [organizationId, ids ?? null],
        )
      ).rows;
      if (rows.length > MAX_EXPORT) {
        throw problems.validation(`A bundle holds at most ${MAX_EXPORT} skills; name the skills to export with ids.`, [
          { path: '/query/ids', message: `required when the organization has more than ${MAX_EXPORT} skills`, code: 'required' },
        ]);
      }
      const skillIds = rows.map((row) => row.id);
      const [reflexes, habits] = await Promise.all([exportReflexes(tx, skillIds), exportHabits(tx, skillIds)]);
      return {
        version: BUNDLE_VERSION as 1,
        exportedAt: new Date().toISOString(),
        skills: rows.map((row) => ({ ...toBundleSkill(row), habits: habits.get(row.id) ?? [], reflexes: reflexes.get(row.id) ?? [] })),
      };
    });
    res.json(bundle);
  });

  router.post('/skills/import', async (req, res) => {
    const bundle = req.body as Bundle;
    const { onConflict = 'fail' } = req.query as ImportQuery;
    const errors = bundleProblems(bundle);
    if (errors.length > 0) throw problems.validation('The bundle is not valid; nothing was imported.', errors);

    const result = await inTransaction(req, async (tx): Promise<ImportResult> => {
      const organizationId = requireOrganization(tx);
      const userId = requireUser(tx);
      const existing = await tx.query<{ name: string }>(
        'select lower(s.name) as name from public.skills s where s.organization_id = $1 and s.user_id = $2',
        [organizationId, userId],
      );
      const taken = new Set(existing.rows.map((row) => row.name));
      const clashes: FieldError[] = [];
      const names = bundle.skills.map((skill, index) => {
        if (!taken.has(skill.name.toLowerCase())) {
          taken.add(skill.name.toLowerCase());
          return skill.name;
        }
        if (onConflict === 'rename') {
          const renamed = copyName(skill.name, taken);
          taken.add(renamed.toLowerCase());
          return renamed;
        }
        clashes.push({ path: `/body/skills/${index}/name`, message: `"${skill.name}" is already taken`, code: 'unique' });
        return skill.name;
      });
      if (clashes.length > 0) {
        throw problems.conflict(
          `${clashes.length} skill name(s) are already yours or repeat in the bundle; nothing was imported. Rename them, or import with onConflict=rename.`,
          clashes,
        );
      }

      const imported: ImportResult['skills'] = [];
      for (const [index, skill] of bundle.skills.entries()) {
        let row: SkillRow;
        try {
          row = (
            await tx.query<SkillRow>(
              `insert into public.skills as s (organization_id, user_id, name, description, category, prompt_template, model,
                 parameters, input_schema, output_format, is_active)
               values ($1, $2, $3, $4, coalesce($5::public.skill_category, 'custom'), $6, coalesce($7, 'gpt-4o-mini'),
                 coalesce($8::jsonb, '{"temperature": 1, "max_tokens": 4096}'::jsonb), coalesce($9::jsonb, '[]'::jsonb),
                 coalesce($10::public.skill_output_format, 'markdown'), coalesce($11, true))
               returning ${SKILL_COLUMNS}`,
              [
                organizationId,
                userId,
                names[index],
                skill.description ?? null,
                skill.category ?? null,
                skill.promptTemplate,
                skill.model ?? null,
                skill.parameters ? JSON.stringify(skill.parameters) : null,
                skill.inputSchema ? JSON.stringify(skill.inputSchema) : null,
                skill.outputFormat ?? null,
                skill.isActive ?? null,
              ],
            )
          ).rows[0]!;
        } catch (error) {
          throw skillNameConflict(error, `/body/skills/${index}/name`);
        }
        const owner = { organizationId, userId, skillId: row.id };
        await importReflexes(tx, owner, skill.reflexes ?? [], `/body/skills/${index}/reflexes`);
        await importHabits(tx, owner, skill.habits ?? [], `/body/skills/${index}/habits`);
        imported.push({ id: row.id, name: row.name, originalName: skill.name, renamed: row.name !== skill.name });
      }
      return { imported: imported.length, skills: imported };
    });
    res.status(201).json(result);
  });

  return router;
}
