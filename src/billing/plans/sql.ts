import type { components } from '../../generated/openapi';
import type { PageQuery, PageRequest } from '../../http/pagination';
import { money, toAmount, toWholeEuros } from '../money';
import { isCustomPriced, periodPrice, type PlanId, type PlanPrices } from '../pricing';

export type Plan = components['schemas']['Plan'];

export interface PlanRow {
  id: PlanId;
  name: string;
  description: string;
  monthly_price: string;
  annual_monthly_price: string | null;
  api_calls: number;
  ingestions: number;
  storage_gb: number;
  seats: number;
  oracle_queries: number;
  features: string[];
  is_popular: boolean;
  sort_order: number;
}

export const PLAN_COLUMNS = `p.id, p.name, p.description, p.monthly_price, p.annual_monthly_price, p.api_calls, p.ingestions,
  p.storage_gb, p.seats, p.oracle_queries, p.features, p.is_popular, p.sort_order`;

export const ALL_PLANS = `select ${PLAN_COLUMNS} from public.plans p order by p.sort_order`;

/** The catalogue in its own order (sort_order, unique). */
export function planListQuery(page: PageRequest): PageQuery<PlanRow> {
  return { select: PLAN_COLUMNS, fromWhere: 'public.plans p', params: [], orderBy: 'p.sort_order, p.id', page };
}

export function planPrices(row: PlanRow): PlanPrices {
  return {
    id: row.id,
    name: row.name,
    monthlyPrice: row.monthly_price,
    annualMonthlyPrice: row.annual_monthly_price,
    sortOrder: row.sort_order,
  };
}

export function toPlan(row: PlanRow): Plan {
  const prices = planPrices(row);
  const annual = periodPrice(prices, 'annually');
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    currency: 'EUR',
    price: toWholeEuros(money(row.monthly_price)),
    annualPrice: row.annual_monthly_price === null ? null : toWholeEuros(money(row.annual_monthly_price)),
    monthlyPrice: toAmount(money(row.monthly_price)),
    annualMonthlyPrice: row.annual_monthly_price === null ? null : toAmount(money(row.annual_monthly_price)),
    annualTotalPrice: annual === null ? null : toAmount(annual),
    limits: {
      apiCalls: row.api_calls,
      ingestions: row.ingestions,
      storageGb: row.storage_gb,
      seats: row.seats,
      oracleQueries: row.oracle_queries,
    },
    features: row.features,
    isPopular: row.is_popular,
    selfService: !isCustomPriced(prices),
  };
}
