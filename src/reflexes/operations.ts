import type { SecretBox } from '../db/secret-box';
import { requireOrganization, requireUser, type RequestTransaction } from '../db/transaction';
import type { components } from '../generated/openapi';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery } from '../http/route';
import { problems } from '../problems';
import { validateReflexDefinition, type ReflexDefinition, type ReflexTriggerType } from './definition';
import { hookPath, SIGNATURE_HEADER, TIMESTAMP_HEADER, type ReflexWebhookSettings } from './hooks/settings';
import {
  ACTIVATE_REFLEX,
  DEACTIVATE_REFLEX,
  DELETE_REFLEX,
  ORGANIZATION_RECENT_TRIGGERS,
  ORGANIZATION_REFLEX_TOTALS,
  REFLEX_ACCESS,
  REFLEX_EXECUTION_COUNTS,
  REFLEX_SECRET_CREATED_AT,
  reflexListQuery,
  RESET_REFLEX_ERRORS,
  toOrganizationReflexStats,
  toReflex,
  toReflexWithSkill,
  UPDATE_REFLEX,
  type OrganizationReflexStats,
  type RecentTriggerRow,
  type Reflex,
  type ReflexAccessRow,
  type ReflexTotalsByTypeRow,
} from './sql';
import { samplePayloadFor } from './sample-payload';
import { dropWebhookSecret, insertReflex, issueWebhookSecret, requireSkillInOrganization } from './store';
import { matchReflex, skillInputFor } from './triggers';

// Each operation of /reflexes: given the request transaction and the
// request's parts (typed from the contract), it checks, stores and answers.

type UpdateBody = RequestBody<'updateReflex'>;
type ReflexWebhook = components['schemas']['ReflexWebhook'];
type ReflexWebhookInfo = components['schemas']['ReflexWebhookInfo'];
type ReflexStats = components['schemas']['ReflexStats'];
type ReflexTestResult = components['schemas']['ReflexTestResult'];
/** A webhook reflex's secret is shown once: in the answer that made it. */
type WithSecret<T> = T & { secret?: string };

const NOT_FOUND = 'There is no such reflex in this organization.';
const NOT_WEBHOOK = 'This reflex is not triggered by a webhook; only webhook reflexes have a URL and a secret.';
const INVALID = 'The reflex definition is not valid.';

/** The reflex as the caller may see it (row level security), or 404. */
async function loadReflex(tx: RequestTransaction, reflexId: string): Promise<ReflexAccessRow> {
  const organizationId = requireOrganization(tx);
  const found = await tx.query<ReflexAccessRow>(REFLEX_ACCESS, [reflexId, organizationId]);
  if (!found.rows[0]) throw problems.notFound(NOT_FOUND);
  return found.rows[0];
}

/** 403 for members who may see the reflex but not change it (the update policy would refuse anyway). */
function requireManager(row: ReflexAccessRow): void {
  if (!row.can_manage) {
    throw problems.forbidden("Only the reflex's owner and the organization's owners and admins may change it.");
  }
}

async function loadManaged(tx: RequestTransaction, reflexId: string): Promise<ReflexAccessRow> {
  const row = await loadReflex(tx, reflexId);
  requireManager(row);
  return row;
}

/** One small state change (activate, deactivate, reset errors) followed by the reflex as it now is. */
async function changeState(tx: RequestTransaction, reflexId: string, statement: string): Promise<Reflex> {
  const row = await loadManaged(tx, reflexId);
  await tx.query(statement, [row.id, row.organization_id]);
  return toReflexWithSkill(await loadReflex(tx, reflexId));
}

/** Where deliveries go: the path always, the absolute URL only when the public address is configured. */
export function webhookDetails(
  settings: ReflexWebhookSettings,
  row: Pick<ReflexAccessRow, 'id' | 'trigger_config' | 'conditions'>,
  secretCreatedAt: string | null,
): ReflexWebhook {
  const path = hookPath(row.id);
  return {
    reflexId: row.id,
    url: settings.publicBaseUrl ? `${settings.publicBaseUrl}${path}` : null,
    path,
    method: row.trigger_config.method === 'GET' ? 'GET' : 'POST',
    signatureScheme: 'hmac-sha256',
    signatureHeader: SIGNATURE_HEADER,
    timestampHeader: TIMESTAMP_HEADER,
    signedContent: '<timestamp>.<raw body>',
    toleranceSeconds: settings.toleranceSeconds,
    maxBodyBytes: settings.maxBodyBytes,
    secretCreatedAt,
    samplePayload: samplePayloadFor({ matchAll: row.conditions.matchAll ?? true, filters: row.conditions.filters ?? [] }),
  };
}

