import { checkInput } from './input';
import { PromptTooLarge, renderPrompt } from './render';
import type { RunFailure, RunnableSkill } from './types';

/** Milliseconds since `started` (from performance.now()), whole. */
export function elapsed(started: number): number {
  return Math.max(0, Math.round(performance.now() - started));
}

/** The step both runners share: check the input, then render the prompt. */
export function preparePrompt(
  skill: RunnableSkill,
  input: Record<string, unknown>,
  started: number,
): { ok: true; prompt: string; values: Record<string, unknown> } | RunFailure {
  const { values, errors } = checkInput(skill.inputSchema, input);
  if (errors.length > 0) {
    return {
      ok: false,
      code: 'invalid_input',
      message: `The input does not fit the skill's inputSchema: ${errors.map((e) => `${e.path.split('/').pop()} ${e.message}`).join('; ')}.`,
      inputErrors: errors,
      durationMs: elapsed(started),
    };
  }
  try {
    return { ok: true, prompt: renderPrompt(skill.promptTemplate, values), values };
  } catch (error) {
    if (!(error instanceof PromptTooLarge)) throw error;
    return { ok: false, code: 'prompt_too_large', message: error.message, durationMs: elapsed(started) };
  }
}
