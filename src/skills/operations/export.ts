import { requireOrganization, type RequestTransaction } from '../../db/transaction';
import type { RequestBody, RequestQuery } from '../../http/route';
import { problems } from '../../problems';
import { exportHabits, exportReflexes } from '../relations';
import { SKILLS_TO_EXPORT, type SkillRow } from '../sql';

// GET /skills/export: the organization's skills (or those named) as a bundle
// that POST /skills/import takes back, here or in another organization.

export type Bundle = RequestBody<'importSkills'>;
type BundleSkill = Bundle['skills'][number];

export const BUNDLE_VERSION = 1;
export const MAX_EXPORT = 1000;

export function toBundleSkill(row: SkillRow): BundleSkill {
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

/** One row more than a bundle holds is read, so an organization with too many skills is told to choose. */
function checkExportSize(rows: readonly SkillRow[]): void {
  if (rows.length > MAX_EXPORT) {
    throw problems.validation(`A bundle holds at most ${MAX_EXPORT} skills; name the skills to export with ids.`, [
      { path: '/query/ids', message: `required when the organization has more than ${MAX_EXPORT} skills`, code: 'required' },
    ]);
  }
}

export async function exportSkills(tx: RequestTransaction, query: RequestQuery<'exportSkills'>): Promise<Bundle> {
  const organizationId = requireOrganization(tx);
  const rows = (await tx.query<SkillRow>(SKILLS_TO_EXPORT, [organizationId, query.ids ?? null, MAX_EXPORT + 1])).rows;
  checkExportSize(rows);
  const skillIds = rows.map((row) => row.id);
  const [reflexes, habits] = await Promise.all([exportReflexes(tx, skillIds), exportHabits(tx, skillIds)]);
  return {
    version: BUNDLE_VERSION as 1,
    exportedAt: new Date().toISOString(),
    skills: rows.map((row) => ({ ...toBundleSkill(row), habits: habits.get(row.id) ?? [], reflexes: reflexes.get(row.id) ?? [] })),
  };
}
