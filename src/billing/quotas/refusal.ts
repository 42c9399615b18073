import type { RequestTransaction } from '../../db/transaction';
import { QUOTA_EXCEEDED_SQLSTATE } from './headers';

export type Guarded<T> = { refused: false; value: T } | { refused: true; reason: string };

/**
 * Runs `work` behind a savepoint. When the organization's plan refuses it (a
 * QUOTA error from the metering triggers), only that work is undone and the
 * refusal is returned, so the caller's transaction goes on (a scheduler pass
 * for other organizations, a file registration whose reflex cannot run).
 * Every other error passes through.
 */
export async function unlessQuotaRefuses<T>(tx: RequestTransaction, work: () => Promise<T>): Promise<Guarded<T>> {
  await tx.query('savepoint quota_guard');
  try {
    return { refused: false, value: await work() };
  } catch (error) {
    if ((error as { code?: string }).code !== QUOTA_EXCEEDED_SQLSTATE) throw error;
    await tx.query('rollback to savepoint quota_guard');
    return { refused: true, reason: (error as Error).message };
  }
}