export function listReflexes(tx: RequestTransaction, query: RequestQuery<'listReflexes'>): Promise<Page<Reflex>> {
  return paginate(tx, reflexListQuery(requireOrganization(tx), query, pageRequest(query)), toReflex);
}

/** Checked before any SQL: a bad definition is the caller's 400, whatever else holds. */
export function checkNewReflex(body: RequestBody<'createReflex'>): ReflexDefinition {
  const { definition, errors } = validateReflexDefinition(body);
  if (!definition) throw problems.validation(INVALID, errors);
  return definition;
}

export async function createReflex(tx: RequestTransaction, box: SecretBox, skillId: string, definition: ReflexDefinition): Promise<WithSecret<Reflex>> {
  const inserted = await insertReflex(tx, box, { organizationId: requireOrganization(tx), userId: requireUser(tx), skillId, definition });
  const reflex = toReflexWithSkill(await loadReflex(tx, inserted.reflex.id));
  return inserted.secret ? { ...reflex, secret: inserted.secret } : reflex;
}

export async function getReflex(tx: RequestTransaction, reflexId: string): Promise<Reflex> {
  return toReflexWithSkill(await loadReflex(tx, reflexId));
}

/**
 * The whole definition after a change, checked as a new one would be, so the
 * answer names every bad field. A new trigger type needs its own config: the
 * old type's config would not describe it.
 */
export function checkReflexUpdate(current: Pick<ReflexAccessRow, 'trigger_type' | 'trigger_config' | 'conditions' | 'is_active'>, body: UpdateBody): ReflexDefinition {
  const newType = body.triggerType !== undefined && body.triggerType !== current.trigger_type;
  if (newType && body.triggerConfig === undefined) {
    const message = `A new triggerType needs the triggerConfig of a ${body.triggerType} trigger.`;
    throw problems.validation(message, [{ path: '/body/triggerConfig', message }]);
  }
  const { definition, errors } = validateReflexDefinition({
    triggerType: body.triggerType ?? current.trigger_type,
    triggerConfig: body.triggerConfig ?? current.trigger_config,
    conditions: body.conditions ?? current.conditions,
    isActive: body.isActive ?? current.is_active,
  });
  if (!definition) throw problems.validation(INVALID, errors);
  return definition;
}

/** What becoming (or ceasing to be) a webhook reflex does to its secret. */
export function secretChange(from: ReflexTriggerType, to: ReflexTriggerType): 'issue' | 'drop' | 'keep' {
  if (from !== 'webhook' && to === 'webhook') return 'issue';
  if (from === 'webhook' && to !== 'webhook') return 'drop';
  return 'keep';
}

export async function updateReflex(tx: RequestTransaction, box: SecretBox, reflexId: string, body: UpdateBody): Promise<WithSecret<Reflex>> {
  const row = await loadManaged(tx, reflexId);
  const definition = checkReflexUpdate(row, body);
  const skillId = body.skillId ?? row.skill_id;
  if (skillId !== row.skill_id) await requireSkillInOrganization(tx, skillId, row.organization_id);
  await tx.query(UPDATE_REFLEX, [
    row.id,
    row.organization_id,
    skillId,
    definition.triggerType,
    definition.triggerConfig,
    definition.conditions,
    definition.isActive,
  ]);
  let secret: string | undefined;
  const change = secretChange(row.trigger_type, definition.triggerType);
  if (change === 'issue') ({ secret } = await issueWebhookSecret(tx, box, row.id));
  else if (change === 'drop') await dropWebhookSecret(tx, row.id);
  const reflex = toReflexWithSkill(await loadReflex(tx, row.id));
  return secret ? { ...reflex, secret } : reflex;
}

