// A measurement's process tree through /proc (Linux): its summed RSS, sampled while it runs, and whatever
// of its process group is still alive after it exits. Threads share their process's RSS, so worker threads
// are counted once; forked workers (mpool's process context, Python) are each counted in full, shared
// copy-on-write pages included, so for them the sum is an upper bound.
import { readdirSync, readFileSync } from 'node:fs';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process ended between listing and reading
  }
}

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...]. */
function statFields(pid: number): string[] | null {
  const stat = read(`/proc/${pid}/stat`);
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function children(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tasks) {
    const list = read(`/proc/${pid}/task/${tid}/children`);
    if (list) for (const child of list.trim().split(/\s+/)) if (child) out.push(Number(child));
  }
  return out;
}

function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(read(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) : 0;
}

/** The PIDs of `root` and all its descendants, now. */
export function tree(root: number): number[] {
  const seen: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    seen.push(pid);
    stack.push(...children(pid));
  }
  return seen;
}

/**
 * Samples the summed RSS of `root`'s tree every `everyMs` until stopped; returns the peak in KB. The tree is
 * walked again only every `walkEvery` samples: walking reads a file per thread of every process, and each
 * sample takes its CPU from the very cores the contenders are measured on (about 0.1 ms a sample with a full
 * walk of a 14-thread child, against a few µs for one status file).
 */
export function sampleRss(root: number, everyMs = 20, walkEvery = 5): { stop(): number } {
  let peak = 0;
  let pids: number[] = [];
  let count = 0;
  const sample = (): void => {
    if (count++ % walkEvery === 0) pids = tree(root);
    let sum = 0;
    for (const pid of pids) sum += rssKb(pid);
    if (sum > peak) peak = sum;
  };
  const timer = setInterval(sample, everyMs);
  sample();
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Live (not zombie: PID 1 here does not reap orphans) processes in process group `pgid`. */
export function groupAlive(pgid: number): number[] {
  const alive: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[2]) === pgid && fields[0] !== 'Z') alive.push(Number(entry));
  }
  return alive;
}

/** SIGKILLs a whole process group, ignoring a group that is already gone. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
