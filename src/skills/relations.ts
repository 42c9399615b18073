// What a skill embeds (GET /skills/{id}?include=...) and carries in an export
// bundle besides its own fields. Each relation is one entry here, so habits can
// be added beside reflexes without touching the routes.
import type { components } from '../generated/openapi';
import type { RequestTransaction } from '../db/transaction';
import { EXECUTION_COLUMNS, toExecution, type ExecutionRow } from '../executions/sql';
import type { FieldError } from '../http/problems';

type SkillDetail = components['schemas']['SkillDetail'];
type SkillReflex = components['schemas']['SkillReflex'];
type BundleReflex = components['schemas']['SkillBundleReflex'];

/** At most this many reflexes are embedded; the reflex list serves the rest. */
export const EMBEDDED_REFLEXES = 100;
/** The most recent executions embedded in a skill. */
export const EMBEDDED_EXECUTIONS = 10;

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
  reflexes: async (tx: RequestTransaction, skillId: string): Promise<Partial<SkillDetail>> => {
    const rows = await tx.query<ReflexRow>(
      `select r.id, r.skill_id, r.user_id, r.trigger_type, r.trigger_config, r.conditions, r.is_active,
              r.trigger_count, r.last_triggered_at, r.created_at, r.updated_at
       from public.reflexes r where r.skill_id = $1 order by r.created_at, r.id limit ${EMBEDDED_REFLEXES}`,
      [skillId],
    );
    return { reflexes: rows.rows.map(toSkillReflex) };
  },
  executions: async (tx: RequestTransaction, skillId: string): Promise<Partial<SkillDetail>> => {
    const rows = await tx.query<ExecutionRow>(
      `select ${EXECUTION_COLUMNS} from public.skill_executions e
       where e.skill_id = $1 order by e.created_at desc, e.id desc limit ${EMBEDDED_EXECUTIONS}`,
      [skillId],
    );
    return { executions: rows.rows.map(toExecution) };
  },
} as const;

export type SkillInclude = keyof typeof SKILL_INCLUDES;

// ---------------------------------------------------------------------------
// Export and import bundles. Reflexes travel as their portable fields only;
// full validation of trigger configurations belongs to the reflexes module,
// which can replace `reflexBundleProblems` and `importReflexes`. Habits are
// accepted as an array and ignored here until the habits module wires
// `exportHabits` / `importHabits` up.
// ---------------------------------------------------------------------------

export type BundleHabit = Record<string, unknown>;

/** Bundle reflexes of each skill, by skill id. */
export async function exportReflexes(tx: RequestTransaction, skillIds: string[]): Promise<Map<string, BundleReflex[]>> {
  const rows = await tx.query<{ skill_id: string; trigger_type: BundleReflex['triggerType']; trigger_config: Record<string, unknown>; conditions: Record<string, unknown>; is_active: boolean }>(
    `select r.skill_id, r.trigger_type, r.trigger_config, r.conditions, r.is_active
     from public.reflexes r where r.skill_id = any($1::uuid[]) order by r.created_at, r.id`,
    [skillIds],
  );
  const bySkill = new Map<string, BundleReflex[]>();
  for (const row of rows.rows) {
    const list = bySkill.get(row.skill_id) ?? [];
    list.push({ triggerType: row.trigger_type, triggerConfig: row.trigger_config, conditions: row.conditions, isActive: row.is_active });
    bySkill.set(row.skill_id, list);
  }
  return bySkill;
}

export async function exportHabits(_tx: RequestTransaction, _skillIds: string[]): Promise<Map<string, BundleHabit[]>> {
  return new Map();
}

/** Minimal checks of bundle reflexes (the contract has checked their shape). */
export function reflexBundleProblems(reflexes: readonly BundleReflex[], basePath: string): FieldError[] {
  const errors: FieldError[] = [];
  reflexes.forEach((reflex, index) => {
    const conditions = reflex.conditions;
    if (conditions && conditions.filters !== undefined && !Array.isArray(conditions.filters)) {
      errors.push({ path: `${basePath}/${index}/conditions/filters`, message: 'must be an array', code: 'type' });
    }
  });
  return errors;
}

export function habitBundleProblems(_habits: readonly BundleHabit[], _basePath: string): FieldError[] {
  return [];
}

export async function importReflexes(
  tx: RequestTransaction,
  owner: { organizationId: string; userId: string; skillId: string },
  reflexes: readonly BundleReflex[],
): Promise<void> {
  if (reflexes.length === 0) return;
  await tx.query(
    `insert into public.reflexes (organization_id, skill_id, user_id, trigger_type, trigger_config, conditions, is_active)
     select $1, $2, $3, r.trigger_type, r.trigger_config, coalesce(r.conditions, '{"matchAll": true, "filters": []}'::jsonb), r.is_active
     from jsonb_to_recordset($4::jsonb) as r(trigger_type public.reflex_trigger_type, trigger_config jsonb, conditions jsonb, is_active boolean)`,
    [
      owner.organizationId,
      owner.skillId,
      owner.userId,
      JSON.stringify(
        reflexes.map((r) => ({
          trigger_type: r.triggerType,
          trigger_config: r.triggerConfig ?? {},
          conditions: r.conditions ?? null,
          is_active: r.isActive ?? true,
        })),
      ),
    ],
  );
}

export async function importHabits(
  _tx: RequestTransaction,
  _owner: { organizationId: string; userId: string; skillId: string },
  _habits: readonly BundleHabit[],
): Promise<void> {
  // Wired up by the habits module.
}
