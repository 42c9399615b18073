import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time, in clock ticks, of this process's main thread (where the API and
 * the bare servers run; the load runs in a worker) and of one PostgreSQL
 * server: its postmaster and every process it started. On a shared
 * machine req/s moves with whatever else runs; CPU a request moves much
 * less, so it says what a change saved. Linux only: undefined elsewhere.
 */
export interface CpuTicks {
  mainThread: number;
  postgres: number;
}

/** Clock ticks a second (USER_HZ): 100 on every Linux that Node runs on. */
export const TICKS_PER_SECOND = 100;

/** A process's (or thread's) parent and CPU ticks so far, from one read of its stat file. */
function statOf(statFile: string): { parent: number; ticks: number } {
  const stat = readFileSync(statFile, 'utf8');
  // The command name may hold spaces: the fields after it start past its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // The 4th field of the whole line is the parent; utime and stime are the 14th and 15th.
  return { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** The postmaster's `postmasterPid` and its children's CPU, with this process's main thread's. */
export function readCpuTicks(postmasterPid: number | undefined): CpuTicks | undefined {
  if (process.platform !== 'linux' || postmasterPid === undefined) return undefined;
  try {
    let postgres = statOf(`/proc/${postmasterPid}/stat`).ticks;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const child = statOf(`/proc/${entry}/stat`);
        if (child.parent === postmasterPid) postgres += child.ticks;
      } catch {
        // The process ended between the listing and the read.
      }
    }
    return { mainThread: statOf(`/proc/self/task/${process.pid}/stat`).ticks, postgres };
  } catch {
    return undefined;
  }
}

/** Microseconds of CPU a request, of the main thread and of PostgreSQL, between two readings. */
export function cpuPerRequest(before: CpuTicks | undefined, after: CpuTicks | undefined, requests: number): { node: number; postgres: number } | undefined {
  if (!before || !after || requests <= 0) return undefined;
  const micros = (ticks: number) => (ticks * 1_000_000) / TICKS_PER_SECOND / requests;
  return { node: micros(after.mainThread - before.mainThread), postgres: micros(after.postgres - before.postgres) };
}
