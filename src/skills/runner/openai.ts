import type { ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { eachEvent, modelRunner, type ModelRunnerOptions, type ModelUsage } from './model';
import type { SkillRunner } from './types';

export interface OpenAiRunnerOptions extends ModelRunnerOptions {
  /**
   * Where a skill's max_tokens goes: OpenAI's own API wants
   * max_completion_tokens (its reasoning models refuse max_tokens); many
   * compatible servers (Ollama, older gateways) read only max_tokens.
   */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
}

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * The request a skill makes of a chat completions API: its model, the
 * rendered prompt as the user's message (after a system instruction where the
 * output format needs one), the sampling parameters that API knows
 * (temperature, top_p, max_tokens, stop; it has no top_k), streamed with the
 * usage in the last chunk.
 */
export function chatRequest(
  model: string,
  parameters: Record<string, unknown>,
  prompt: string,
  system: string | undefined,
  maxTokensField: OpenAiRunnerOptions['maxTokensField'],
): ChatCompletionCreateParamsStreaming {
  const messages: ChatCompletionMessageParam[] = [];
  if (system) messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: prompt });
  const request: ChatCompletionCreateParamsStreaming = { model, messages, stream: true, stream_options: { include_usage: true } };
  if (typeof parameters.temperature === 'number') request.temperature = parameters.temperature;
  if (typeof parameters.top_p === 'number') request.top_p = parameters.top_p;
  if (typeof parameters.max_tokens === 'number') request[maxTokensField] = parameters.max_tokens;
  const stop = parameters.stop_sequences;
  if (Array.isArray(stop) && stop.length > 0 && stop.every((item) => typeof item === 'string')) request.stop = stop as string[];
  return request;
}

/**
 * SKILL_RUNNER=openai: chat completions through the official `openai` SDK,
 * against OpenAI or any server that speaks its API (Azure OpenAI's v1 API,
 * OpenRouter, LiteLLM, vLLM, Ollama's /v1) at `baseUrl`.
 */
export function openAiRunner(options: OpenAiRunnerOptions): SkillRunner {
  // Loaded when chosen: a process on another runner never pays for the SDK.
  const sdk = require('openai') as typeof import('openai');
  const client = new sdk.OpenAI({
    apiKey: options.apiKey,
    // Given explicitly, so the SDK never reads OPENAI_BASE_URL, OPENAI_ORG_ID or OPENAI_PROJECT_ID behind the configuration's back.
    baseURL: options.baseUrl ?? OPENAI_BASE_URL,
    organization: null,
    project: null,
    // Per attempt until the answer starts; the runner's deadline bounds the whole run.
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
  });
  return modelRunner('openai', options, sdk, async (skill, { prompt, system, signal, onText }) => {
    const request = chatRequest(skill.model, skill.parameters, prompt, system, options.maxTokensField);
    const stream = await client.chat.completions.create(request, { signal });
    let usage: ModelUsage | undefined;
    await eachEvent(stream, sdk, (chunk) => {
      // One choice is asked for (n defaults to 1); index 0 is it.
      for (const choice of chunk.choices ?? []) {
        const content = choice.index === 0 ? choice.delta?.content : undefined;
        if (content) onText(content);
      }
      if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
    });
    return usage;
  });
}
