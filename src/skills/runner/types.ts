import type { components } from '../../generated/openapi';

export type SkillOutputFormat = components['schemas']['SkillOutputFormat'];
export type InputField = components['schemas']['SkillInputField'];

/** What a runner needs of a skill: saved or not, nothing else. */
export interface RunnableSkill {
  promptTemplate: string;
  model: string;
  parameters: Record<string, unknown>;
  inputSchema: InputField[];
  outputFormat: SkillOutputFormat;
}

/** One input field that does not fit the skill's inputSchema. */
export interface InputError {
  path: string;
  message: string;
  code: string;
}

export interface RunSuccess {
  ok: true;
  /** The rendered prompt that was (or, for the template runner, would have been) sent. */
  prompt: string;
  /** A string for text formats; any JSON value for `json`. */
  output: unknown;
  promptTokens: number;
  completionTokens: number;
  /** Exact decimal string in euro cents, four places (the column's scale). */
  costCents: string;
  durationMs: number;
}

export interface RunFailure {
  ok: false;
  /** Machine-readable: invalid_input, prompt_too_large, runner_timeout, runner_unreachable, runner_http_<status>, runner_bad_response, cancelled ... */
  code: string;
  message: string;
  /** Only for invalid_input. */
  inputErrors?: InputError[];
  durationMs: number;
}

export type RunResult = RunSuccess | RunFailure;

export interface RunOptions {
  /** Aborts the run (an execution cancelled while it runs); the result is then a failure with code `cancelled`. */
  signal?: AbortSignal;
  /**
   * Text as a model streams it, in order, chunk by chunk (runners that call a
   * model). The chunks joined are the text the result is made of; nothing is
   * taken back, so a failed run may have reported text before it failed.
   * Must not throw: a runner does not wait for it.
   */
  onOutput?: (chunk: string) => void;
}

/** The one seam between skills and whatever produces their output. */
export interface SkillRunner {
  readonly kind: 'template' | 'http' | 'openai' | 'anthropic';
  run(skill: RunnableSkill, input: Record<string, unknown>, options?: RunOptions): Promise<RunResult>;
}
