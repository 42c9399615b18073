import type { SecretBox } from '../db/secret-box';
// What a skill embeds (GET /skills/{id}?include=...) and carries in an export
// bundle besides its own fields: its habits, reflexes and recent executions.
import type { components } from '../generated/openapi';
import type { RequestTransaction } from '../db/transaction';
import { toExecution, type ExecutionRow } from '../executions/sql';
import { insertHabit, validateHabitDefinition } from '../habits/definition';
import { toHabit, type HabitRow } from '../habits/sql';
import type { FieldError } from '../problems';
import { validateReflexDefinition } from '../reflexes/definition';
import { insertReflex } from '../reflexes/store';
import { BUNDLE_HABITS, BUNDLE_REFLEXES, SKILL_HABITS, SKILL_RECENT_EXECUTIONS, SKILL_REFLEXES } from './sql';

type SkillDetail = components['schemas']['SkillDetail'];
type SkillReflex = components['schemas']['SkillReflex'];
type BundleReflex = components['schemas']['SkillBundleReflex'];
type BundleHabit = components['schemas']['SkillBundleHabit'];

interface ReflexRow {
  id: string;
  skill_id: string;
  user_id: string | null;
  trigger_type: SkillReflex['triggerType'];
  trigger_config: Record<string, unknown>;
  conditions: Record<string, unknown>;
  is_active: boolean;
  trigger_count: number;
  last_triggered_at: string | null;
  created_at: string;
  updated_at: string;
}

function toSkillReflex(row: ReflexRow): SkillReflex {
  return {
    id: row.id,
    skillId: row.skill_id,
    userId: row.user_id,
    triggerType: row.trigger_type,
    triggerConfig: row.trigger_config,
    conditions: row.conditions,
    isActive: row.is_active,
    triggerCount: row.trigger_count,
    lastTriggeredAt: row.last_triggered_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** One query per relation asked for, never one per row. */
export const SKILL_INCLUDES = {
  habits: async (tx: RequestTransaction, skillId: string): Promise<Partial<SkillDetail>> => {
    const rows = await tx.query<HabitRow>(SKILL_HABITS, [skillId]);
    return { habits: rows.rows.map(toHabit) };
  },
  reflexes: async (tx: RequestTransaction, skillId: string): Promise<Partial<SkillDetail>> => {
    const rows = await tx.query<ReflexRow>(SKILL_REFLEXES, [skillId]);
    return { reflexes: rows.rows.map(toSkillReflex) };
  },
  recentExecutions: async (tx: RequestTransaction, skillId: string): Promise<Partial<SkillDetail>> => {
    const rows = await tx.query<ExecutionRow>(SKILL_RECENT_EXECUTIONS, [skillId]);
    return { recentExecutions: rows.rows.map(toExecution) };
  },
} as const;

export type SkillInclude = keyof typeof SKILL_INCLUDES;

// ---------------------------------------------------------------------------
// Export and import bundles. Habits and reflexes travel as their portable
// fields only (never ids, owners, counters or webhook secrets) and are checked
// and stored by their own modules, exactly as their own endpoints do.
// ---------------------------------------------------------------------------

function groupBySkill<Row extends { skill_id: string }, Item>(rows: Row[], toItem: (row: Row) => Item): Map<string, Item[]> {
  const bySkill = new Map<string, Item[]>();
  for (const row of rows) {
    const list = bySkill.get(row.skill_id) ?? [];
    list.push(toItem(row));
    bySkill.set(row.skill_id, list);
  }
  return bySkill;
}

interface BundleReflexRow {
  skill_id: string;
  trigger_type: BundleReflex['triggerType'];
  trigger_config: Record<string, unknown>;
  conditions: Record<string, unknown>;
  is_active: boolean;
}

interface BundleHabitRow {
  skill_id: string;
  schedule_cron: string;
  schedule_description: string | null;
  timezone: string;
  config: Record<string, unknown>;
  is_active: boolean;
}

/** Bundle reflexes of each skill, by skill id. */
export async function exportReflexes(tx: RequestTransaction, skillIds: string[]): Promise<Map<string, BundleReflex[]>> {
  const rows = await tx.query<BundleReflexRow>(BUNDLE_REFLEXES, [skillIds]);
  return groupBySkill(rows.rows, (row) => ({
    triggerType: row.trigger_type,
    triggerConfig: row.trigger_config,
    conditions: row.conditions,
    isActive: row.is_active,
  }));
}

/** Bundle habits of each skill, by skill id. */
export async function exportHabits(tx: RequestTransaction, skillIds: string[]): Promise<Map<string, BundleHabit[]>> {
  const rows = await tx.query<BundleHabitRow>(BUNDLE_HABITS, [skillIds]);
  return groupBySkill(rows.rows, (row) => ({
    scheduleCron: row.schedule_cron,
    scheduleDescription: row.schedule_description,
    timezone: row.timezone,
    config: row.config,
    isActive: row.is_active,
  }));
}

/** Every problem of the bundle's reflexes, by the rules POST /reflexes applies. */
export function reflexBundleProblems(reflexes: readonly BundleReflex[], basePath: string): FieldError[] {
  return reflexes.flatMap((reflex, index) => validateReflexDefinition(reflex, `${basePath}/${index}`).errors);
}

/** Every problem of the bundle's habits, by the rules POST /habits applies. */
export function habitBundleProblems(habits: readonly BundleHabit[], basePath: string): FieldError[] {
  return habits.flatMap((habit, index) => validateHabitDefinition(habit, `${basePath}/${index}`).errors);
}

interface Owner {
  organizationId: string;
  userId: string;
  skillId: string;
}

/**
 * Stores the reflexes of an imported skill (already checked). A webhook reflex
 * gets a fresh secret, which its owner reads with regenerate-secret: secrets
 * never travel in bundles.
 */
export async function importReflexes(tx: RequestTransaction, box: SecretBox, owner: Owner, reflexes: readonly BundleReflex[], basePath: string): Promise<void> {
  for (const [index, reflex] of reflexes.entries()) {
    const { definition } = validateReflexDefinition(reflex, `${basePath}/${index}`);
    await insertReflex(tx, box, { ...owner, definition: definition! }, `${basePath}/${index}`);
  }
}

/** Stores the habits of an imported skill (already checked); active ones are scheduled from now. */
export async function importHabits(tx: RequestTransaction, owner: Owner, habits: readonly BundleHabit[], basePath: string): Promise<void> {
  for (const [index, habit] of habits.entries()) {
    const { definition } = validateHabitDefinition(habit, `${basePath}/${index}`);
    await insertHabit(tx, { ...owner, definition: definition! });
  }
}
