import type { Config } from '../../config';
import { anthropicRunner } from './anthropic';
import { httpRunner } from './http';
import { openAiRunner } from './openai';
import { templateRunner } from './template';
import type { SkillRunner } from './types';

export type { RunnableSkill, RunOptions, RunResult, SkillRunner } from './types';

export type RunnerConfig = Pick<
  Config,
  | 'skillRunner'
  | 'skillRunnerUrl'
  | 'skillRunnerApiKey'
  | 'skillRunnerTimeoutMs'
  | 'skillRunnerMaxRetries'
  | 'skillRunnerMaxTokensField'
  | 'modelPrices'
>;

/** The runner the configuration names (SKILL_RUNNER, default template). */
export function createSkillRunner(config: RunnerConfig): SkillRunner {
  switch (config.skillRunner) {
    case 'http':
      return httpRunner({ url: config.skillRunnerUrl!, apiKey: config.skillRunnerApiKey, timeoutMs: config.skillRunnerTimeoutMs });
    case 'openai':
    case 'anthropic': {
      const options = {
        baseUrl: config.skillRunnerUrl,
        apiKey: config.skillRunnerApiKey!,
        timeoutMs: config.skillRunnerTimeoutMs,
        maxRetries: config.skillRunnerMaxRetries,
        prices: config.modelPrices,
      };
      return config.skillRunner === 'openai' ? openAiRunner({ ...options, maxTokensField: config.skillRunnerMaxTokensField }) : anthropicRunner(options);
    }
    default:
      return templateRunner();
  }
}
