import type { ModelPrices } from '../../config';
import { elapsed, preparePrompt } from './prepare';
import { costCents, priceOf } from './pricing';
import { countTokens } from './render';
import type { RunFailure, RunnableSkill, RunResult, SkillOutputFormat, SkillRunner } from './types';

// What the runners that call a model through a vendor's SDK (openai.ts,
// anthropic.ts) share: one deadline for the whole run, the output streamed
// as it comes, failures as results with a code, usage and an exact cost.

export interface ModelRunnerOptions {
  /** The API's base URL; the vendor's own when absent. */
  baseUrl?: string;
  apiKey: string;
  /** The whole run: every attempt and the streamed answer. */
  timeoutMs: number;
  /** Retries (with the SDK's backoff) after 408, 409, 429, a 5xx or a dropped connection. */
  maxRetries: number;
  prices: ModelPrices;
  /** Where an operator hears of a model the price table does not name (once per model). */
  log?: (line: string) => void;
}

/** One model call as a runner's SDK module makes it. */
export interface ModelCall {
  prompt: string;
  /** The system instruction, when the output format needs one. */
  system: string | undefined;
  /** Aborts the call: the deadline passed or the execution was cancelled. */
  signal: AbortSignal;
  /** Each piece of answer text as it streams in. */
  onText: (chunk: string) => void;
}

/** Token counts as the API reported them; a count it left out is counted with the tokenizer. */
export interface ModelUsage {
  promptTokens?: number;
  completionTokens?: number;
}

/** The error classes of one SDK (both SDKs are generated alike and name them the same). */
export interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error & { status?: number | undefined };
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

/**
 * A `json` skill asks for one JSON value and nothing else; models still wrap
 * it in a Markdown fence now and then, which is taken off before parsing.
 */
export const JSON_INSTRUCTION = 'Answer with a single JSON value and nothing else: no prose, no Markdown code fence.';

export function systemInstruction(format: SkillOutputFormat): string | undefined {
  return format === 'json' ? JSON_INSTRUCTION : undefined;
}

const FENCE = /^```[A-Za-z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```$/;

