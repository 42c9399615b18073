import { asServiceRole, requireOrganization, requireUser, type RequestTransaction } from '../db/transaction';
import { problems } from '../problems';
import { EXECUTION_NOT_FOUND } from './operations';
import { EXECUTION_COLUMNS, EXECUTION_WITH_SKILL, toExecutionWithSkill, type ExecutionWithSkillRow, type SkillExecution } from './sql';

// POST /executions/{id}/retry: the same skill and input once more, as a new
// execution. Each kind of run is created the way it always is, so the
// database's rules about who creates which run hold for retries too
// (008_least_privilege): a person's run as the caller under row level
// security; a habit's run as the back office once the habit was read as the
// caller (as "run now" does); a reflex's run by app.start_reflex_run once the
// caller was found allowed to fire it. Quotas are the insert trigger's.

const RETRIABLE = new Set(['failed', 'cancelled']);

/** $1 organization, $2 skill, $3 the caller, $4 input: a person's run, inserted as the caller. */
const INSERT_MANUAL_RUN = `insert into public.skill_executions as e (organization_id, skill_id, user_id, execution_type, input)
  values ($1, $2, $3, 'manual', $4) returning ${EXECUTION_COLUMNS}`;

/** $1 organization, $2 skill, $3 the caller, $4 habit, $5 input: a habit's run (as service_role). */
const INSERT_HABIT_RUN = `insert into public.skill_executions as e (organization_id, skill_id, user_id, execution_type, reference_id, input)
  values ($1, $2, $3, 'habit', $4, $5) returning e.id`;

/** $1 skill: whether it exists (to the caller) and is active. */
const SKILL_ACTIVE = 'select s.is_active from public.skills s where s.id = $1';

/** $1 habit, $2 organization: the habit as the caller sees it, with its skill's state. */
const HABIT_OF_RUN = `select h.id, h.skill_id, s.is_active as skill_is_active
  from public.habits h left join public.skills s on s.id = h.skill_id
  where h.id = $1 and h.organization_id = $2`;

/** $1 reflex, $2 organization: the reflex as the caller sees it, and whether the caller manages it. */
const REFLEX_OF_RUN = `select r.id, r.trigger_type, app.can_manage_reflex(r.id) as manages
  from public.reflexes r where r.id = $1 and r.organization_id = $2`;

/** Reflexes members fire themselves (app.fire_reflex); the others only their managers retry. */
const MEMBER_FIRED_TRIGGERS = new Set(['event', 'file_change']);

export interface Retried {
  newExecutionId: string;
  status: 'pending' | 'running';
  execution: SkillExecution;
}

export async function retryExecution(tx: RequestTransaction, executionId: string): Promise<Retried> {
  const organizationId = requireOrganization(tx);
  const userId = requireUser(tx);
  const found = await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [executionId, organizationId]);
  const original = found.rows[0];
  if (!original) throw problems.notFound(EXECUTION_NOT_FOUND);
  if (!RETRIABLE.has(original.status)) {
    throw problems.conflict(`Only a failed or cancelled execution can be retried; this one is ${original.status}.`);
  }
  if (original.skill_id === null) throw problems.conflict('The skill of this execution has been deleted.');
  const input = JSON.stringify(original.input);

  let newId: string;
  if (original.execution_type === 'habit' && original.reference_id !== null) {
    newId = await retryHabitRun(tx, organizationId, userId, original.reference_id, original.skill_id, input);
  } else if (original.execution_type === 'reflex' && original.reference_id !== null) {
    newId = await retryReflexRun(tx, organizationId, original.reference_id, input);
  } else {
    const active = await tx.query<{ is_active: boolean }>(SKILL_ACTIVE, [original.skill_id]);
    if (!active.rows[0]?.is_active) throw problems.conflict('The skill is inactive; activate it to run it again.');
    newId = (await tx.query<{ id: string }>(INSERT_MANUAL_RUN, [organizationId, original.skill_id, userId, input])).rows[0]!.id;
  }
  const created = await tx.query<ExecutionWithSkillRow>(EXECUTION_WITH_SKILL, [newId, organizationId]);
  const execution = toExecutionWithSkill(created.rows[0]!);
  return { newExecutionId: execution.id, status: execution.status === 'running' ? 'running' : 'pending', execution };
}

async function retryHabitRun(
  tx: RequestTransaction,
  organizationId: string,
  userId: string,
  habitId: string,
  skillId: string,
  input: string,
): Promise<string> {
  const habit = (await tx.query<{ id: string; skill_id: string; skill_is_active: boolean | null }>(HABIT_OF_RUN, [habitId, organizationId])).rows[0];
  if (!habit) throw problems.conflict('The habit of this execution has been deleted.');
  if (!habit.skill_is_active) throw problems.conflict("The habit's skill is inactive; activate it to run it again.");
  if (habit.skill_id !== skillId) throw problems.conflict('The habit now runs another skill; run the habit instead.');
  const inserted = await asServiceRole(tx, () => tx.query<{ id: string }>(INSERT_HABIT_RUN, [organizationId, skillId, userId, habitId, input]));
  return inserted.rows[0]!.id;
}

async function retryReflexRun(tx: RequestTransaction, organizationId: string, reflexId: string, input: string): Promise<string> {
  const reflex = (await tx.query<{ id: string; trigger_type: string; manages: boolean }>(REFLEX_OF_RUN, [reflexId, organizationId])).rows[0];
  if (!reflex) throw problems.conflict('The reflex of this execution has been deleted.');
  if (!reflex.manages && !MEMBER_FIRED_TRIGGERS.has(reflex.trigger_type)) {
    throw problems.forbidden("Only the reflex's owner and the organization's owners and admins may retry its runs.");
  }
  const started = await asServiceRole(tx, () => tx.query<{ id: string | null }>('select app.start_reflex_run($1, $2::jsonb) as id', [reflexId, input]));
  const id = started.rows[0]?.id;
  if (!id) throw problems.conflict('The reflex or its skill is inactive; activate it to run it again.');
  return id;
}
