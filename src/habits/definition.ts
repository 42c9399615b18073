import type { RequestTransaction } from '../db/transaction';
import type { FieldError } from '../problems';
import { canonicalTimezone, describeCron, nextRunAfter, parseCron } from './cron';
import { HABIT_COLUMNS, type HabitRow } from './sql';

/**
 * What defines a habit, apart from its skill and owner. Routes and the import
 * of skill bundles both go through validateHabitDefinition and insertHabit, so
 * a habit is checked and stored one way.
 */
export interface HabitDefinition {
  scheduleCron: string;
  scheduleDescription?: string | null;
  timezone?: string;
  config?: Record<string, unknown>;
  isActive?: boolean;
}

/** A definition that passed validateHabitDefinition, with its time zone in canonical spelling. */
export interface ValidHabitDefinition {
  scheduleCron: string;
  scheduleDescription: string;
  timezone: string;
  config: Record<string, unknown>;
  isActive: boolean;
}

/** Serialized config above this size is refused: it is copied into every execution. */
export const MAX_CONFIG_BYTES = 64 * 1024;

/**
 * Checks a definition (for instance one read from an imported bundle, where no
 * contract validated it) and returns every problem as a field error under
 * `pathPrefix`, or the normalized definition when there is none.
 */
export function validateHabitDefinition(
  input: HabitDefinition,
  pathPrefix = '/body',
): { errors: FieldError[]; definition?: ValidHabitDefinition } {
  const errors: FieldError[] = [];
  const timezoneGiven = input.timezone ?? 'UTC';
  const timezone = typeof timezoneGiven === 'string' ? canonicalTimezone(timezoneGiven) : null;
  if (!timezone) {
    errors.push({ path: `${pathPrefix}/timezone`, message: 'is not a known IANA time zone (for example Europe/Amsterdam or UTC)' });
  }
  if (typeof input.scheduleCron !== 'string') {
    errors.push({ path: `${pathPrefix}/scheduleCron`, message: 'is required: a five-field cron expression' });
  } else {
    const parsed = parseCron(input.scheduleCron, timezone ?? 'UTC');
    if (!parsed.valid) errors.push({ path: `${pathPrefix}/scheduleCron`, message: parsed.reason });
  }
  const description = input.scheduleDescription;
  if (description !== undefined && description !== null && (typeof description !== 'string' || description.length > 500)) {
    errors.push({ path: `${pathPrefix}/scheduleDescription`, message: 'must be text of at most 500 characters' });
  }
  const config = input.config ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    errors.push({ path: `${pathPrefix}/config`, message: 'must be an object (the skill input)' });
  } else if (Buffer.byteLength(JSON.stringify(config)) > MAX_CONFIG_BYTES) {
    errors.push({ path: `${pathPrefix}/config`, message: `must be at most ${MAX_CONFIG_BYTES} bytes as JSON` });
  }
  if (input.isActive !== undefined && typeof input.isActive !== 'boolean') {
    errors.push({ path: `${pathPrefix}/isActive`, message: 'must be true or false' });
  }
  if (errors.length > 0) return { errors };
  const scheduleCron = input.scheduleCron.trim().split(/\s+/).join(' ');
  return {
    errors,
    definition: {
      scheduleCron,
      scheduleDescription: description?.trim() ? description.trim() : describeCron(scheduleCron, timezone!),
      timezone: timezone!,
      config,
      isActive: input.isActive ?? true,
    },
  };
}

/** When an active habit runs next, counted from `now`; null when inactive. */
export function nextRunFor(definition: Pick<ValidHabitDefinition, 'scheduleCron' | 'timezone' | 'isActive'>, now: Date): string | null {
  if (!definition.isActive) return null;
  return nextRunAfter(definition.scheduleCron, definition.timezone, now)?.toISOString() ?? null;
}

/**
 * Stores a validated habit within the caller's transaction (row level security
 * applies: `userId` must be the caller, the organization the selected one).
 * The skill must exist in that organization; its absence is a foreign key
 * violation (23503) for the caller to report.
 */
export async function insertHabit(
  tx: RequestTransaction,
  habit: { organizationId: string; userId: string; skillId: string; definition: ValidHabitDefinition },
  now = new Date(),
): Promise<HabitRow> {
  const { definition } = habit;
  const inserted = await tx.query<HabitRow>(
    `with created as (
       insert into public.habits
         (organization_id, user_id, skill_id, schedule_cron, schedule_description, timezone, config, is_active, next_run_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       returning *
     )
     select ${HABIT_COLUMNS} from created h
     join public.skills s on s.id = h.skill_id and s.organization_id = h.organization_id`,
    [
      habit.organizationId,
      habit.userId,
      habit.skillId,
      definition.scheduleCron,
      definition.scheduleDescription,
      definition.timezone,
      JSON.stringify(definition.config),
      definition.isActive,
      nextRunFor(definition, now),
    ],
  );
  return inserted.rows[0]!;
}
