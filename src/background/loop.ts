/** One kind of background work, run again and again by a polling loop. */
export interface BackgroundTask {
  name: string;
  /** Pause between passes when the last one found nothing (or less than a full batch) to do. */
  intervalMs: number;
  /**
   * One pass over the work due now. Returning true means "there may be more
   * right away": the loop goes again without pausing.
   */
  tick(): Promise<boolean>;
  /**
   * Ends work the task holds beyond a pass (runs it started and a pass may be
   * waiting on), when the loop stops; the loop then waits for the pass.
   */
  stop?(): Promise<void>;
}

/** Rows a retention pass deletes at most: short transactions, no long lock on a large table. */
export const RETENTION_BATCH_SIZE = 5000;

export interface RetentionSettings {
  name: string;
  /** Pause between passes once a pass deleted less than a full batch. */
  intervalMs: number;
  batchSize?: number;
  /** Deletes at most `batchSize` rows past their retention; how many went. */
  deleteBatch(batchSize: number): Promise<number>;
}

/**
 * The one shape of a retention loop: a batch a pass, and again at once while
 * full batches go, so a backlog drains quickly without one long delete.
 */
export function retentionTask(settings: RetentionSettings): BackgroundTask {
  const batchSize = settings.batchSize ?? RETENTION_BATCH_SIZE;
  return {
    name: settings.name,
    intervalMs: settings.intervalMs,
    tick: async () => (await settings.deleteBatch(batchSize)) === batchSize,
  };
}

export interface RunningLoop {
  name: string;
  /** Runs the next pass now instead of after the pause (e.g. just after work was queued). */
  wake(): void;
  /** Waits for the pass in progress, then ends the loop. */
  stop(): Promise<void>;
}

/**
 * Polls `task` until stopped. A failing pass is logged and retried after the
 * usual pause: the queue lives in the database, so nothing is lost by waiting.
 */
export function startLoop(task: BackgroundTask, log: (line: string) => void): RunningLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeUp: (() => void) | undefined;
  let wokenEarly = false;

  const pause = () =>
    new Promise<void>((resolve) => {
      if (wokenEarly) {
        wokenEarly = false;
        resolve();
        return;
      }
      wakeUp = resolve;
      timer = setTimeout(resolve, task.intervalMs);
    }).finally(() => {
      clearTimeout(timer);
      wakeUp = undefined;
    });

  const running = (async () => {
    while (!stopped) {
      let more = false;
      try {
        more = await task.tick();
      } catch (error) {
        log(`${task.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!stopped && !more) await pause();
    }
  })();

  return {
    name: task.name,
    wake() {
      if (wakeUp) wakeUp();
      else wokenEarly = true;
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await task.stop?.();
      await running;
    },
  };
}
