import express, { type Router } from 'express';
import { requireOrganization, requireUser, type RequestTransaction } from '../db/transaction';
import type { components, operations } from '../generated/openapi';
import type { RunInTransaction } from '../http/context';
import { paginate, pageRequest } from '../http/pagination';
import { problems } from '../problems';
import { hookPath, SIGNATURE_HEADER, TIMESTAMP_HEADER, type ReflexWebhookSettings } from './hooks/settings';
import { validateReflexDefinition } from './definition';
import { dropWebhookSecret, insertReflex, issueWebhookSecret, requireSkillInOrganization } from './store';
import { REFLEX_ACCESS, REFLEX_COLUMNS, reflexListQuery, toReflex, toReflexWithSkill, type ReflexAccessRow } from './sql';
import { matchReflex, skillInputFor } from './triggers';

type ListQuery = NonNullable<operations['listReflexes']['parameters']['query']>;
type CreateBody = operations['createReflex']['requestBody']['content']['application/json'];
type UpdateBody = operations['updateReflex']['requestBody']['content']['application/json'];
type TestBody = operations['testReflex']['requestBody']['content']['application/json'];
type ReflexWebhook = components['schemas']['ReflexWebhook'];
type ReflexStats = components['schemas']['ReflexStats'];
type ReflexTestResult = components['schemas']['ReflexTestResult'];

const NOT_FOUND = 'There is no such reflex in this organization.';
const NOT_WEBHOOK = 'This reflex is not triggered by a webhook; only webhook reflexes have a URL and a secret.';

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
async function changeState(tx: RequestTransaction, reflexId: string, assignments: string) {
  const row = await loadManaged(tx, reflexId);
  await tx.query(`update public.reflexes r set ${assignments} where r.id = $1 and r.organization_id = $2`, [row.id, row.organization_id]);
  return toReflexWithSkill(await loadReflex(tx, reflexId));
}

/** Where deliveries go: the path always, the absolute URL only when the public address is configured. */
function webhookDetails(settings: ReflexWebhookSettings, row: ReflexAccessRow, secretCreatedAt: string | null): ReflexWebhook {
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
  };
}

