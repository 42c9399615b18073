import type { components, operations } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { Conditions } from './conditions';
import type { ReflexTriggerType } from './definition';

export type Reflex = components['schemas']['Reflex'];
type SkillSummary = components['schemas']['SkillSummary'];

export interface ReflexRow {
  id: string;
  organization_id: string;
  skill_id: string;
  user_id: string | null;
  trigger_type: ReflexTriggerType;
  trigger_config: Record<string, unknown>;
  conditions: Conditions;
  is_active: boolean;
  trigger_count: number;
  last_triggered_at: string | null;
  consecutive_failures: number;
  last_error_message: string | null;
  created_at: string;
  updated_at: string;
}

export const REFLEX_COLUMNS = `r.id, r.organization_id, r.skill_id, r.user_id, r.trigger_type, r.trigger_config, r.conditions,
  r.is_active, r.trigger_count, r.last_triggered_at, r.consecutive_failures, r.last_error_message, r.created_at, r.updated_at`;

export function toReflex(row: ReflexRow): Reflex {
  return {
    id: row.id,
    organizationId: row.organization_id,
    skillId: row.skill_id,
    userId: row.user_id,
    triggerType: row.trigger_type,
    triggerConfig: row.trigger_config,
    conditions: { matchAll: row.conditions.matchAll ?? true, filters: row.conditions.filters ?? [] },
    isActive: row.is_active,
    triggerCount: row.trigger_count,
    lastTriggeredAt: row.last_triggered_at,
    consecutiveFailures: row.consecutive_failures,
    lastErrorMessage: row.last_error_message,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A reflex as the caller may see it, what they may do with it, and its skill's summary. */
export interface ReflexAccessRow extends ReflexRow {
  can_manage: boolean;
  skill_name: string;
  skill_category: SkillSummary['category'];
  skill_output_format: SkillSummary['outputFormat'];
  skill_is_active: boolean;
}

/** Row level security decides whether it exists for the caller; `r.organization_id` keeps it to the selected organization. */
export const REFLEX_ACCESS = `
  select ${REFLEX_COLUMNS},
         app.can_manage_owned(r.organization_id, r.user_id) as can_manage,
         s.name as skill_name, s.category as skill_category, s.output_format as skill_output_format, s.is_active as skill_is_active
  from public.reflexes r
  join public.skills s on s.id = r.skill_id and s.organization_id = r.organization_id
  where r.id = $1 and r.organization_id = $2`;

export function toReflexWithSkill(row: ReflexAccessRow): Reflex {
  return {
    ...toReflex(row),
    skill: {
      id: row.skill_id,
      name: row.skill_name,
      category: row.skill_category,
      outputFormat: row.skill_output_format,
      isActive: row.skill_is_active,
    },
  };
}

/** $1 organization, $2 skill, $3 owner, $4 trigger type, $5 config, $6 conditions, $7 active. */
export const INSERT_REFLEX = `insert into public.reflexes as r
    (organization_id, skill_id, user_id, trigger_type, trigger_config, conditions, is_active)
  values ($1, $2, $3, $4, $5, $6, $7)
  returning ${REFLEX_COLUMNS}`;

type ListQuery = NonNullable<operations['listReflexes']['parameters']['query']>;

export const REFLEX_SORTS: Record<string, string> = {
  createdAt: 'r.created_at asc, r.id asc',
  '-createdAt': 'r.created_at desc, r.id desc',
};

/**
 * `r.organization_id = $1` leads every index on the table (or the skill's,
 * whose rows all sit in one organization), so each filter and order is an
 * index range.
 */
export function reflexListQuery(organizationId: string, filters: ListQuery, page: PageRequest): PageQuery<ReflexRow> {
  const params: unknown[] = [organizationId];
  const where = ['r.organization_id = $1'];
  if (filters.skillId !== undefined) {
    params.push(filters.skillId);
    where.push(`r.skill_id = $${params.length}`);
  }
  if (filters.triggerType !== undefined) {
    params.push(filters.triggerType);
    where.push(`r.trigger_type = $${params.length}`);
  }
  if (filters.isActive !== undefined) {
    params.push(filters.isActive);
    where.push(`r.is_active = $${params.length}`);
  }
  return {
    select: REFLEX_COLUMNS,
    fromWhere: `public.reflexes r where ${where.join(' and ')}`,
    params,
    orderBy: REFLEX_SORTS[filters.sort ?? '-createdAt']!,
    page,
  };
}
