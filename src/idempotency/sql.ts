import type { RequestTransaction } from '../db/transaction';

export type ClaimOutcome = 'reserved' | 'replay' | 'mismatch' | 'in_use';

export interface ClaimRow {
  outcome: ClaimOutcome;
  reservation: string | null;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: Buffer | null;
}

/**
 * Reserves the key in the request's organization for its caller: a signed-in
 * caller as themselves, the back office as itself (each function is
 * executable by its role only; see database/016_idempotency_keys.sql).
 */
export async function claimKey(tx: RequestTransaction, keyHash: Buffer, fingerprint: Buffer, leaseSeconds: number): Promise<ClaimRow> {
  const claim = tx.identity.role === 'service_role' ? 'app.claim_back_office_idempotency_key' : 'app.claim_idempotency_key';
  const result = await tx.query<ClaimRow>(`select outcome, reservation, response_status, response_headers, response_body from ${claim}($1, $2, $3)`, [
    keyHash,
    fingerprint,
    leaseSeconds,
  ]);
  return result.rows[0]!;
}

/** Records the response of the request holding `reservation` (as service_role: the server's own bookkeeping). */
export async function recordResponse(
  tx: RequestTransaction,
  reservation: string,
  response: { status: number; headers: Record<string, string>; sealedBody: Buffer },
): Promise<boolean> {
  const result = await tx.query(
    `update public.idempotency_keys
     set reservation = null, locked_until = null, response_status = $2, response_headers = $3, response_body = $4, completed_at = now()
     where reservation = $1`,
    [reservation, response.status, JSON.stringify(response.headers), response.sealedBody],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Frees the key for a retry: the request holding `reservation` ended in a way that may be repeated. */
export async function releaseKey(tx: RequestTransaction, reservation: string): Promise<void> {
  await tx.query('delete from public.idempotency_keys where reservation = $1', [reservation]);
}

/** Deletes at most `batch` records older than `hours`, oldest first; returns how many went. */
export async function purgeExpiredKeys(tx: RequestTransaction, hours: number, batch: number): Promise<number> {
  const result = await tx.query(
    `delete from public.idempotency_keys k
     using (select id from public.idempotency_keys where created_at < now() - make_interval(hours => $1) order by created_at limit $2) old
     where k.id = old.id`,
    [hours, batch],
  );
  return result.rowCount ?? 0;
}
