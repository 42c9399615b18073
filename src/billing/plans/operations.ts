import type { RequestTransaction } from '../../db/transaction';
import { paginate, pageRequest, type Page } from '../../http/pagination';
import type { RequestQuery } from '../../http/route';
import { planListQuery, toPlan, type Plan } from './sql';

export function listPlans(tx: RequestTransaction, query: RequestQuery<'listPlans'>): Promise<Page<Plan>> {
  return paginate(tx, planListQuery(pageRequest(query)), toPlan);
}
