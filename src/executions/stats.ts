import type { RequestTransaction } from '../db/transaction';
import type { RequestQuery, ResponseBody } from '../http/route';
import { problems } from '../problems';
import { byStatus, STATUS_COUNTS, type ExecutionStatusCounts } from './sql';

type ByPeriodQuery = RequestQuery<'getExecutionStatsByPeriod'>;
type PeriodStats = ResponseBody<'getExecutionStatsByPeriod', 200>;
type Interval = PeriodStats['interval'];

export const MAX_BUCKETS = 1000;

const DAY_MS = 86_400_000;
/** Default windows: the last 30 days, 12 weeks or 12 months. */
const DEFAULT_SPAN_MS: Record<Interval, number> = { day: 30 * DAY_MS, week: 12 * 7 * DAY_MS, month: 365 * DAY_MS };
/** The shortest bucket of each size (DST days are 23 h, February 28 days): the bucket count never exceeds the estimate. */
const SHORTEST_BUCKET_MS: Record<Interval, number> = { day: 23 * 3_600_000, week: 7 * DAY_MS - 3_600_000, month: 28 * DAY_MS };

// An IANA zone name ("UTC", "Europe/Amsterdam", "America/Argentina/Buenos_Aires", "Etc/GMT+5").
// POSIX strings such as "+05:00" or "EST5EDT,M3.2.0" are refused: PostgreSQL reads their sign backwards.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

function invalidTimezone(timezone: string) {
  return problems.validation(`"${timezone}" is not an IANA time zone.`, [
    { path: '/query/timezone', message: 'must be an IANA time zone such as Europe/Amsterdam', code: 'timezone' },
  ]);
}

function checkTimezone(timezone: string): void {
  if (!ZONE_NAME.test(timezone)) throw invalidTimezone(timezone);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalidTimezone(timezone);
  }
}

interface BucketRow extends ExecutionStatusCounts {
  period_start: string;
  tokens_used: number;
  cost_cents: string;
}

/**
 * Executions per local day, week (from Monday) or month in `timezone`, every
 * bucket of the window present. Buckets are cut by PostgreSQL
 * (date_trunc and generate_series with a time zone), so DST changes fall
 * where the zone puts them. Each bucket counts its own created_at range
 * through skill_executions_organization_created_idx: about twice as fast as
 * converting every row's timestamp to the zone and grouping.
 */
export async function periodStats(tx: RequestTransaction, organizationId: string, query: ByPeriodQuery): Promise<PeriodStats> {
  const interval: Interval = query.interval ?? 'day';
  const timezone = query.timezone ?? 'UTC';
  checkTimezone(timezone);
  const to = query.to ? new Date(query.to) : new Date();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_SPAN_MS[interval]);
  if (from.getTime() >= to.getTime()) {
    throw problems.validation('`from` must be before `to`.', [{ path: '/query/from', message: 'must be before to', code: 'range' }]);
  }
  if ((to.getTime() - from.getTime()) / SHORTEST_BUCKET_MS[interval] + 1 > MAX_BUCKETS) {
    throw problems.validation(`At most ${MAX_BUCKETS} buckets are served; shorten the window or use a larger interval.`, [
      { path: '/query/from', message: `the window spans more than ${MAX_BUCKETS} ${interval}s`, code: 'range' },
    ]);
  }
  const params: unknown[] = [organizationId, from.toISOString(), to.toISOString(), interval, timezone];
  let skillFilter = '';
  if (query.skillId !== undefined) {
    params.push(query.skillId);
    skillFilter = `and e.skill_id = $${params.length}`;
  }
  let rows: BucketRow[];
  try {
    rows = (
      await tx.query<BucketRow>(
        `with buckets as (
           select b.period_start, lead(b.period_start) over (order by b.period_start) as next_start
           from generate_series(date_trunc($4, $2::timestamptz, $5), $3::timestamptz - interval '1 microsecond',
                                ('1 ' || $4)::interval, $5) as b(period_start)
         )
         select b.period_start, c.*
         from buckets b
         cross join lateral (
           select ${STATUS_COUNTS},
             coalesce(sum(e.tokens_used), 0)::bigint as tokens_used,
             coalesce(sum(e.cost_cents), 0)::numeric(20, 4)::text as cost_cents
           from public.skill_executions e
           where e.organization_id = $1 ${skillFilter}
             and e.created_at >= greatest(b.period_start, $2::timestamptz)
             and e.created_at < coalesce(b.next_start, $3::timestamptz)
         ) c
         order by b.period_start`,
        params,
      )
    ).rows;
  } catch (error) {
    // A name Intl knows but PostgreSQL's zone database does not.
    if ((error as { code?: string }).code === '22023') throw invalidTimezone(timezone);
    throw error;
  }
  return {
    interval,
    timezone,
    from: from.toISOString(),
    to: to.toISOString(),
    buckets: rows.map((row) => ({
      periodStart: row.period_start,
      total: row.total,
      byStatus: byStatus(row),
      tokensUsed: row.tokens_used,
      costCents: row.cost_cents,
    })),
  };
}
