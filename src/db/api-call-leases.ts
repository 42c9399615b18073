import pg from 'pg';
import type { Identity } from '../auth/caller';
import { withClaimsTransaction, type ApiCallCounter, type ApiCallQuota } from './transaction';

/** Calls asked for in a first lease; the database grants fewer near the limit (a tenth of what is left, at least one). */
export const API_CALL_LEASE_BLOCK = 100;
/** The most calls one lease asks for (app.lease_api_calls grants no more than this either). */
export const API_CALL_LEASE_MAX_BLOCK = 1000;
/** A block handed out faster than this asks for a larger one next time; one lasting four times as long, for a smaller one. */
const API_CALL_LEASE_TARGET_MS = 1000;

/**
 * How many calls the next lease asks for. A busy key leases larger blocks, so
 * that, leased ahead once half of one is handed out (see take), a block
 * outlasts the refill's round trip at any rate: at 100 a block, requests at
 * 2,000 a second waited for every refill, about a tenth of their throughput
 * (npm run bench). A quiet key goes back to small blocks, which keep its
 * counter close to the calls made.
 */
export function nextLeaseSize(previous: { asked: number; grantedAt: number } | undefined, now: number): number {
  if (!previous) return API_CALL_LEASE_BLOCK;
  const lasted = now - previous.grantedAt;
  if (lasted < API_CALL_LEASE_TARGET_MS) return Math.min(previous.asked * 2, API_CALL_LEASE_MAX_BLOCK);
  if (lasted > 4 * API_CALL_LEASE_TARGET_MS) return Math.max(Math.floor(previous.asked / 2), API_CALL_LEASE_BLOCK);
  return previous.asked;
}

/**
 * A block older than this goes back and a fresh one is leased: a plan change
 * made elsewhere reaches this instance's calls within it, and a quiet
 * organization's counter soon shows the calls it made, not the ones leased.
 */
export const API_CALL_LEASE_MAX_AGE_MS = 10_000;

interface LeaseRow {
  granted: number;
  quota_limit: string;
  used: string;
  reset_epoch: string;
  period_start: string;
}

interface Lease {
  /** Calls of the block not yet handed out. */
  remaining: number;
  limit: number;
  /** The organization's count when the block was granted, plus the calls handed out since. */
  used: number;
  resetEpochSeconds: number;
  periodStart: string;
  grantedAt: number;
  /** A caller whose key may hand unused calls back at shutdown (app.return_api_calls checks it). */
  claims: Identity['claims'];
  /** Calls the last lease asked for. */
  asked: number;
  /**
   * The next block is leased ahead once this many calls are left: half the
   * last grant when it was all that was asked (far from the limit, or no
   * limit), else never (near the limit calls wait for their lease, so the
   * quota stays exact however many instances share it).
   */
  aheadAt: number;
}

/**
 * An API key's calls count against its organization's monthly quota without a
 * write per call: this instance leases blocks of calls from the organization's
 * counter (app.lease_api_calls, which locks the row while it grants) and hands
 * them out in memory. Near the limit a block is one call, so the quota stays
 * exact however many instances share it. Calls still unhanded at shutdown go
 * back (returnUnused), so the counter shows calls made.
 */