export async function deleteReflex(tx: RequestTransaction, reflexId: string): Promise<void> {
  const row = await loadManaged(tx, reflexId);
  await tx.query(DELETE_REFLEX, [row.id, row.organization_id]);
}

export function activateReflex(tx: RequestTransaction, reflexId: string): Promise<Reflex> {
  return changeState(tx, reflexId, ACTIVATE_REFLEX);
}

export function deactivateReflex(tx: RequestTransaction, reflexId: string): Promise<Reflex> {
  return changeState(tx, reflexId, DEACTIVATE_REFLEX);
}

export function resetReflexErrors(tx: RequestTransaction, reflexId: string): Promise<Reflex> {
  return changeState(tx, reflexId, RESET_REFLEX_ERRORS);
}

/** Whether the reflex would fire for the event, and why (or why not); nothing is started. */
export function reflexTestResult(row: ReflexAccessRow, body: RequestBody<'testReflex'>): ReflexTestResult {
  const event = { eventName: body.eventName, source: body.source, payload: body.payload ?? {} };
  const verdict = matchReflex({ triggerType: row.trigger_type, triggerConfig: row.trigger_config, conditions: row.conditions }, event);
  return {
    reflexId: row.id,
    triggerType: row.trigger_type,
    triggerMatched: verdict.triggerMatched,
    triggerChecks: verdict.triggerChecks,
    conditions: verdict.conditions,
    isActive: row.is_active,
    skillActive: row.skill_is_active,
    wouldFire: verdict.matched && row.is_active && row.skill_is_active,
    input: skillInputFor(event),
  };
}

export async function testReflex(tx: RequestTransaction, reflexId: string, body: RequestBody<'testReflex'>): Promise<ReflexTestResult> {
  return reflexTestResult(await loadReflex(tx, reflexId), body);
}

export async function regenerateReflexSecret(
  tx: RequestTransaction,
  box: SecretBox,
  reflexId: string,
  settings: ReflexWebhookSettings,
): Promise<ReflexWebhook & { secret: string }> {
  const row = await loadManaged(tx, reflexId);
  if (row.trigger_type !== 'webhook') throw problems.conflict(NOT_WEBHOOK);
  const { secret, createdAt } = await issueWebhookSecret(tx, box, row.id);
  return { ...webhookDetails(settings, row, createdAt), secret };
}

/**
 * How to deliver to a webhook reflex, for those who may manage it. `secret`
 * is always null: the secret is shown once, when it is made, and lives where
 * no signed-in user can read it back (004_reflex_webhooks), so it cannot be
 * shown again; regenerate-secret makes a new one.
 */
export async function getReflexWebhook(tx: RequestTransaction, reflexId: string, settings: ReflexWebhookSettings): Promise<ReflexWebhookInfo> {
  const row = await loadManaged(tx, reflexId);
  if (row.trigger_type !== 'webhook') throw problems.conflict(NOT_WEBHOOK);
  const created = await tx.query<{ created_at: string | null }>(REFLEX_SECRET_CREATED_AT, [row.id]);
  return { ...webhookDetails(settings, row, created.rows[0]?.created_at ?? null), secret: null };
}

export async function organizationReflexStats(tx: RequestTransaction): Promise<OrganizationReflexStats> {
  const organizationId = requireOrganization(tx);
  const byType = await tx.query<ReflexTotalsByTypeRow>(ORGANIZATION_REFLEX_TOTALS, [organizationId]);
  const recent = await tx.query<RecentTriggerRow>(ORGANIZATION_RECENT_TRIGGERS, [organizationId]);
  return toOrganizationReflexStats(byType.rows, recent.rows);
}

export async function reflexStats(tx: RequestTransaction, reflexId: string): Promise<ReflexStats> {
  const row = await loadReflex(tx, reflexId);
  const counted = await tx.query<ReflexStats['executions']>(REFLEX_EXECUTION_COUNTS, [row.id, row.organization_id]);
  return {
    reflexId: row.id,
    isActive: row.is_active,
    triggerCount: row.trigger_count,
    lastTriggeredAt: row.last_triggered_at,
    executions: counted.rows[0]!,
    consecutiveFailures: row.consecutive_failures,
    lastErrorMessage: row.last_error_message,
  };
}
