import type pg from 'pg';
import { withServiceTransaction } from '../db/transaction';

/**
 * $1 execution, $2 text: appends streamed text to a running execution's
 * output (a JSON string while it runs). Only a running execution takes it:
 * once a cancel or the result has been written, late text is dropped.
 */
const APPEND_OUTPUT = `update public.skill_executions e
  set output = to_jsonb(coalesce(e.output #>> '{}', '') || $2::text)
  where e.id = $1 and e.status = 'running'`;

/** How often text streamed by a model is written to its execution at most. */
export const OUTPUT_WRITE_MS = 250;

/** Where a runner's streamed chunks go while an execution runs. */
export interface LiveOutput {
  /** Takes a chunk (never throws, never waits): it is written with the next write. */
  push(chunk: string): void;
  /** Ends the writes and waits for one in progress, so none lands after the result. */
  close(): Promise<void>;
}

/**
 * Batches streamed text into at most one write per `everyMs`, one write at a
 * time, each appending what arrived since the last one, so readers of the
 * execution see its output grow while the model works. A write that fails is
 * not retried on its own: its text goes with the next one, and the result
 * written at the end replaces the output whole anyway.
 */
export function liveOutput(pool: pg.Pool, statementTimeoutMs: number, executionId: string, everyMs = OUTPUT_WRITE_MS): LiveOutput {
  let text = '';
  let written = 0;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  const write = async () => {
    const end = text.length;
    if (closed || end === written) return;
    try {
      await withServiceTransaction(pool, statementTimeoutMs, (tx) => tx.query(APPEND_OUTPUT, [executionId, text.slice(written, end)]));
      written = end;
    } catch {
      // Left for the next write; the final result covers it in any case.
    }
  };

  return {
    push(chunk) {
      if (closed || chunk.length === 0) return;
      text += chunk;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        writing = writing.then(write);
      }, everyMs);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      await writing;
    },
  };
}
