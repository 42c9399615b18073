import type { Request } from 'express';
import { actingOrganization, requireOrganization, type RequestTransaction } from '../../db/transaction';
import { toExecution, type ExecutionRow, type SkillExecution } from '../../executions/sql';
import { hasEnded, waitForEnd } from '../../executions/wait';
import type { RunInTransaction } from '../../http/context';
import type { RequestBody, ResponseBody } from '../../http/route';
import { problems } from '../../problems';
import { checkInputSchema, loadSkill } from '../access';
import { checkInput } from '../runner/input';
import type { RunnableSkill, RunResult, SkillRunner } from '../runner/types';
import { INSERT_SKILL_EXECUTION, runnableSkill, type SkillRow } from '../sql';

// Running a skill: a dry run answered at once (the test endpoints), or an
// execution queued for the worker (execute), which the caller may wait for.

type ConfigurationTest = RequestBody<'testSkillConfiguration'>;
type TestResult = ResponseBody<'testSkill', 200>;

const DEFAULT_MODEL = 'gpt-4o-mini';
const DEFAULT_PARAMETERS = { temperature: 1, max_tokens: 4096 };

/** A skill as the configuration test states it, with the defaults a stored skill would get. */
export function configurationToTest(body: ConfigurationTest): RunnableSkill {
  checkInputSchema(body.inputSchema as RunnableSkill['inputSchema'] | undefined);
  return {
    promptTemplate: body.promptTemplate,
    model: body.model ?? DEFAULT_MODEL,
    parameters: body.parameters ?? DEFAULT_PARAMETERS,
    inputSchema: (body.inputSchema ?? []) as RunnableSkill['inputSchema'],
    outputFormat: body.outputFormat ?? 'markdown',
  };
}

/** The runner's verdict as the test endpoints report it; an input that does not fit is the caller's 400. */
export function toTestResult(result: RunResult, runner: SkillRunner): TestResult {
  if (!result.ok && result.code === 'invalid_input') {
    throw problems.validation(result.message, result.inputErrors);
  }
  if (!result.ok) {
    return {
      status: 'failed',
      runner: runner.kind,
      prompt: null,
      output: null,
      promptTokens: 0,
      completionTokens: 0,
      tokensUsed: 0,
      costCents: '0.0000',
      durationMs: result.durationMs,
      errorCode: result.code,
      errorMessage: result.message,
    };
  }
  return {
    status: 'completed',
    runner: runner.kind,
    prompt: result.prompt,
    output: result.output,
    promptTokens: result.promptTokens,
    completionTokens: result.completionTokens,
    tokensUsed: result.promptTokens + result.completionTokens,
    costCents: result.costCents,
    durationMs: result.durationMs,
    errorCode: null,
    errorMessage: null,
  };
}

/** Runs a skill outside any transaction (a model call must not hold a connection) and reports as the test endpoints do. */
export async function testRun(runner: SkillRunner, skill: RunnableSkill, input: Record<string, unknown>, signal: AbortSignal): Promise<TestResult> {
  return toTestResult(await runner.run(skill, input, { signal }), runner);
}

/** Only members of an organization may use its runner (and its spend). */
export async function requireMember(tx: RequestTransaction): Promise<void> {
  requireOrganization(tx);
}

export async function skillToTest(tx: RequestTransaction, skillId: string): Promise<RunnableSkill> {
  return runnableSkill(await loadSkill(tx, skillId));
}

/** Whether the skill may run this input now: an inactive skill is a 409, an input that does not fit its schema a 400. */
export function checkRunnable(skill: Pick<SkillRow, 'is_active' | 'input_schema'>, input: Record<string, unknown>): void {
  if (!skill.is_active) throw problems.conflict('This skill is inactive; activate it to run it.');
  const { errors } = checkInput(skill.input_schema, input);
  if (errors.length > 0) throw problems.validation("The input does not fit the skill's inputSchema.", errors);
}

/** A pending execution for the worker: a person's run is `manual`; a service token's (a back-office integration) is `api`, started by nobody. */
export async function queueExecution(tx: RequestTransaction, skillId: string, input: Record<string, unknown>): Promise<SkillExecution> {
  const skill = await loadSkill(tx, skillId);
  checkRunnable(skill, input);
  const service = tx.identity.role === 'service_role';
  const inserted = await tx.query<ExecutionRow>(INSERT_SKILL_EXECUTION, [
    actingOrganization(tx),
    skill.id,
    service ? null : tx.identity.userId,
    service ? 'api' : 'manual',
    JSON.stringify(input),
  ]);
  return toExecution(inserted.rows[0]!);
}

/** 200 once the execution has ended, 202 while it is still queued or running. */
export interface ExecutionAnswer {
  status: 200 | 202;
  execution: SkillExecution;
}

/**
 * The answer to an execute: at once (202), or after waiting up to `waitMs`
 * for the execution to end. A waited answer leaves out the skill summary the
 * re-read carries, so it has the same shape as the immediate one.
 */
export async function executionAnswer(
  inTransaction: RunInTransaction,
  req: Request,
  queued: SkillExecution,
  waitMs: number,
): Promise<ExecutionAnswer> {
  if (waitMs <= 0) return { status: 202, execution: queued };
  const latest = (await waitForEnd(inTransaction, req, queued, waitMs)) ?? queued;
  const { skill: _skill, ...execution } = latest;
  return { status: hasEnded(execution) ? 200 : 202, execution };
}
