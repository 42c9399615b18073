import type { MessageCreateParamsStreaming } from '@anthropic-ai/sdk/resources/messages';
import { eachEvent, modelRunner, type ModelRunnerOptions } from './model';
import type { SkillRunner } from './types';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** The Messages API needs max_tokens; a skill without one gets the skills' default. */
const DEFAULT_MAX_TOKENS = 4096;

/**
 * The request a skill makes of the Messages API: its model, max_tokens and
 * stop_sequences, the rendered prompt as the user's message, a system
 * instruction where the output format needs one, streamed. The API version
 * the SDK speaks (2026-10-21) has no temperature, top_p or top_k: a skill's
 * values for them are not sent.
 */
export function messagesRequest(model: string, parameters: Record<string, unknown>, prompt: string, system: string | undefined): MessageCreateParamsStreaming {
  const maxTokens = parameters.max_tokens;
  const request: MessageCreateParamsStreaming = {
    model,
    max_tokens: typeof maxTokens === 'number' && Number.isSafeInteger(maxTokens) && maxTokens > 0 ? maxTokens : DEFAULT_MAX_TOKENS,
    messages: [{ role: 'user', content: prompt }],
    stream: true,
  };
  if (system) request.system = system;
  const stop = parameters.stop_sequences;
  if (Array.isArray(stop) && stop.length > 0 && stop.every((item) => typeof item === 'string')) request.stop_sequences = stop as string[];
  return request;
}

/**
 * SKILL_RUNNER=anthropic: the Messages API through the official
 * `@anthropic-ai/sdk`, streamed (message_start, content_block_delta ...,
 * message_delta, message_stop), against Anthropic or a server that speaks
 * its API at `baseUrl`.
 */
export function anthropicRunner(options: ModelRunnerOptions): SkillRunner {
  // Loaded when chosen: a process on another runner never pays for the SDK.
  const sdk = require('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
  const client = new sdk.Anthropic({
    // A key given here is the client's only credential: ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN are never read.
    apiKey: options.apiKey,
    // Given explicitly, so ANTHROPIC_BASE_URL is never read either.
    baseURL: options.baseUrl ?? ANTHROPIC_BASE_URL,
    // Per attempt until the answer starts; the runner's deadline bounds the whole run.
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
  });
  return modelRunner('anthropic', options, sdk, async (skill, { prompt, system, signal, onText }) => {
    const stream = await client.messages.create(messagesRequest(skill.model, skill.parameters, prompt, system), { signal });
    let input: number | undefined;
    let output: number | undefined;
    await eachEvent(stream, sdk, (event) => {
      if (event.type === 'message_start') {
        const usage = event.message.usage;
        // Cached prompt tokens are prompt tokens too (priced as input: this runner asks for no caching).
        input = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
        output = usage.output_tokens;
      } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        onText(event.delta.text);
      } else if (event.type === 'message_delta') {
        // Counts here are running totals for the message, the last one final.
        output = event.usage.output_tokens;
        if (typeof event.usage.input_tokens === 'number') {
          input = event.usage.input_tokens + (event.usage.cache_creation_input_tokens ?? 0) + (event.usage.cache_read_input_tokens ?? 0);
        }
      }
    });
    return { promptTokens: input, completionTokens: output };
  });
}
