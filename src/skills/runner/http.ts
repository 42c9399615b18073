import Decimal from 'decimal.js';
import { countTokens, outputText } from './render';
import { elapsed, preparePrompt } from './prepare';
import type { RunFailure, SkillRunner } from './types';

export interface HttpRunnerOptions {
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

const COST = /^\d{1,10}(\.\d+)?$/;
const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads the gateway's answer:
 *   { output, usage?: { promptTokens, completionTokens }, costCents?: "0.0150" }
 * `output` is a string, or for `json` skills any JSON value. Missing usage is
 * counted with the tokenizer; a missing cost is zero. Costs are taken as
 * decimal strings (or plain numbers, converted through their decimal text)
 * and kept to four places, the column's scale.
 */
function readAnswer(body: unknown, format: string, prompt: string) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the answer is not a JSON object';
  const answer = body as Record<string, unknown>;
  if (answer.output === undefined) return 'the answer has no "output"';
  if (format !== 'json' && typeof answer.output !== 'string') return `"output" must be a string for ${format} skills`;
  const usage = (answer.usage ?? {}) as Record<string, unknown>;
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return '"usage" must be an object';
  const promptTokens = usage.promptTokens ?? countTokens(prompt);
  const completionTokens = usage.completionTokens ?? countTokens(outputText(answer.output));
  if (!isCount(promptTokens) || !isCount(completionTokens)) return 'token counts must be whole numbers of at least 0';
  const rawCost = answer.costCents ?? '0';
  const costText = typeof rawCost === 'number' && Number.isFinite(rawCost) ? String(rawCost) : rawCost;
  if (typeof costText !== 'string' || !COST.test(costText)) return '"costCents" must be a non-negative decimal string';
  return {
    output: answer.output,
    promptTokens,
    completionTokens,
    costCents: new Decimal(costText).toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toFixed(4),
  };
}

/**
 * Posts `{ prompt, model, parameters, outputFormat }` to an LLM gateway and
 * reads back the output, token usage and cost. Every failure is a result with
 * a code, never a throw: the worker records it as a failed execution.
 */
export function httpRunner(options: HttpRunnerOptions): SkillRunner {
  return {
    kind: 'http',
    async run(skill, input, runOptions = {}) {
      const started = performance.now();
      const prepared = preparePrompt(skill, input, started);
      if (!prepared.ok) return prepared;
      const fail = (code: string, message: string): RunFailure => ({ ok: false, code, message, durationMs: elapsed(started) });

      let response: Response;
      let text: string;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify({
            prompt: prepared.prompt,
            model: skill.model,
            parameters: skill.parameters,
            outputFormat: skill.outputFormat,
          }),
          // One limit for the whole exchange, body included; a cancel ends it too.
          signal: runOptions.signal
            ? AbortSignal.any([AbortSignal.timeout(options.timeoutMs), runOptions.signal])
            : AbortSignal.timeout(options.timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        if (runOptions.signal?.aborted) return fail('cancelled', 'The execution was cancelled while the skill runner worked.');
        const name = (error as Error).name;
        if (name === 'TimeoutError' || name === 'AbortError') {
          return fail('runner_timeout', `The skill runner did not answer within ${options.timeoutMs} ms.`);
        }
        return fail('runner_unreachable', 'The skill runner could not be reached.');
      }
      if (!response.ok) {
        return fail(`runner_http_${response.status}`, `The skill runner answered HTTP ${response.status}.`);
      }
      if (text.length > MAX_RESPONSE_BYTES) return fail('runner_bad_response', 'The skill runner answered with too much data.');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return fail('runner_bad_response', 'The skill runner did not answer with JSON.');
      }
      const answer = readAnswer(body, skill.outputFormat, prepared.prompt);
      if (typeof answer === 'string') return fail('runner_bad_response', `The skill runner's answer is unusable: ${answer}.`);
      return { ok: true, prompt: prepared.prompt, ...answer, durationMs: elapsed(started) };
    },
  };
}
