import type { Config } from '../../config';
import { httpRunner } from './http';
import { templateRunner } from './template';
import type { SkillRunner } from './types';

export type { RunnableSkill, RunResult, SkillRunner } from './types';

/** The runner the configuration names (SKILL_RUNNER, default template). */
export function createSkillRunner(
  config: Pick<Config, 'skillRunner' | 'skillRunnerUrl' | 'skillRunnerApiKey' | 'skillRunnerTimeoutMs'>,
): SkillRunner {
  if (config.skillRunner === 'http') {
    return httpRunner({ url: config.skillRunnerUrl!, apiKey: config.skillRunnerApiKey, timeoutMs: config.skillRunnerTimeoutMs });
  }
  return templateRunner();
}
