import { refuseHiddenWrite } from '../../db/refused-writes';
import { requireOrganization, requireUser, type RequestTransaction } from '../../db/transaction';
import type { components } from '../../generated/openapi';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery } from '../../http/route';
import { checkInputSchema, loadSkill, SKILL_NOT_FOUND } from '../access';
import { SKILL_INCLUDES, type SkillInclude } from '../relations';
import type { InputField } from '../runner/types';
import {
  copyName,
  copyNamePattern,
  DELETE_SKILL,
  DUPLICATE_SKILL,
  insertSkillSql,
  OWN_COPY_NAMES,
  skillColumnsOf,
  skillListQuery,
  skillNameConflict,
  toSkill,
  updateSkillSql,
  type Skill,
  type SkillRow,
} from '../sql';

// The skill itself (/skills and /skills/{skillId}): given the request
// transaction and the request's parts (typed from the contract), each
// operation checks, stores and answers.

type SkillDetail = components['schemas']['SkillDetail'];

const CHANGE_FORBIDDEN = "Only the skill's owner and the organization's owners and admins may change it.";

/** Checked before any SQL: a bad inputSchema is the caller's 400, whatever else holds. */
export function checkSkillFields(body: RequestBody<'createSkill'> | RequestBody<'updateSkill'>): void {
  checkInputSchema(body.inputSchema as InputField[] | undefined);
}

export function listSkills(tx: RequestTransaction, query: RequestQuery<'listSkills'>): Promise<Page<Skill>> {
  return paginate(tx, skillListQuery(requireOrganization(tx), query, pageRequest(query)), toSkill);
}

export async function createSkill(tx: RequestTransaction, body: RequestBody<'createSkill'>): Promise<Skill> {
  const { columns, values } = skillColumnsOf(body);
  try {
    const inserted = await tx.query<SkillRow>(insertSkillSql(columns), [requireOrganization(tx), requireUser(tx), ...values]);
    return toSkill(inserted.rows[0]!);
  } catch (error) {
    throw skillNameConflict(error);
  }
}

/** The skill with the relations asked for (the validator has already refused unknown names). */
export async function getSkill(tx: RequestTransaction, skillId: string, include: readonly SkillInclude[]): Promise<SkillDetail> {
  const row = await loadSkill(tx, skillId);
  const parts = await Promise.all(include.map((name) => SKILL_INCLUDES[name](tx, row.id)));
  return Object.assign(toSkill(row), ...parts) as SkillDetail;
}

export async function updateSkill(tx: RequestTransaction, skillId: string, body: RequestBody<'updateSkill'>): Promise<Skill> {
  requireOrganization(tx);
  const { columns, values } = skillColumnsOf(body);
  let updated;
  try {
    updated = await tx.query<SkillRow>(updateSkillSql(columns), [skillId, ...values]);
  } catch (error) {
    throw skillNameConflict(error);
  }
  if (updated.rowCount === 0) {
    return refuseHiddenWrite(tx, 'skill', skillId, { notFound: SKILL_NOT_FOUND, forbidden: CHANGE_FORBIDDEN });
  }
  return toSkill(updated.rows[0]!);
}

export async function deleteSkill(tx: RequestTransaction, skillId: string): Promise<void> {
  requireOrganization(tx);
  const deleted = await tx.query(DELETE_SKILL, [skillId]);
  if (deleted.rowCount === 0) {
    await refuseHiddenWrite(tx, 'skill', skillId, { notFound: SKILL_NOT_FOUND, forbidden: CHANGE_FORBIDDEN });
  }
}

/** A copy owned by the caller, named "X (copy)", "X (copy 2)", ... after the caller's own names. */
export async function duplicateSkill(tx: RequestTransaction, skillId: string): Promise<Skill> {
  const source = await loadSkill(tx, skillId);
  const organizationId = requireOrganization(tx);
  const userId = requireUser(tx);
  const taken = await tx.query<{ name: string }>(OWN_COPY_NAMES, [organizationId, userId, copyNamePattern(source.name)]);
  const name = copyName(source.name, new Set(taken.rows.map((row) => row.name)));
  try {
    const inserted = await tx.query<SkillRow>(DUPLICATE_SKILL, [source.id, organizationId, userId, name]);
    return toSkill(inserted.rows[0]!);
  } catch (error) {
    // Two copies made at the same moment: the second may retry.
    throw skillNameConflict(error, '/path/skillId');
  }
}
