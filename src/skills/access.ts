import { actingOrganization, type RequestTransaction } from '../db/transaction';
import { problems } from '../problems';
import { inputSchemaProblems } from './runner/input';
import type { InputField } from './runner/types';
import { SKILL_BY_ID, type SkillRow } from './sql';

export const SKILL_NOT_FOUND = 'There is no such skill in this organization.';

/** A skill of the acting organization visible to the caller, or a 404. */
export async function loadSkill(tx: RequestTransaction, skillId: string): Promise<SkillRow> {
  const found = await tx.query<SkillRow>(SKILL_BY_ID, [skillId, actingOrganization(tx)]);
  if (found.rowCount === 0) throw problems.notFound(SKILL_NOT_FOUND);
  return found.rows[0]!;
}

/** The inputSchema rules the contract cannot express, as a 400. */
export function checkInputSchema(schema: readonly InputField[] | undefined, basePath = '/body/inputSchema'): void {
  if (!schema) return;
  const errors = inputSchemaProblems(schema, basePath);
  if (errors.length > 0) throw problems.validation('The inputSchema is not valid.', errors);
}
