// The workloads: sizes (full and --quick), which contenders run them, and one timed body shared by all
// Node contenders (Python's mirror these in python/pool_bench.py).
import type { Runner } from './contenders/types.js';
import { makeRecord } from './workers/work.mjs';

export interface Params {
  processes: number;
  n: number;
  chunksize: number;
  /** Busy-loop iterations for one ~4 ms task (cpu only): calibrated per language by run.ts. */
  iters: number;
}

export interface Timed {
  ms: number;
  /** Time the pool took to shut down (not part of `ms`). */
  closeMs: number;
  /** The pool's shutdown had not settled after CLOSE_LIMIT_MS (then the child goes on without it). */
  closeHung: boolean;
}

export type ScenarioName = 'tiny' | 'cpu' | 'cold' | 'script' | 'map' | 'objects' | 'imap';

export interface Scenario {
  name: ScenarioName;
  title: string;
  full: { n: number; chunksize: number };
  quick: { n: number; chunksize: number };
  contenders: readonly string[];
  /** What each contender calls, and the peers' equivalent where they lack the API (printed under the table). */
  note: string;
  /** Samples of each contender per round (default 1), for a scenario whose one sample is short and noisy. */
  samplesPerRound?: number;
  /** Measures once: creates the pool through `create`, times the work, always shuts the pool down. */
  body(create: () => Promise<Runner>, p: Params): Promise<Timed>;
}

const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier'] as const;
const MPOOL = ['mpool', 'mpool-process'] as const;
const CLOSE_LIMIT_MS = 2000;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`wrong result: ${what}`);
}

/**
 * Shuts the pool down, but waits no longer than CLOSE_LIMIT_MS: poolifier's destroy() sometimes never
 * settles once its workers are gone, and the child must still report. The timer also keeps this process
 * alive while it waits.
 */
async function shutdown(runner: Runner): Promise<Omit<Timed, 'ms'>> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    runner.close().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(resolve, CLOSE_LIMIT_MS, false))),
  ]);
  clearTimeout(timer);
  return { closeMs: performance.now() - start, closeHung: !closed };
}

/** Times `work` between two clock reads after `before`; shuts the pool down whatever happens. */
async function clocked(runner: Runner, before: () => Promise<unknown>, work: () => Promise<unknown>) {
  let ms: number;
  try {
    await before();
    const start = performance.now();
    await work();
    ms = performance.now() - start;
  } catch (error) {
    await shutdown(runner);
    throw error;
  }
  return { ms, ...(await shutdown(runner)) };
}

/** Prepares the input for `n` items (untimed) and returns the work to time on it. */
type Prepare = (n: number, p: Params) => (runner: Runner) => Promise<void>;

/**
 * A warm measurement: creates the pool, waits until every worker has answered, runs the work once at a tenth
 * of the size (the same calls, so every library's JIT and function cache are warm), then times it at full
 * size. Inputs are built before the clock starts.
 */
function warm(prepare: Prepare) {
  return async (create: () => Promise<Runner>, p: Params): Promise<Timed> => {
    const runner = await create();
    const warmup = prepare(Math.max(p.processes * 2, Math.ceil(p.n / 10)), p);
    const work = prepare(p.n, p);
    const ready = async (): Promise<void> => {
      await Promise.all(Array.from({ length: p.processes * 4 }, (_, i) => runner.apply('inc', i)));
      await warmup(runner);
    };
    return clocked(runner, ready, () => work(runner));
  };
}

/** Submits `n` tasks one by one, then awaits them all. */
async function oneByOne(runner: Runner, name: 'inc' | 'spin', n: number, arg: (i: number) => number) {
  const pending: PromiseLike<unknown>[] = [];
  for (let i = 0; i < n; i++) pending.push(runner.apply(name, arg(i)));
  return (await Promise.all(pending)) as number[];
}

