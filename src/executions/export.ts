import type { Response } from 'express';
import type { RequestTransaction } from '../db/transaction';
import { ClientGone, send } from '../http/stream';
import { csvLine } from './rules';
import { EXECUTION_COLUMNS, executionFilter, toExecutionWithSkill, type ExecutionWithSkillRow, type ListFilters, type SkillExecution } from './sql';

// GET /executions/export: every matching execution, streamed. A cursor of the
// request's transaction reads them in batches (one consistent snapshot, under
// row level security), and each batch is written only once the client has
// taken the previous one, so the server holds one batch at a time whatever
// the size of the export.

export type ExportFormat = 'csv' | 'json';

/** Rows per FETCH: large enough to keep round trips few, small enough to hold. */
export const EXPORT_BATCH_ROWS = 500;

const CURSOR = 'executions_export';

const CSV_COLUMNS = [
  'id',
  'skillId',
  'skillName',
  'userId',
  'executionType',
  'referenceId',
  'status',
  'input',
  'output',
  'outputFormat',
  'tokensUsed',
  'promptTokens',
  'completionTokens',
  'durationMs',
  'costCents',
  'errorCode',
  'errorMessage',
  'executedAt',
  'startedAt',
  'completedAt',
] as const;

/** One CSV line of an execution; money as its exact decimal string (CSV has no number type to lose it to). */
export function csvRow(execution: SkillExecution): string {
  return csvLine([
    execution.id,
    execution.skillId,
    execution.skill?.name ?? null,
    execution.userId,
    execution.executionType,
    execution.referenceId,
    execution.status,
    JSON.stringify(execution.input),
    execution.output,
    execution.outputFormat,
    execution.tokensUsed,
    execution.promptTokens,
    execution.completionTokens,
    execution.durationMs,
    execution.costCentsExact,
    execution.errorCode,
    execution.errorMessage,
    execution.executedAt,
    execution.startedAt,
    execution.completedAt,
  ]);
}

const CONTENT_TYPE: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8' };

/**
 * Streams the export into `res` from inside the request transaction. Headers
 * go out with the first batch, so a failure of the query itself is still a
 * problem document; a failure after that cuts the response short (the client
 * sees an incomplete transfer, never a truncated file that looks whole).
 */
export async function streamExport(
  tx: RequestTransaction,
  res: Response,
  organizationId: string,
  filters: ListFilters,
  format: ExportFormat,
  now: Date,
): Promise<number> {
  const { where, params } = executionFilter(organizationId, filters);
  await tx.query(
    `declare ${CURSOR} no scroll cursor for
     select ${EXECUTION_COLUMNS}, s.name as skill_name, s.category as skill_category,
       s.output_format as skill_output_format, s.is_active as skill_is_active
     from public.skill_executions e left join public.skills s on s.id = e.skill_id
     where ${where}
     order by e.created_at desc, e.id desc`,
    params,
  );
  let written = 0;
  let started = false;
  for (;;) {
    const batch = await tx.query<ExecutionWithSkillRow>(`fetch ${EXPORT_BATCH_ROWS} from ${CURSOR}`);
    if (!started) {
      res.status(200);
      res.setHeader('Content-Type', CONTENT_TYPE[format]);
      res.setHeader('Content-Disposition', `attachment; filename="executions-${now.toISOString().slice(0, 10)}.${format}"`);
      res.setHeader('Cache-Control', 'no-store');
      await send(res, format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '[');
      started = true;
    }
    if (res.destroyed) throw new ClientGone();
    if (batch.rows.length === 0) break;
    let chunk = '';
    for (const row of batch.rows) {
      const execution = toExecutionWithSkill(row);
      chunk += format === 'csv' ? csvRow(execution) : `${written === 0 ? '\n' : ',\n'}${JSON.stringify(execution)}`;
      written += 1;
    }
    await send(res, chunk);
    if (res.destroyed) throw new ClientGone();
  }
  await tx.query(`close ${CURSOR}`);
  res.end(format === 'json' ? '\n]\n' : undefined);
  return written;
}
