// The execution worker's statements. It runs as service_role; the claim is
// app.claim_execution (028), which picks fairly across organizations.

/** $1 the organizations to serve (null: all). One execution, now running, or no row. */
export const CLAIM_EXECUTION = `select c.id, c.skill_id, c.input, c.attempts from app.claim_execution($1::uuid[]) c`;

/**
 * Only a still-running execution takes its result: a cancel that came while
 * the runner worked wins, and the late result is dropped.
 */
export const FINISH_EXECUTION = `update public.skill_executions e set
    status = $2, output = $3::jsonb, prompt_tokens = $4::int, completion_tokens = $5::int, tokens_used = $4::int + $5::int,
    cost_cents = $6, duration_ms = $7, error_code = $8, error_message = $9
  where e.id = $1 and e.status = 'running'`;

/**
 * $1 execution, $2 delay in ms: a transient failure with attempts left goes
 * back to the queue, due after the delay. Streamed text of the failed attempt
 * goes: the next attempt streams its own.
 */
export const RETRY_EXECUTION = `update public.skill_executions e
  set status = 'pending', output = null, next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
  where e.id = $1 and e.status = 'running'`;

/** $1 execution: handed back at shutdown, due at once, and the interrupted attempt is not counted. */
export const HAND_BACK_EXECUTION = `update public.skill_executions e
  set status = 'pending', output = null, next_attempt_at = null, attempts = greatest(e.attempts - 1, 0)
  where e.id = $1 and e.status = 'running'`;

/**
 * $1 age in ms, $2 organizations (null: all), $3 attempts in all. A running
 * execution this old lost its worker (killed, out of memory): with attempts
 * left it is queued again at once, else it fails as worker_lost.
 */
export const RECOVER_STALE_EXECUTIONS = `update public.skill_executions e
  set status = (case when e.attempts < $3 then 'pending' else 'failed' end)::public.execution_status,
      output = case when e.attempts < $3 then null else e.output end,
      next_attempt_at = null,
      error_code = case when e.attempts < $3 then null else 'worker_lost' end,
      error_message = case when e.attempts < $3 then null else 'The worker running this execution stopped before it finished.' end
  where e.status = 'running' and e.executed_at < now() - make_interval(secs => $1::double precision / 1000)
    and ($2::uuid[] is null or e.organization_id = any($2::uuid[]))`;

/** Which of the executions being run here have been cancelled (or otherwise ended) meanwhile. */
export const NO_LONGER_RUNNING = `select e.id from public.skill_executions e where e.id = any($1::uuid[]) and e.status <> 'running'`;
