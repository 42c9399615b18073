import { randomUUID } from 'node:crypto';
import { as, type TestApp, type TestUser } from './support/harness';

// Shared arrangements for the reflex, event and webhook tests.

/** A skill arranged directly (its endpoints live in another module). */
export async function createSkill(t: TestApp, organizationId: string, owner: TestUser, options: { isActive?: boolean } = {}): Promise<string> {
  const inserted = await t.admin.query<{ id: string }>(
    `insert into public.skills (organization_id, user_id, name, prompt_template, is_active)
     values ($1, $2, $3, 'Summarize {{title}} for the team.', $4) returning id`,
    [organizationId, owner.userId, `Skill ${randomUUID().slice(0, 8)}`, options.isActive ?? true],
  );
  return inserted.rows[0]!.id;
}

export async function createReflex(t: TestApp, user: TestUser, organizationId: string, body: Record<string, unknown>) {
  const res = await as(t.app, user, organizationId).post('/api/v1/reflexes').send(body);
  if (res.status !== 201) throw new Error(`reflex not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; secret?: string; [key: string]: unknown };
}

export interface ExecutionRow {
  id: string;
  organization_id: string;
  skill_id: string;
  user_id: string | null;
  execution_type: string;
  reference_id: string;
  input: Record<string, unknown>;
  status: string;
}

export async function executionsOf(t: TestApp, reflexId: string): Promise<ExecutionRow[]> {
  const rows = await t.admin.query<ExecutionRow>(
    `select id, organization_id, skill_id, user_id, execution_type, reference_id, input, status
     from public.skill_executions where reference_id = $1 order by created_at, id`,
    [reflexId],
  );
  return rows.rows;
}

export async function reflexRow(t: TestApp, reflexId: string) {
  const rows = await t.admin.query<{
    trigger_count: number;
    last_triggered_at: string | null;
    consecutive_failures: number;
    last_error_message: string | null;
    is_active: boolean;
  }>('select trigger_count, last_triggered_at, consecutive_failures, last_error_message, is_active from public.reflexes where id = $1', [reflexId]);
  return rows.rows[0];
}
