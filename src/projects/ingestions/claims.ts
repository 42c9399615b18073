import { actingOrganization, requireOrganization, type RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestBody, RequestQuery, ResponseBody } from '../../http/route';
import { problems } from '../../problems';

// Ingestion workers with an API key: list what is pending, claim one under a
// lease (app.claim_ingestion: exclusive, FOR UPDATE SKIP LOCKED), and report
// through the progress endpoint while the claim lives (the database's
// ingestion_progress_claim_guard refuses anyone else and renews the lease).

type PendingIngestion = ResponseBody<'listPendingIngestions', 200>['data'][number];
type IngestionClaim = ResponseBody<'claimIngestion', 200>;

/** Seconds a claim lasts without a progress report, unless the worker asks for another lease. */
export const DEFAULT_LEASE_SECONDS = 120;

interface PendingRow {
  id: string;
  project_id: string;
  phase: PendingIngestion['phase'];
  progress_percent: number;
  started_at: string;
  claimed_by: string | null;
  lease_expires_at: string | null;
}

const PENDING = `public.ingestion_progress i
  where i.organization_id = $1
    and i.completed_at is null and i.error_message is null and i.cancelled_at is null
    and (i.claimed_by is null or i.lease_expires_at <= now())`;

function toPending(row: PendingRow): PendingIngestion {
  return {
    id: row.id,
    projectId: row.project_id,
    phase: row.phase,
    progressPercent: row.progress_percent,
    startedAt: row.started_at,
    claimedBy: row.claimed_by,
    leaseExpiresAt: row.lease_expires_at,
  };
}

/** Pending ingestions of the organization the caller may read (row level security), oldest first. */
export function listPendingIngestions(tx: RequestTransaction, query: RequestQuery<'listPendingIngestions'>): Promise<Page<PendingIngestion>> {
  const organizationId = actingOrganization(tx);
  return paginate(
    tx,
    {
      select: 'i.id, i.project_id, i.phase, i.progress_percent, i.started_at, i.claimed_by, i.lease_expires_at',
      fromWhere: PENDING,
      params: [organizationId],
      orderBy: 'i.started_at, i.id',
      page: pageRequest(query),
    },
    toPending,
  );
}

/** Claims the named or the oldest pending ingestion for the calling key; null when none is pending. */
export async function claimIngestion(tx: RequestTransaction, body: RequestBody<'claimIngestion'>): Promise<IngestionClaim | null> {
  requireOrganization(tx);
  if (!tx.identity.apiKey) {
    throw problems.forbidden('Ingestions are claimed with an API key (scope write or admin): the claim is held by the key.');
  }
  const requested = body?.ingestionId ?? null;
  const claimed = await tx.query<{ ingestion_id: string; project_id: string; lease_expires_at: string }>(
    'select ingestion_id, project_id, lease_expires_at from app.claim_ingestion($1, $2)',
    [requested, body?.leaseSeconds ?? DEFAULT_LEASE_SECONDS],
  );
  const row = claimed.rows[0];
  if (row) {
    return { ingestionId: row.ingestion_id, projectId: row.project_id, claimedBy: tx.identity.apiKey.id, leaseExpiresAt: row.lease_expires_at };
  }
  if (requested === null) return null;
  // Say why the named one could not be claimed: gone from view, finished, or held.
  const seen = await tx.query<{ unfinished: boolean }>(
    'select (i.completed_at is null and i.error_message is null and i.cancelled_at is null) as unfinished from public.ingestion_progress i where i.id = $1',
    [requested],
  );
  if (seen.rowCount === 0) throw problems.notFound('There is no such ingestion in this organization.');
  throw problems.conflict(
    seen.rows[0]!.unfinished ? 'Another worker holds a live claim on this ingestion.' : 'This ingestion has finished: there is nothing to claim.',
  );
}
