import type { SecretBox } from '../../db/secret-box';
import { requireOrganization, requireUser, type RequestTransaction } from '../../db/transaction';
import type { RequestQuery, ResponseBody } from '../../http/route';
import { problems, type FieldError } from '../../problems';
import { habitBundleProblems, importHabits, importReflexes, reflexBundleProblems } from '../relations';
import { inputSchemaProblems } from '../runner/input';
import type { InputField } from '../runner/types';
import { copyName, INSERT_BUNDLE_SKILL, OWN_SKILL_NAMES, skillNameConflict, type SkillRow } from '../sql';
import type { Bundle } from './export';

// POST /skills/import: a bundle's skills, with their habits and reflexes,
// become the caller's own; all of them or, on any problem, none.

type OnConflict = NonNullable<RequestQuery<'importSkills'>['onConflict']>;
type ImportResult = ResponseBody<'importSkills', 201>;

/** Every rule the contract cannot check, for every skill of the bundle at once. */
export function bundleProblems(bundle: Bundle): FieldError[] {
  return bundle.skills.flatMap((skill, index) => {
    const base = `/body/skills/${index}`;
    return [
      ...inputSchemaProblems((skill.inputSchema ?? []) as InputField[], `${base}/inputSchema`),
      ...reflexBundleProblems(skill.reflexes ?? [], `${base}/reflexes`),
      ...habitBundleProblems(skill.habits ?? [], `${base}/habits`),
    ];
  });
}

/** Checked before any SQL: a bundle with any bad part is refused whole. */
export function checkBundle(bundle: Bundle): void {
  const errors = bundleProblems(bundle);
  if (errors.length > 0) throw problems.validation('The bundle is not valid; nothing was imported.', errors);
}

/**
 * The name each skill of the bundle is stored under, given the caller's names
 * (lower-cased). A name that is taken, or repeats within the bundle, is
 * renamed as a copy would be, or (`fail`) all such names are one 409.
 */
export function importNames(skills: readonly { name: string }[], ownNames: ReadonlySet<string>, onConflict: OnConflict): string[] {
  const taken = new Set(ownNames);
  const clashes: FieldError[] = [];
  const names = skills.map((skill, index) => {
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
  return names;
}

/** Stores a checked bundle (see checkBundle) as the caller's skills, each followed by its reflexes and habits. */
export async function importSkills(tx: RequestTransaction, box: SecretBox, bundle: Bundle, query: RequestQuery<'importSkills'>): Promise<ImportResult> {
  const organizationId = requireOrganization(tx);
  const userId = requireUser(tx);
  const own = await tx.query<{ name: string }>(OWN_SKILL_NAMES, [organizationId, userId]);
  const names = importNames(bundle.skills, new Set(own.rows.map((row) => row.name)), query.onConflict ?? 'fail');

  const imported: ImportResult['skills'] = [];
  for (const [index, skill] of bundle.skills.entries()) {
    let row: SkillRow;
    try {
      row = (
        await tx.query<SkillRow>(INSERT_BUNDLE_SKILL, [
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
        ])
      ).rows[0]!;
    } catch (error) {
      throw skillNameConflict(error, `/body/skills/${index}/name`);
    }
    const owner = { organizationId, userId, skillId: row.id };
    await importReflexes(tx, box, owner, skill.reflexes ?? [], `/body/skills/${index}/reflexes`);
    await importHabits(tx, owner, skill.habits ?? [], `/body/skills/${index}/habits`);
    imported.push({ id: row.id, name: row.name, originalName: skill.name, renamed: row.name !== skill.name });
  }
  return { imported: imported.length, skills: imported };
}
