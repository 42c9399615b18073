import type pg from 'pg';
import type { Config } from '../config';
import { executionWorkerTask } from '../executions/worker';
import { createSkillRunner } from '../skills/runner';
import { startLoop, type BackgroundTask, type RunningLoop } from './loop';

export interface BackgroundDeps {
  pool: pg.Pool;
  config: Config;
  log: (line: string) => void;
}

/** The loops a server (or `npm run worker`) runs beside the API. */
export interface BackgroundWork {
  /** Runs the named loop's next pass now (no-op when it is not running here). */
  wake(name: string): void;
  stop(): Promise<void>;
}

/** Every kind of background work; each domain contributes its task here. */
function backgroundTasks(deps: BackgroundDeps): BackgroundTask[] {
  const tasks: BackgroundTask[] = [];
  // ---- Skills and executions ----
  tasks.push(
    executionWorkerTask({
      pool: deps.pool,
      statementTimeoutMs: deps.config.statementTimeoutMs,
      runner: createSkillRunner(deps.config),
      concurrency: deps.config.executionWorkerConcurrency,
      intervalMs: deps.config.executionWorkerIntervalMs,
      // Well past the runner's own limit, so only a worker that died leaves one this old.
      staleAfterMs: deps.config.skillRunnerTimeoutMs * 2 + 60_000,
    }),
  );
  return tasks;
}

export function startBackgroundWork(deps: BackgroundDeps): BackgroundWork {
  const loops: RunningLoop[] = deps.config.backgroundWork
    ? backgroundTasks(deps).map((task) => startLoop(task, deps.log))
    : [];
  return {
    wake(name) {
      loops.find((loop) => loop.name === name)?.wake();
    },
    async stop() {
      await Promise.all(loops.map((loop) => loop.stop()));
    },
  };
}

/** For apps built without background work (tests that drive the tasks themselves). */
export const NO_BACKGROUND_WORK: BackgroundWork = { wake: () => undefined, stop: async () => undefined };
