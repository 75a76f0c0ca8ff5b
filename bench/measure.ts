// One measurement: spawns a child (Node under tsx, or Python) in its own process group, samples the group's
// RSS while it runs, reads its result line, and reaps the whole group, reporting anything left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MARK, PY_SCRIPT } from './machine.js';
import { groupAlive, killGroup, sampleRss } from './proctree.js';
import type { Sample } from './report.js';
import type { Params, Scenario } from './scenarios.js';

const CHILD = fileURLToPath(new URL('child.mjs', import.meta.url));
/** How long a child's processes may linger after it exits before they count as left behind. */
const REAP_GRACE_MS = 3000;

let current: ChildProcess | undefined;

// Ctrl-C: take the running measurement's whole process group down with us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (current?.pid) killGroup(current.pid);
    process.exit(130);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function resultLine(stdout: string): Record<string, unknown> | null {
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  return line ? (JSON.parse(line.slice(MARK.length)) as Record<string, unknown>) : null;
}

/** Waits for the group's processes to follow the child out; SIGKILLs and returns those that did not. */
async function reap(pgid: number): Promise<number[]> {
  const deadline = Date.now() + REAP_GRACE_MS;
  let alive = groupAlive(pgid);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(50);
    alive = groupAlive(pgid);
  }
  if (alive.length > 0) killGroup(pgid);
  return alive;
}

export async function measure(
  contender: string,
  s: Scenario,
  params: Params,
  timeoutMs: number,
): Promise<Omit<Sample, 'round'>> {
  const json = JSON.stringify(params);
  const [command, args] = contender.startsWith('python')
    ? ['python3', [PY_SCRIPT, contender === 'python' ? 'pool' : 'in-process', s.name, json]]
    : [process.execPath, [CHILD, contender, s.name, json]];
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  current = child;
  // The pipes close once every process holding them is gone, which can come before or after 'exit'.
  const closed = new Promise((resolve) => child.on('close', resolve));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const pgid = child.pid!;
  const rss = sampleRss(pgid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pgid);
  }, timeoutMs);
  let exit: [number | null, NodeJS.Signals | null];
  try {
    exit = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve([code, signal]));
    });
  } finally {
    clearTimeout(timer);
    current = undefined;
  }
  let peakRssKb = rss.stop();
  const warnings: string[] = [];
  const left = await reap(pgid);
  if (left.length)
    warnings.push(`${left.length} process(es) left running after the child exited (killed): ${left}`);
  await Promise.race([closed, sleep(1000)]);

  const result = resultLine(stdout);
  if (typeof result?.maxRssKb === 'number') peakRssKb = Math.max(peakRssKb, result.maxRssKb);
  if (result?.closeHung) warnings.push("the pool's shutdown had not settled 2 s after the work ended");
  const [code, signal] = exit;
  let error: string | undefined;
  if (timedOut) error = `timed out after ${timeoutMs / 1000} s (killed)`;
  else if (!result) {
    const why =
      code === 0 ? 'exited 0 without a result (pending work was dropped)' : `exited with ${code ?? signal}`;
    error = `${why}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
  } else if (code !== 0) warnings.push(`exited with ${code ?? signal} after reporting`);
  return {
    scenario: s.name,
    contender,
    ...(result && !timedOut && typeof result.ms === 'number' ? { ms: result.ms } : {}),
    peakRssKb,
    ...(result ? { child: result } : {}),
    ...(error ? { error } : {}),
    warnings,
  };
}

/** Python's own loop count for a ~4 ms task (Python is far slower per iteration). */
export async function calibratePython(targetMs: number): Promise<number> {
  const child = spawn('python3', [PY_SCRIPT, 'calibrate', String(targetMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const result = resultLine(out);
  if (typeof result?.iters !== 'number') throw new Error('python3 pool_bench.py calibrate printed no result');
  return result.iters;
}

/** The items in a random order: each round runs its contenders in an order of its own. */
export function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
