import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../db/secret-box';
import type { RequestTransaction } from '../db/transaction';
import { problems } from '../problems';
import type { ReflexDefinition } from './definition';
import {
  DROP_REFLEX_SECRET,
  INSERT_REFLEX,
  SKILL_IN_ORGANIZATION,
  STORE_REFLEX_SECRET,
  toReflex,
  type Reflex,
  type ReflexRow,
} from './sql';

/**
 * A webhook signing secret: 32 random bytes, base64url, with a prefix that
 * says what it is. Drawn again until it has no `-` or `_`, so the same text is
 * also plain base64 and Standard Webhooks libraries (which decode the part
 * after `whsec_` as base64) take it as it is; about four draws on average.
 */
export function generateWebhookSecret(): string {
  for (;;) {
    const encoded = randomBytes(32).toString('base64url');
    if (!/[-_]/.test(encoded)) return `whsec_${encoded}`;
  }
}

/** What a reflex's secret is sealed for: a sealed secret copied onto another reflex does not open there. */
export const reflexSecretContext = (reflexId: string): string => `reflex-secret:${reflexId.toLowerCase()}`;

/**
 * Makes (or replaces) a webhook reflex's secret and returns it: the only
 * moment it is shown. It is stored sealed (see db/secret-box.ts); the
 * SECURITY DEFINER function checks that the caller may manage the reflex, and
 * signed-in users never read the table.
 */
export async function issueWebhookSecret(tx: RequestTransaction, box: SecretBox, reflexId: string): Promise<{ secret: string; createdAt: string }> {
  const secret = generateWebhookSecret();
  const stored = await tx.query<{ created_at: string }>(STORE_REFLEX_SECRET, [reflexId, box.seal(secret, reflexSecretContext(reflexId))]);
  return { secret, createdAt: stored.rows[0]!.created_at };
}

export async function dropWebhookSecret(tx: RequestTransaction, reflexId: string): Promise<void> {
  await tx.query(DROP_REFLEX_SECRET, [reflexId]);
}

/** 422 unless the skill exists in the organization (and the caller may see it). */
export async function requireSkillInOrganization(tx: RequestTransaction, skillId: string, organizationId: string, at = '/body'): Promise<void> {
  const found = await tx.query(SKILL_IN_ORGANIZATION, [skillId, organizationId]);
  if (found.rowCount === 0) {
    const message = 'There is no such skill in this organization.';
    throw problems.unprocessable(message, [{ path: `${at}/skillId`, message }]);
  }
}

export interface NewReflex {
  organizationId: string;
  /** The owner: executions of the reflex run as them. */
  userId: string;
  skillId: string;
  definition: ReflexDefinition;
}

/**
 * Inserts a checked reflex definition (see validateReflexDefinition) in the
 * caller's transaction; a webhook reflex gets a fresh secret, returned this
 * once. Used by POST /reflexes and meant for importers of skill bundles.
 */
export async function insertReflex(tx: RequestTransaction, box: SecretBox, reflex: NewReflex, at = '/body'): Promise<{ reflex: Reflex; secret?: string }> {
  await requireSkillInOrganization(tx, reflex.skillId, reflex.organizationId, at);
  const { definition } = reflex;
  const inserted = await tx.query<ReflexRow>(INSERT_REFLEX, [
    reflex.organizationId,
    reflex.skillId,
    reflex.userId,
    definition.triggerType,
    definition.triggerConfig,
    definition.conditions,
    definition.isActive,
  ]);
  const row = inserted.rows[0]!;
  if (definition.triggerType !== 'webhook') return { reflex: toReflex(row) };
  const { secret } = await issueWebhookSecret(tx, box, row.id);
  return { reflex: toReflex(row), secret };
}
