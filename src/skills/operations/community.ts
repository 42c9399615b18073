import { requireOrganization, requireUser, type RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestQuery, ResponseBody } from '../../http/route';
import { problems } from '../../problems';
import { SKILL_NOT_FOUND } from '../access';
import { averageRating } from '../community';
import {
  IMPORT_PUBLIC_SKILL,
  PUBLIC_SKILL_BY_ID,
  publicSkillListQuery,
  RATE_SKILL,
  STAR_SKILL,
  UNRATE_SKILL,
  UNSTAR_SKILL,
  type PublicSkillRow,
} from '../community-sql';
import { copyNamePattern, importedName, OWN_COPY_NAMES, SKILL_BY_ID, skillNameConflict, toSkill, type Skill, type SkillRow } from '../sql';

// The public catalogue: any signed-in user, acting in any organization, reads
// the skills organizations share, stars and rates them, and imports copies.
// A skill that is not public (any more) is a 404 for all of it, its own
// organization included: there it is read and changed at /skills/{skillId}.

export type PublicSkill = ResponseBody<'getPublicSkill', 200>;

export const PUBLIC_SKILL_NOT_FOUND = 'There is no public skill with this id.';

export function toPublicSkill(row: PublicSkillRow): PublicSkill {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    category: row.category as PublicSkill['category'],
    promptTemplate: row.prompt_template,
    model: row.model,
    parameters: row.parameters,
    inputSchema: row.input_schema,
    outputFormat: row.output_format as PublicSkill['outputFormat'],
    isPublic: true,
    starCount: row.star_count,
    rating: averageRating(row.rating),
    ratingCount: row.rating_count,
    isStarred: row.is_starred,
    myRating: row.my_rating,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function listPublicSkills(tx: RequestTransaction, query: RequestQuery<'listPublicSkills'>): Promise<Page<PublicSkill>> {
  requireUser(tx);
  return paginate(tx, publicSkillListQuery(query, pageRequest(query)), toPublicSkill);
}

export async function getPublicSkill(tx: RequestTransaction, skillId: string): Promise<PublicSkill> {
  requireUser(tx);
  const found = await tx.query<PublicSkillRow>(PUBLIC_SKILL_BY_ID, [skillId]);
  if (found.rowCount === 0) throw problems.notFound(PUBLIC_SKILL_NOT_FOUND);
  return toPublicSkill(found.rows[0]!);
}

/** Writes the caller's star or rating (the statement does nothing unless the skill is public), then answers the skill. */
async function changeThenRead(tx: RequestTransaction, skillId: string, sql: string, extra: unknown[] = []): Promise<PublicSkill> {
  await tx.query(sql, [skillId, requireUser(tx), ...extra]);
  return getPublicSkill(tx, skillId);
}

export const starSkill = (tx: RequestTransaction, skillId: string) => changeThenRead(tx, skillId, STAR_SKILL);
export const unstarSkill = (tx: RequestTransaction, skillId: string) => changeThenRead(tx, skillId, UNSTAR_SKILL);
export const rateSkill = (tx: RequestTransaction, skillId: string, rating: number) => changeThenRead(tx, skillId, RATE_SKILL, [rating]);
export const unrateSkill = (tx: RequestTransaction, skillId: string) => changeThenRead(tx, skillId, UNRATE_SKILL);

/** A private copy in the caller's organization, owned by the caller, named after the original unless that name is theirs already. */
export async function importPublicSkill(tx: RequestTransaction, skillId: string): Promise<Skill> {
  const organizationId = requireOrganization(tx);
  const userId = requireUser(tx);
  const source = await getPublicSkill(tx, skillId);
  const taken = await tx.query<{ name: string }>(OWN_COPY_NAMES, [organizationId, userId, copyNamePattern(source.name)]);
  const name = importedName(source.name, new Set(taken.rows.map((row) => row.name)));
  let copyId: string | null;
  try {
    copyId = (await tx.query<{ id: string | null }>(IMPORT_PUBLIC_SKILL, [source.id, name])).rows[0]!.id;
  } catch (error) {
    // Two imports at the same moment: the second may retry.
    throw skillNameConflict(error, '/path/skillId');
  }
  // Stopped being public since it was read.
  if (copyId === null) throw problems.notFound(PUBLIC_SKILL_NOT_FOUND);
  const copy = await tx.query<SkillRow>(SKILL_BY_ID, [copyId, organizationId]);
  if (copy.rowCount === 0) throw problems.notFound(SKILL_NOT_FOUND);
  return toSkill(copy.rows[0]!);
}
