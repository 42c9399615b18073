import { countTokens, outputText } from './render';
import { elapsed, preparePrompt } from './prepare';
import type { SkillRunner } from './types';

/**
 * The default runner: renders the prompt and returns it in the skill's output
 * format without calling any model, so skills, habits and reflexes work end to
 * end with nothing to configure. `json` skills get `{ prompt, input }`.
 * Tokens are counted with a real tokenizer; the cost is zero.
 */
export function templateRunner(): SkillRunner {
  return {
    kind: 'template',
    async run(skill, input) {
      const started = performance.now();
      const prepared = preparePrompt(skill, input, started);
      if (!prepared.ok) return prepared;
      const output = skill.outputFormat === 'json' ? { prompt: prepared.prompt, input: prepared.values } : prepared.prompt;
      return {
        ok: true,
        prompt: prepared.prompt,
        output,
        promptTokens: countTokens(prepared.prompt),
        completionTokens: countTokens(outputText(output)),
        costCents: '0.0000',
        durationMs: elapsed(started),
      };
    },
  };
}