export class ApiCallLeases implements ApiCallCounter {
  private readonly leases = new Map<string, Lease>();
  private readonly refills = new Map<string, Promise<void>>();
  /** Hands back blocks left idle past their age, so a quiet organization's counter settles on the calls made. */
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly statementTimeoutMs: number,
  ) {}

  /**
   * Counts one call of `identity` (an API key) acting in `requestedOrganizationId`
   * (none: the key's own organization). Undefined when the call is not metered
   * (another organization was named: the request will be refused as not found).
   * Rejects with the database's QUOTA error at the limit.
   */
  async take(identity: Identity, requestedOrganizationId: string | undefined): Promise<ApiCallQuota | undefined> {
    const organizationId = identity.apiKey?.organizationId;
    if (!organizationId || (requestedOrganizationId && requestedOrganizationId !== organizationId)) return undefined;
    for (;;) {
      const lease = this.leases.get(organizationId);
      if (lease && lease.resetEpochSeconds * 1000 <= Date.now()) {
        // The period ended: its leftover calls were counted in it and stay there.
        this.leases.delete(organizationId);
      } else if (lease && Date.now() - lease.grantedAt > API_CALL_LEASE_MAX_AGE_MS) {
        this.leases.delete(organizationId);
        void this.handBack(organizationId, lease);
      } else if (lease && lease.remaining > 0) {
        lease.remaining--;
        lease.used++;
        if (lease.remaining <= lease.aheadAt && !this.refills.has(organizationId)) {
          // Its failure is met again by the call that finds the lease empty (QUOTA, or not a key's call).
          this.refillOnce(organizationId, identity).catch(() => undefined);
        }
        return { limit: lease.limit, used: lease.used, resetEpochSeconds: lease.resetEpochSeconds };
      }
      try {
        await this.refillOnce(organizationId, identity);
      } catch (error) {
        if (error instanceof UnmeteredCall) return undefined;
        throw error;
      }
    }
  }

  /** One refill at a time per organization: a call that needs one while it runs waits for it and takes from it. */
  private refillOnce(organizationId: string, identity: Identity): Promise<void> {
    let refill = this.refills.get(organizationId);
    if (!refill) {
      refill = this.refill(organizationId, identity).finally(() => this.refills.delete(organizationId));
      this.refills.set(organizationId, refill);
    }
    return refill;
  }

  /** Calls leased for the organization and not handed out yet (readers of its usage take them off). */
  unhanded(organizationId: string): number {
    const lease = this.leases.get(organizationId);
    return lease && lease.resetEpochSeconds * 1000 > Date.now() ? lease.remaining : 0;
  }

  private async refill(organizationId: string, identity: Identity): Promise<void> {
    const asked = nextLeaseSize(this.leases.get(organizationId), Date.now());
    const rows = await this.asCaller(
      identity.claims,
      `select granted, quota_limit, used, extract(epoch from resets_at)::bigint as reset_epoch,
              to_char(date_trunc('month', now() at time zone 'utc'), 'YYYY-MM-DD') as period_start
       from app.lease_api_calls($1::uuid, $2::int)`,
      [organizationId, asked],
    );
    const row = rows[0] as LeaseRow | undefined;
    if (!row) {
      // Not a valid key of an active member: nothing is counted, and the
      // request's own transaction refuses it with the reason.
      throw new UnmeteredCall();
    }
    // A block leased ahead joins the calls still left of the current one (those
    // of an ended period stay counted in it). The counter already holds those
    // calls, so they come off the count the database gave: used stays the
    // calls handed out.
    const current = this.leases.get(organizationId);
    const carried = current && current.periodStart === row.period_start ? current.remaining : 0;
    this.leases.set(organizationId, {
      remaining: row.granted + carried,
      grantedAt: Date.now(),
      limit: Number(row.quota_limit),
      used: Number(row.used) - carried,
      resetEpochSeconds: Number(row.reset_epoch),
      periodStart: row.period_start,
      claims: identity.claims,
      asked,
      aheadAt: row.granted >= asked ? Math.floor(row.granted / 2) : -1,
    });
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.handBackIdle(), API_CALL_LEASE_MAX_AGE_MS);
      this.sweeper.unref();
    }
  }

  private handBackIdle(): void {
    const now = Date.now();
    for (const [organizationId, lease] of this.leases) {
      if (now - lease.grantedAt <= API_CALL_LEASE_MAX_AGE_MS) continue;
      this.leases.delete(organizationId);
      void this.handBack(organizationId, lease);
    }
  }

  /** Hands every lease's unused calls back to its organization's counter (at shutdown). */
  async returnUnused(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    // A block being leased ahead lands first, so that it is handed back too.
    await Promise.allSettled(this.refills.values());
    const leases = [...this.leases.entries()];
    this.leases.clear();
    await Promise.all(leases.map(([organizationId, lease]) => this.handBack(organizationId, lease)));
  }

  /** A lease's unused calls back to its organization's counter; a failure only leaves them counted. */
  private async handBack(organizationId: string, lease: Lease): Promise<void> {
    if (lease.remaining <= 0 || lease.resetEpochSeconds * 1000 <= Date.now()) return;
    const unused = lease.remaining;
    lease.remaining = 0;
    await this.asCaller(lease.claims, 'select app.return_api_calls($1::uuid, $2::date, $3::int)', [organizationId, lease.periodStart, unused]).catch(
      () => undefined,
    );
  }

  /** One statement as the key's caller, in a short transaction of its own that commits at once (one round trip). */
  private async asCaller(claims: Identity['claims'], text: string, values: unknown[]): Promise<pg.QueryResultRow[]> {
    const result = await withClaimsTransaction(this.pool, claims, this.statementTimeoutMs, (tx) => tx.queryLast(text, values));
    return result.rows;
  }
}

/** The caller is not metered after all (see ApiCallLeases.take). */
export class UnmeteredCall extends Error {
  constructor() {
    super('not a metered call');
  }
}