export function reflexesRouter(inTransaction: RunInTransaction, settings: ReflexWebhookSettings): Router {
  const router = express.Router();

  router.get('/reflexes', async (req, res) => {
    const query = req.query as ListQuery;
    const page = await inTransaction(req, (tx) => paginate(tx, reflexListQuery(requireOrganization(tx), query, pageRequest(query)), toReflex));
    res.json(page);
  });

  router.post('/reflexes', async (req, res) => {
    const body = req.body as CreateBody;
    const { definition, errors } = validateReflexDefinition(body);
    if (!definition) throw problems.validation('The reflex definition is not valid.', errors);
    const created = await inTransaction(req, async (tx) => {
      const inserted = await insertReflex(tx, {
        organizationId: requireOrganization(tx),
        userId: requireUser(tx),
        skillId: body.skillId,
        definition,
      });
      const reflex = toReflexWithSkill(await loadReflex(tx, inserted.reflex.id));
      return inserted.secret ? { ...reflex, secret: inserted.secret } : reflex;
    });
    res.status(201).location(`/api/v1/reflexes/${created.id}`).json(created);
  });

  router.get('/reflexes/:reflexId', async (req, res) => {
    const reflex = await inTransaction(req, async (tx) => toReflexWithSkill(await loadReflex(tx, req.params.reflexId!)));
    res.json(reflex);
  });

  router.patch('/reflexes/:reflexId', async (req, res) => {
    const body = req.body as UpdateBody;
    const updated = await inTransaction(req, async (tx) => {
      const row = await loadManaged(tx, req.params.reflexId!);
      const newType = body.triggerType !== undefined && body.triggerType !== row.trigger_type;
      if (newType && body.triggerConfig === undefined) {
        const message = `A new triggerType needs the triggerConfig of a ${body.triggerType} trigger.`;
        throw problems.validation(message, [{ path: '/body/triggerConfig', message }]);
      }
      const { definition, errors } = validateReflexDefinition({
        triggerType: body.triggerType ?? row.trigger_type,
        triggerConfig: body.triggerConfig ?? row.trigger_config,
        conditions: body.conditions ?? row.conditions,
        isActive: body.isActive ?? row.is_active,
      });
      if (!definition) throw problems.validation('The reflex definition is not valid.', errors);
      const skillId = body.skillId ?? row.skill_id;
      if (skillId !== row.skill_id) await requireSkillInOrganization(tx, skillId, row.organization_id);
      await tx.query(
        `update public.reflexes r
         set skill_id = $3, trigger_type = $4, trigger_config = $5, conditions = $6, is_active = $7
         where r.id = $1 and r.organization_id = $2
         returning ${REFLEX_COLUMNS}`,
        [row.id, row.organization_id, skillId, definition.triggerType, definition.triggerConfig, definition.conditions, definition.isActive],
      );
      let secret: string | undefined;
      if (row.trigger_type !== 'webhook' && definition.triggerType === 'webhook') {
        ({ secret } = await issueWebhookSecret(tx, row.id));
      } else if (row.trigger_type === 'webhook' && definition.triggerType !== 'webhook') {
        await dropWebhookSecret(tx, row.id);
      }
      const reflex = toReflexWithSkill(await loadReflex(tx, row.id));
      return secret ? { ...reflex, secret } : reflex;
    });
    res.json(updated);
  });

  router.delete('/reflexes/:reflexId', async (req, res) => {
    await inTransaction(req, async (tx) => {
      const row = await loadManaged(tx, req.params.reflexId!);
      await tx.query('delete from public.reflexes r where r.id = $1 and r.organization_id = $2', [row.id, row.organization_id]);
    });
    res.status(204).end();
  });

  router.post('/reflexes/:reflexId/activate', async (req, res) => {
    // A reflex stopped by failures in a row starts counting afresh.
    res.json(await inTransaction(req, (tx) => changeState(tx, req.params.reflexId!, 'is_active = true, consecutive_failures = 0')));
  });

  router.post('/reflexes/:reflexId/deactivate', async (req, res) => {
    res.json(await inTransaction(req, (tx) => changeState(tx, req.params.reflexId!, 'is_active = false')));
  });

  router.post('/reflexes/:reflexId/reset-errors', async (req, res) => {
    res.json(
      await inTransaction(req, (tx) => changeState(tx, req.params.reflexId!, 'consecutive_failures = 0, last_error_message = null')),
    );
  });

  router.post('/reflexes/:reflexId/test', async (req, res) => {
    const body = req.body as TestBody;
    const result = await inTransaction(req, async (tx): Promise<ReflexTestResult> => {
      const row = await loadReflex(tx, req.params.reflexId!);
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
    });
    res.json(result);
  });

  router.post('/reflexes/:reflexId/regenerate-secret', async (req, res) => {
    const result = await inTransaction(req, async (tx) => {
      const row = await loadManaged(tx, req.params.reflexId!);
      if (row.trigger_type !== 'webhook') throw problems.conflict(NOT_WEBHOOK);
      const { secret, createdAt } = await issueWebhookSecret(tx, row.id);
      return { ...webhookDetails(settings, row, createdAt), secret };
    });
    res.json(result);
  });

  router.get('/reflexes/:reflexId/webhook', async (req, res) => {
    const result = await inTransaction(req, async (tx) => {
      const row = await loadReflex(tx, req.params.reflexId!);
      if (row.trigger_type !== 'webhook') throw problems.conflict(NOT_WEBHOOK);
      const created = await tx.query<{ created_at: string | null }>('select app.reflex_secret_created_at($1) as created_at', [row.id]);
      return webhookDetails(settings, row, created.rows[0]?.created_at ?? null);
    });
    res.json(result);
  });

  router.get('/reflexes/:reflexId/stats', async (req, res) => {
    const stats = await inTransaction(req, async (tx): Promise<ReflexStats> => {
      const row = await loadReflex(tx, req.params.reflexId!);
      const counted = await tx.query<ReflexStats['executions']>(
        `select count(*)::int as total,
                count(*) filter (where e.status = 'pending')::int as pending,
                count(*) filter (where e.status = 'running')::int as running,
                count(*) filter (where e.status = 'completed')::int as completed,
                count(*) filter (where e.status = 'failed')::int as failed,
                count(*) filter (where e.status = 'cancelled')::int as cancelled
         from public.skill_executions e
         where e.reference_id = $1 and e.organization_id = $2 and e.execution_type = 'reflex'`,
        [row.id, row.organization_id],
      );
      return {
        reflexId: row.id,
        isActive: row.is_active,
        triggerCount: row.trigger_count,
        lastTriggeredAt: row.last_triggered_at,
        executions: counted.rows[0]!,
        consecutiveFailures: row.consecutive_failures,
        lastErrorMessage: row.last_error_message,
      };
    });
    res.json(stats);
  });

  return router;
}