/** The JSON value a model answered, or undefined when the text is not one. */
export function parseJsonAnswer(text: string): { value: unknown } | undefined {
  const trimmed = text.trim();
  const unfenced = FENCE.exec(trimmed)?.[1] ?? trimmed;
  try {
    return { value: JSON.parse(unfenced) };
  } catch {
    return undefined;
  }
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const MAX_DETAIL = 500;
const MAX_UNPRICED_REMEMBERED = 1000;

/** The provider's own words, shortened: they tell an operator what went wrong (a model name, a key, a limit). */
function detail(error: Error): string {
  const text = error.message.replace(/\s+/g, ' ').trim();
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}...` : text;
}

/** The connection broke while an answer streamed in (the fetch body failed: no SDK error of its own). */
export class ConnectionLost extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Reads an SDK's event stream, handing each event to `each`. A failure of
 * the stream itself that the SDK does not turn into an error of its own (the
 * socket closed half way) becomes ConnectionLost; a failure of `each` (ours)
 * closes the stream and passes through as it is.
 */
export async function eachEvent<T>(stream: AsyncIterable<T>, errors: SdkErrors, each: (event: T) => void): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<T>;
    try {
      next = await iterator.next();
    } catch (error) {
      if (error instanceof errors.APIError || error instanceof SyntaxError) throw error;
      throw new ConnectionLost(error);
    }
    if (next.done) return;
    try {
      each(next.value);
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
  }
}

/** Rejects when `signal` aborts: the openai SDK waits out a retry's backoff (or Retry-After) without looking at the signal. */
function abortion(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let listener: () => void = () => undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    listener = () => reject(signal.reason);
    if (signal.aborted) listener();
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}

/**
 * A runner around one SDK's streaming call. The SDK retries with its own
 * exponential backoff (honouring Retry-After); this wrapper adds the one
 * deadline over all of it, the cancel, the output format and the cost.
 */
export function modelRunner(
  kind: 'openai' | 'anthropic',
  options: ModelRunnerOptions,
  errors: SdkErrors,
  call: (skill: RunnableSkill, request: ModelCall) => Promise<ModelUsage | undefined>,
): SkillRunner {
  const unpriced = new Set<string>();
  const log = options.log ?? ((line: string) => console.warn(line));

  function failed(error: unknown, cancel: AbortSignal | undefined, deadline: AbortSignal, started: number): RunFailure {
    const fail = (code: string, message: string): RunFailure => ({ ok: false, code, message, durationMs: elapsed(started) });
    if (cancel?.aborted) return fail('cancelled', 'The execution was cancelled while the model worked.');
    if (deadline.aborted || error instanceof errors.APIConnectionTimeoutError) {
      return fail('runner_timeout', `The model did not finish within ${options.timeoutMs} ms.`);
    }
    if (error instanceof errors.APIConnectionError) return fail('runner_unreachable', `The model API could not be reached: ${detail(error)}`);
    if (error instanceof ConnectionLost) return fail('runner_unreachable', `The connection to the model API broke while the answer streamed in: ${detail(error)}`);
    if (error instanceof errors.APIError) {
      if (typeof error.status === 'number') return fail(`runner_http_${error.status}`, `The model API answered HTTP ${error.status}: ${detail(error)}`);
      // An error event inside the stream, after the 200.
      return fail('runner_bad_response', `The model API reported an error while streaming: ${detail(error)}`);
    }
    // A stream line that is not JSON.
    if (error instanceof SyntaxError) return fail('runner_bad_response', `The model API sent a stream that could not be read: ${detail(error)}`);
    throw error;
  }

  return {
    kind,
    async run(skill, input, runOptions = {}): Promise<RunResult> {
      const started = performance.now();
      const prepared = preparePrompt(skill, input, started);
      if (!prepared.ok) return prepared;

      const deadline = AbortSignal.timeout(options.timeoutMs);
      const signal = runOptions.signal ? AbortSignal.any([deadline, runOptions.signal]) : deadline;
      let text = '';
      const onText = (chunk: string) => {
        text += chunk;
        runOptions.onOutput?.(chunk);
      };
      const work = call(skill, { prompt: prepared.prompt, system: systemInstruction(skill.outputFormat), signal, onText });
      // The race is lost quietly: the SDK's call ends on the aborted signal soon after.
      work.catch(() => undefined);
      const stop = abortion(signal);
      let usage: ModelUsage | undefined;
      try {
        usage = await Promise.race([work, stop.promise]);
      } catch (error) {
        return failed(error, runOptions.signal, deadline, started);
      } finally {
        stop.dispose();
      }

      let output: unknown = text;
      if (skill.outputFormat === 'json') {
        const parsed = parseJsonAnswer(text);
        if (!parsed) {
          return { ok: false, code: 'runner_bad_response', message: 'The model did not answer with JSON, which this skill\'s output format needs.', durationMs: elapsed(started) };
        }
        output = parsed.value;
      }
      // Servers that leave usage out (some OpenAI-compatible ones) are counted with the tokenizer.
      const promptTokens = isCount(usage?.promptTokens) ? usage.promptTokens : countTokens(prepared.prompt);
      const completionTokens = isCount(usage?.completionTokens) ? usage.completionTokens : countTokens(text);
      const price = priceOf(skill.model, options.prices);
      // Skills name their models freely: past a bound, further names are not remembered (nor logged).
      if (!price && !unpriced.has(skill.model) && unpriced.size < MAX_UNPRICED_REMEMBERED) {
        unpriced.add(skill.model);
        log(`Warning   MODEL_PRICES names no price for model "${skill.model}": its runs are recorded at cost 0`);
      }
      return {
        ok: true,
        prompt: prepared.prompt,
        output,
        promptTokens,
        completionTokens,
        costCents: costCents({ promptTokens, completionTokens }, price),
        durationMs: elapsed(started),
      };
    },
  };
}
