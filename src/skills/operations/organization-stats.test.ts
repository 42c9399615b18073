import { toOrganizationSkillStats } from './organization-stats';

describe('toOrganizationSkillStats', () => {
  test('fills every status and type, totals the executions, and gives the exact cost as a number and a string', () => {
    const stats = toOrganizationSkillStats({
      total_skills: 4,
      active_skills: 3,
      total_tokens: 1234,
      total_cost_cents: '12.0150',
      by_status: { completed: 5, failed: 1 },
      by_type: { manual: 4, api: 2 },
      top_skills: [{ skillId: 'a', name: 'A', count: 5 }],
    });
    expect(stats).toEqual({
      totalSkills: 4,
      activeSkills: 3,
      totalExecutions: 6,
      totalTokensUsed: 1234,
      totalCostCents: 12.015,
      totalCostCentsExact: '12.0150',
      executionsByStatus: { pending: 0, running: 0, completed: 5, failed: 1, cancelled: 0 },
      executionsByType: { manual: 4, habit: 0, reflex: 0, api: 2 },
      topSkillsByUsage: [{ skillId: 'a', name: 'A', count: 5 }],
    });
  });
});