function* naturals(): Generator<number> {
  for (let i = 0; ; i++) yield i;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'tiny',
    title: 'tiny tasks (x => x + 1), each submitted on its own',
    full: { n: 20_000, chunksize: 1 },
    quick: { n: 2_000, chunksize: 1 },
    contenders: [...MPOOL, 'mpool-get', 'mpool-observed', ...PEERS, 'python'],
    note:
      'mpool applyAsync (mpool-get: applyAsync(...).get(), as Python spells it), piscina/tinypool run, ' +
      'workerpool exec, poolifier execute, Python apply_async.',
    body: warm((n) => async (runner) => {
      const out = await oneByOne(runner, 'inc', n, (i) => i);
      check(out.reduce((a, b) => a + b, 0) === (n * (n + 1)) / 2, 'sum of x + 1');
    }),
  },
  {
    name: 'cpu',
    title: 'CPU-bound tasks of about 4 ms, each submitted on its own',
    full: { n: 200, chunksize: 1 },
    quick: { n: 40, chunksize: 1 },
    contenders: ['in-process', ...MPOOL, 'mpool-get', ...PEERS, 'python-in-process', 'python'],
    note: 'Submitted as in tiny. Speedup: against the same tasks run serially in-process (Python: in Python).',
    body: warm((n, p) => async (runner) => {
      const out = await oneByOne(runner, 'spin', n, () => p.iters);
      check(out.length === n && out.every((v) => v === out[0]), 'same spin result');
    }),
  },
  {
    name: 'cold',
    title: 'cold start: pool creation to first result',
    full: { n: 1, chunksize: 1 },
    quick: { n: 1, chunksize: 1 },
    contenders: ['mpool', 'mpool-src', 'mpool-process', ...PEERS, 'bare-threads', 'python'],
    // One sample is well under a second, and a start-up time can be bimodal (piscina's came out at either
    // about 25 or 33-39 ms in 20 samples): a median of 5 would hang on which mode 3 of them hit.
    samplesPerRound: 3,
    note:
      "apply(x => x + 1, [1]) on a new pool; the library's import is done before the clock starts. mpool " +
      'rows measure the built dist/, as users run it; mpool-src runs src/ under tsx, where each worker thread ' +
      'first registers tsx. bare-threads: as many bare worker_threads Workers, the floor.',
    async body(create) {
      const start = performance.now();
      const runner = await create();
      let ms = 0;
      const first = async (): Promise<void> => {
        check((await runner.apply('inc', 1)) === 2, 'first result');
        ms = performance.now() - start;
      };
      return { ...(await clocked(runner, async () => {}, first)), ms };
    },
  },
  {
    name: 'script',
    title: "the seed's script whole: new pool, build range(n), map x => x * 2, chunksize 1000, the results",
    full: { n: 1_000_000, chunksize: 1000 },
    quick: { n: 100_000, chunksize: 1000 },
    contenders: [...MPOOL, ...PEERS, 'python'],
    note:
      "As a user's script runs it, with nothing warm: the library's import is done before the clock starts, " +
      'then the pool is created, the input built and mapped, and the clock stops at the results (Python: ' +
      'Pool(), list(range(n)), map_async(...).get()). Peers: chunked as in map.',
    async body(create, p) {
      const start = performance.now();
      const runner = await create();
      let ms = 0;
      const script = async (): Promise<void> => {
        const items = Array.from({ length: p.n }, (_, i) => i);
        const out = await runner.map('double', items, p.chunksize);
        ms = performance.now() - start;
        check(out.length === p.n && out[p.n - 1] === 2 * (p.n - 1), 'x * 2');
      };
      return { ...(await clocked(runner, async () => {}, script)), ms };
    },
  },
  {
    name: 'map',
    title: "the seed's map: x => x * 2 over range(n), chunksize 1000",
    full: { n: 1_000_000, chunksize: 1000 },
    quick: { n: 100_000, chunksize: 1000 },
    contenders: ['in-process', ...MPOOL, 'mpool-observed', ...PEERS, 'python-in-process', 'python'],
    note:
      'mpool map; Python map_async(...).get(); in-process Array.prototype.map (Python: list(map(...))). ' +
      'Peers have no map: the list is sliced into chunks, all submitted at once, results joined in order.',
    body: warm((n, p) => {
      const items = Array.from({ length: n }, (_, i) => i);
      return async (runner) => {
        const out = await runner.map('double', items, p.chunksize);
        check(out.length === n && out[n - 1] === 2 * (n - 1), 'x * 2');
      };
    }),
  },
  {
    name: 'objects',
    title: 'map over large objects (~5 KB of nested fields each)',
    full: { n: 2_000, chunksize: 50 },
    quick: { n: 200, chunksize: 10 },
    contenders: ['in-process', 'structured-clone', ...MPOOL, 'mpool-observed', ...PEERS, 'python'],
    note:
      'Each record is summarised in the worker (mpool map, Python map); peers: chunked as in map. ' +
      'structured-clone: the floor, structuredClone of the records and of the summaries, the work in between.',
    body: warm((n, p) => {
      const records = Array.from({ length: n }, (_, i) => makeRecord(i));
      return async (runner) => {
        const out = (await runner.map('summarize', records, p.chunksize)) as { id: number }[];
        check(out.length === n && out[n - 1]?.id === n - 1, 'summaries in order');
      };
    }),
  },
  {
    name: 'imap',
    title: 'imap of x => x * 2 over an infinite generator, stopped after n results',
    full: { n: 200_000, chunksize: 1 },
    quick: { n: 20_000, chunksize: 1 },
    contenders: ['in-process', ...MPOOL, 'mpool-observed', ...PEERS, 'python'],
    note:
      'mpool imap (default buffersize) and Python imap, both chunksize 1; peers have no streaming API: a ' +
      'bounded in-flight loop keeps at most max(16, 4 × processes) tasks unread, yielded in order.',
    body: warm((n, p) => async (runner) => {
      let count = 0;
      let last: unknown;
      for await (last of runner.imap('double', naturals(), p.chunksize)) {
        if (++count === n) break;
      }
      check(last === 2 * (n - 1), 'last result');
    }),
  },
];

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found)
    throw new Error(`Unknown scenario "${name}". Known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}
