import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import type { RequestQuery } from '../http/route';
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

type ListQuery = RequestQuery<'listReflexes'>;

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

// Changes to one reflex, $1 the reflex and $2 its organization; the operations
// check first that the caller may manage it (the update policy would refuse anyway).

/** $3 skill, $4 trigger type, $5 trigger config, $6 conditions, $7 active: the whole checked definition. */
export const UPDATE_REFLEX = `update public.reflexes r
  set skill_id = $3, trigger_type = $4, trigger_config = $5, conditions = $6, is_active = $7
  where r.id = $1 and r.organization_id = $2
  returning ${REFLEX_COLUMNS}`;

export const DELETE_REFLEX = 'delete from public.reflexes r where r.id = $1 and r.organization_id = $2';

/** A reflex stopped by failures in a row starts counting afresh. */
export const ACTIVATE_REFLEX = 'update public.reflexes r set is_active = true, consecutive_failures = 0 where r.id = $1 and r.organization_id = $2';
export const DEACTIVATE_REFLEX = 'update public.reflexes r set is_active = false where r.id = $1 and r.organization_id = $2';
export const RESET_REFLEX_ERRORS =
  'update public.reflexes r set consecutive_failures = 0, last_error_message = null where r.id = $1 and r.organization_id = $2';

/** The executions a reflex started, by status. */
export const REFLEX_EXECUTION_COUNTS = `select count(*)::int as total,
    count(*) filter (where e.status = 'pending')::int as pending,
    count(*) filter (where e.status = 'running')::int as running,
    count(*) filter (where e.status = 'completed')::int as completed,
    count(*) filter (where e.status = 'failed')::int as failed,
    count(*) filter (where e.status = 'cancelled')::int as cancelled
  from public.skill_executions e
  where e.reference_id = $1 and e.organization_id = $2 and e.execution_type = 'reflex'`;

// Webhook secrets are never read back by signed-in users: SECURITY DEFINER
// functions store, drop and date them after checking the caller may manage the reflex.

/** $1 reflex, $2 the new secret; returns when it was made. */
export const STORE_REFLEX_SECRET = 'select app.store_reflex_secret($1, $2) as created_at';
export const DROP_REFLEX_SECRET = 'select app.drop_reflex_secret($1)';
export const REFLEX_SECRET_CREATED_AT = 'select app.reflex_secret_created_at($1) as created_at';

/** $1 skill, $2 organization: whether the caller can see the skill there. */
export const SKILL_IN_ORGANIZATION = 'select 1 from public.skills s where s.id = $1 and s.organization_id = $2';

/**
 * $1 reflex, $2 the skill's input. Members go through app.fire_reflex, which
 * checks that they may fire it; app.start_reflex_run is granted to the back
 * office alone.
 */
export const FIRE_REFLEX = 'select app.fire_reflex($1, $2) as id';
export const START_REFLEX_RUN = 'select app.start_reflex_run($1, $2) as id';

export type OrganizationReflexStats = components['schemas']['OrganizationReflexStats'];

export interface ReflexTotalsByTypeRow {
  trigger_type: ReflexTriggerType;
  reflexes: number;
  active: number;
  triggers: number;
  failing: number;
}

/** The organization's reflexes counted by trigger type ($1 the organization; at most six rows). */
export const ORGANIZATION_REFLEX_TOTALS = `select r.trigger_type,
    count(*)::int as reflexes,
    count(*) filter (where r.is_active)::int as active,
    coalesce(sum(r.trigger_count), 0)::bigint as triggers,
    count(*) filter (where r.consecutive_failures > 0)::int as failing
  from public.reflexes r
  where r.organization_id = $1
  group by r.trigger_type`;

export interface RecentTriggerRow {
  reflex_id: string;
  skill_name: string;
  last_triggered_at: string;
  trigger_type: ReflexTriggerType;
}

/** The five most recently triggered reflexes. */
export const ORGANIZATION_RECENT_TRIGGERS = `select r.id as reflex_id, s.name as skill_name, r.last_triggered_at, r.trigger_type
  from public.reflexes r
  join public.skills s on s.id = r.skill_id and s.organization_id = r.organization_id
  where r.organization_id = $1 and r.last_triggered_at is not null
  order by r.last_triggered_at desc, r.id desc
  limit 5`;

const noTriggers = (): OrganizationReflexStats['triggersByType'] => ({ webhook: 0, email: 0, file_change: 0, api_call: 0, schedule: 0, event: 0 });

export function toOrganizationReflexStats(byType: ReflexTotalsByTypeRow[], recent: RecentTriggerRow[]): OrganizationReflexStats {
  const stats: OrganizationReflexStats = {
    totalReflexes: 0,
    activeReflexes: 0,
    totalTriggers: 0,
    failedReflexes: 0,
    triggersByType: noTriggers(),
    reflexesByType: noTriggers(),
    recentTriggers: recent.map((row) => ({
      reflexId: row.reflex_id,
      skillName: row.skill_name,
      triggeredAt: row.last_triggered_at,
      triggerType: row.trigger_type,
    })),
  };
  for (const row of byType) {
    stats.totalReflexes += row.reflexes;
    stats.activeReflexes += row.active;
    stats.totalTriggers += row.triggers;
    stats.failedReflexes += row.failing;
    stats.triggersByType[row.trigger_type] = row.triggers;
    stats.reflexesByType[row.trigger_type] = row.reflexes;
  }
  return stats;
}

/** $1 LIKE pattern of the current sealing key: a batch of secrets stored otherwise (plain, or under an older key). */
export const SECRETS_TO_RESEAL = `select reflex_id, secret from public.reflex_secrets
  where secret not like $1 order by reflex_id limit 200 for update skip locked`;

/** $1 reflex, $2 the secret as read, $3 the same secret sealed under the current key (created_at stays: it is no new secret). */
export const RESEAL_SECRET = 'update public.reflex_secrets set secret = $3 where reflex_id = $1 and secret = $2';
