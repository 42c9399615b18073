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

function ticksOf(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  // The command name may hold spaces: the fields after it start past its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, the 14th and 15th fields of the whole line.
  return Number(fields[11]) + Number(fields[12]);
}

function parentOf(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The postmaster's `postmasterPid` and its children's CPU, with this process's main thread's. */
export function readCpuTicks(postmasterPid: number | undefined): CpuTicks | undefined {
  if (process.platform !== 'linux' || postmasterPid === undefined) return undefined;
  try {
    let postgres = ticksOf(`/proc/${postmasterPid}/stat`);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (parentOf(`/proc/${entry}/stat`) === postmasterPid) postgres += ticksOf(`/proc/${entry}/stat`);
      } catch {
        // The process ended between the listing and the read.
      }
    }
    return { mainThread: ticksOf(`/proc/self/task/${process.pid}/stat`), postgres };
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
