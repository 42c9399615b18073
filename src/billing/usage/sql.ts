import Decimal from 'decimal.js';
import type { components } from '../../generated/openapi';

export type Usage = components['schemas']['Usage'];
export type UsageMetric = components['schemas']['UsageMetric'];
type MetricType = UsageMetric['type'];

export interface UsageRow {
  metric: MetricType;
  plan_tier: Usage['planTier'];
  quota_limit: number;
  used: number;
  resets_at: string;
  month_start: string;
  month_end: string;
  trend: Array<{ date: string; value: number }>;
}

/** Levels (a current amount) rather than flows counted over a period. */
const LEVELS = new Set<MetricType>(['storage', 'seats']);

/**
 * Every metric of one organization ($1) in one statement: its counter for the
 * current period and 30 days of usage_daily (one primary-key lookup per day;
 * a level carries the last value written on or before each day).
 */
export const USAGE_SQL = `
  with metrics (metric, position) as (
    values ('api_calls'::public.usage_metric_type, 1), ('ingestions', 2), ('storage', 3), ('seats', 4), ('oracle_queries', 5)
  ),
  days as (
    select day::date from generate_series((now() at time zone 'utc')::date - 29, (now() at time zone 'utc')::date, interval '1 day') day
  )
  select m.metric, o.plan_tier, app.limit_in_plan(o.plan_tier, m.metric) as quota_limit,
         coalesce(c.used, 0) as used, period.resets_at,
         date_trunc('month', now() at time zone 'utc') at time zone 'utc' as month_start,
         (date_trunc('month', now() at time zone 'utc') + interval '1 month') at time zone 'utc' as month_end,
         (select json_agg(json_build_object('date', d.day, 'value', coalesce(
            case when m.metric in ('storage', 'seats')
              then (select u.value from public.usage_daily u
                    where u.organization_id = o.id and u.metric = m.metric and u.day <= d.day
                    order by u.day desc limit 1)
              else (select u.value from public.usage_daily u
                    where u.organization_id = o.id and u.metric = m.metric and u.day = d.day)
            end, 0)) order by d.day)
          from days d) as trend
  from public.organizations o
  cross join metrics m
  cross join lateral app.usage_period(m.metric) period
  left join public.usage_counters c
    on c.organization_id = o.id and c.metric = m.metric and c.period_start = period.period_start
  where o.id = $1
  order by m.position`;

const UNITS: Record<MetricType, UsageMetric['unit']> = {
  api_calls: 'calls',
  ingestions: 'imports',
  storage: 'GB',
  seats: 'members',
  oracle_queries: 'queries/day',
};

const PERIODS: Record<MetricType, UsageMetric['period']> = {
  api_calls: 'month',
  ingestions: 'month',
  storage: 'none',
  seats: 'none',
  oracle_queries: 'day',
};

const BYTES_PER_GB = new Decimal(1e9);

/** Storage is counted in bytes and shown in decimal gigabytes (10^9 bytes), exactly to the byte. */
function display(metric: MetricType, value: number): number {
  return metric === 'storage' ? new Decimal(value).div(BYTES_PER_GB).toNumber() : value;
}

function percentage(used: number, limit: number): number {
  if (limit < 0) return 0;
  if (limit === 0) return used > 0 ? 100 : 0;
  return new Decimal(used).times(100).div(limit).toDecimalPlaces(2).toNumber();
}

export function toUsageMetric(row: UsageRow): UsageMetric {
  const limit = row.quota_limit < 0 ? -1 : display(row.metric, row.quota_limit);
  return {
    type: row.metric,
    unit: UNITS[row.metric],
    period: PERIODS[row.metric],
    current: display(row.metric, row.used),
    limit,
    percentage: percentage(row.used, row.quota_limit),
    resetsAt: LEVELS.has(row.metric) ? null : row.resets_at,
    trend: row.trend.map((point) => ({ date: point.date, value: display(row.metric, point.value) })),
  };
}

export function toUsage(organizationId: string, rows: UsageRow[]): Usage {
  const first = rows[0]!;
  return {
    organizationId,
    planTier: first.plan_tier,
    periodStart: first.month_start,
    periodEnd: first.month_end,
    metrics: rows.map(toUsageMetric),
  };
}
