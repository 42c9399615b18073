import type { UsageRow } from './sql';

/**
 * API calls are leased to API instances in blocks and counted when leased
 * (see db/api-call-leases). The calls this instance holds but has not handed
 * out are taken off the month's count and off today's point of the trend, so
 * a reader sees the calls made. Other instances' blocks go back within seconds.
 */
export function withoutUnhandedCalls(row: UsageRow, unhanded: number, today: string): UsageRow {
  if (row.metric !== 'api_calls' || unhanded <= 0) return row;
  return {
    ...row,
    used: Math.max(0, row.used - unhanded),
    trend: row.trend.map((point) => (point.date === today ? { ...point, value: Math.max(0, point.value - unhanded) } : point)),
  };
}
