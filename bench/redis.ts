// Benchmark: the Redis runtime with 1 and 2 worker nodes, next to the local pool, on two workloads (the seed's
// 1M map and a CPU-bound map). Starts its own redis-server and nodes; runs contenders interleaved, prints medians.
//
//   npm run bench:redis -- [--rounds 3] [--quick] [--scenario map|map-auto|cpu|bullmq-map|bullmq-cpu]
//                          [--node-processes 1]
//
// bullmq-map and bullmq-cpu measure mpool against a hand-written BullMQ program doing the same chunking (one
// job per chunk added in bulk, Worker processes computing each chunk inline, results collected in order
// through QueueEvents) and print the ratio of their throughputs: medians of interleaved runs, each --rounds
// round running the 0.1 s map 10 times a side.
//
// This file is also the nodes' --tasks module: its tasks are below, and the benchmark itself only runs when
// this file is the program.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { Pool, task } from '../src/index.js';

/** The seed's map function. */
export const double = task(import.meta.url, (x: number) => x * 2);

/** A CPU-bound busy loop of about `n` iterations. */
export const spin = task(import.meta.url, (n: number) => {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i + acc)) % 1e9;
  return acc;
});

interface Contender {
  name: string;
  pool: Pool;
}

interface Scenario {
  name: 'map' | 'map-auto' | 'cpu';
  title: string;
  n: number;
  chunksize: number;
  run(pool: Pool, n: number, chunksize: number): Promise<void>;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`wrong result: ${what}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Iterations of spin() that take about `ms` here. */
function calibrate(ms: number): number {
  let n = 10_000;
  for (;;) {
    const start = performance.now();
    spin(n);
    const took = performance.now() - start;
    if (took > 20) return Math.max(1, Math.round((n * ms) / took));
    n *= 2;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      'node-processes': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const cores = availableParallelism();
  const nodeProcesses = Number(values['node-processes'] ?? Math.max(1, Math.floor(cores / 2)));
  const iters = calibrate(4);
  const all: Scenario[] = [
    {
      name: 'map',
      title: "the seed's map: x => x * 2 over range(n), chunksize 1000",
      n: values.quick ? 100_000 : 1_000_000,
      chunksize: 1000,
      async run(pool, n, chunksize) {
        const items = Array.from({ length: n }, (_, i) => i);
        const out = await pool.map(double, items, chunksize);
        check(out.length === n && out[n - 1] === 2 * (n - 1), 'x * 2');
      },
    },
    {
      name: 'map-auto',
      title: 'the same map with the default chunksize (len / (4 × processes))',
      n: values.quick ? 100_000 : 1_000_000,
      chunksize: 0,
      async run(pool, n) {
        const items = Array.from({ length: n }, (_, i) => i);
        const out = await pool.map(double, items);
        check(out.length === n && out[n - 1] === 2 * (n - 1), 'x * 2');
      },
    },
    {
      name: 'cpu',
      title: 'CPU-bound map: ~4 ms busy loop per item, chunksize 4',
      n: values.quick ? 40 : 200,
      chunksize: 4,
      async run(pool, n, chunksize) {
        const out = await pool.map(spin, Array(n).fill(iters), chunksize);
        check(out.length === n && out.every((v) => v === out[0]), 'same spin result');
      },
    },
  ];
  const scenarios = all.filter((s) => values.scenario === undefined || s.name === values.scenario);
  const ratios = againstBullmq(values.quick, calibrate(5)).filter(
    (s) => values.scenario === undefined || s.name === values.scenario,
  );
  if (scenarios.length + ratios.length === 0) throw new Error(`Unknown --scenario ${values.scenario}`);

  // Imported here so that the nodes, which load this file for its tasks, never touch the harness.
  const { RedisServer, startNode } = await import('../test/redis/fixtures/harness.js');
  const server = await RedisServer.start();
  const nodes: Awaited<ReturnType<typeof startNode>>[] = [];
  const contenders: Contender[] = [];
  try {
    const self = fileURLToPath(import.meta.url);
    const node = (queue: string) =>
      startNode({
        url: server.url,
        queue,
        processes: nodeProcesses,
        flags: ['--tasks', self, '--quiet', '--lock-duration', '30000', '--stalled-interval', '30000'],
      });
    if (scenarios.length > 0) nodes.push(...(await Promise.all([node('one'), node('two'), node('two')])));
    const slots = 2 * nodeProcesses;
    contenders.push(
      { name: `local pool (${slots} threads)`, pool: new Pool({ processes: slots }) },
      {
        name: `redis, 1 node × ${nodeProcesses}`,
        pool: new Pool({ redis: server.url, queue: 'one', processes: nodeProcesses }),
      },
      {
        name: `redis, 2 nodes × ${nodeProcesses}`,
        pool: new Pool({ redis: server.url, queue: 'two', processes: slots }),
      },
    );
    console.log(
      `mpool Redis benchmark: ${cores} cores, Node ${process.version}, ${rounds} round(s), medians; ` +
        `spin(${iters}) ≈ 4 ms; nodes run --processes ${nodeProcesses}\n`,
    );
    for (const ratio of ratios) await runAgainstBullmq(server.url, ratio, rounds);
    for (const scenario of scenarios) {
      // Warm every contender (JIT, task imports, QueueEvents) at a tenth of the size, untimed.
      for (const c of contenders) await scenario.run(c.pool, Math.ceil(scenario.n / 10), scenario.chunksize);
      const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const c of contenders) {
          const start = performance.now();
          await scenario.run(c.pool, scenario.n, scenario.chunksize);
          times.get(c.name)!.push(performance.now() - start);
        }
      }
      console.log(`${scenario.name}: ${scenario.title}, n = ${scenario.n.toLocaleString('en')}`);
      const base = median(times.get(contenders[0]!.name)!);
      for (const c of contenders) {
        const ms = median(times.get(c.name)!);
        const perSecond = Math.round((scenario.n / ms) * 1000).toLocaleString('en');
        console.log(
          `  ${c.name.padEnd(26)} ${ms.toFixed(0).padStart(7)} ms  ${perSecond.padStart(12)} items/s  ×${(base / ms).toFixed(2)} of local`,
        );
      }
      console.log('');
    }
  } finally {
    await Promise.all(contenders.map((c) => c.pool.terminate()));
    await Promise.all(nodes.map((n) => n.stop()));
    await server.stop();
  }
}

interface RatioScenario {
  name: 'bullmq-map' | 'bullmq-cpu';
  title: string;
  items: () => number[];
  chunksize: number;
  nodes: number;
  work: 'double' | 'spin';
  /** Timed runs of each side per round, alternating which goes first: a map of 0.1 s needs many to be steady. */
  repeat: number;
  check: (out: unknown[]) => boolean;
}

/** The scenarios of issue 17's target: mpool's throughput at least 0.9 of raw BullMQ's on each. */
function againstBullmq(quick: boolean, iters5ms: number): RatioScenario[] {
  const n = quick ? 20_000 : 200_000;
  const m = quick ? 200 : 2000;
  return [
    {
      name: 'bullmq-map',
      title: `x => x * 2 over ${n.toLocaleString('en')} numbers, chunksize 1000, 1 node × 1 process`,
      items: () => Array.from({ length: n }, (_, i) => i),
      chunksize: 1000,
      nodes: 1,
      work: 'double',
      repeat: 10,
      check: (out) => out.length === n && out[n - 1] === 2 * (n - 1),
    },
    {
      name: 'bullmq-cpu',
      title: `${m.toLocaleString('en')} CPU-bound items of ~5 ms, chunksize 20, 2 nodes × 1 process`,
      items: () => Array(m).fill(iters5ms),
      chunksize: 20,
      nodes: 2,
      work: 'spin',
      repeat: 1,
      check: (out) => out.length === m && out.every((v) => v === out[0]),
    },
  ];
}

/** A raw BullMQ node (bench/workers/bullmq-node.mjs), once it listens. */
async function startBullmqNode(url: string, queue: string) {
  const script = fileURLToPath(new URL('workers/bullmq-node.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, url, queue], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the BullMQ baseline node exited with ${code}: ${out}`)));
  });
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}

/** The baseline's map: one job per chunk, added in bulk; results from QueueEvents, put back in order. */
class BullmqMap {
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #waiting = new Map<string, (value: unknown[] | Error) => void>();
  #run = 0;

  constructor(url: string, queue: string) {
    const { hostname, port } = new URL(url);
    const connection = { host: hostname, port: Number(port) };
    this.#queue = new Queue(queue, { connection });
    this.#events = new QueueEvents(queue, { connection });
    this.#events.on('completed', ({ jobId, returnvalue }) => {
      const values = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
      this.#waiting.get(jobId)?.(values as unknown[]);
    });
    this.#events.on('failed', ({ jobId, failedReason }) =>
      this.#waiting.get(jobId)?.(new Error(failedReason)),
    );
  }

  ready(): Promise<unknown> {
    return Promise.all([this.#queue.waitUntilReady(), this.#events.waitUntilReady()]);
  }

  async map(work: string, items: number[], chunksize: number): Promise<unknown[]> {
    const run = ++this.#run;
    const jobs: Array<{ name: string; data: { work: string; items: number[] }; opts: object }> = [];
    const results: Array<Promise<unknown[]>> = [];
    for (let k = 0, at = 0; at < items.length; k++, at += chunksize) {
      const jobId = `${run}-${k}`;
      results.push(
        new Promise<unknown[]>((resolve, reject) => {
          this.#waiting.set(jobId, (value) => {
            this.#waiting.delete(jobId);
            if (value instanceof Error) reject(value);
            else resolve(value);
          });
        }),
      );
      const data = { work, items: items.slice(at, at + chunksize) };
      jobs.push({ name: 'chunk', data, opts: { jobId, removeOnComplete: true, removeOnFail: true } });
    }
    await this.#queue.addBulk(jobs);
    return (await Promise.all(results)).flat();
  }

  async close(): Promise<void> {
    await Promise.all([this.#events.close(), this.#queue.close()]);
  }
}

/** mpool and raw BullMQ, interleaved, on the same redis-server; prints both and the throughput ratio. */
async function runAgainstBullmq(url: string, scenario: RatioScenario, rounds: number): Promise<void> {
  const { startNode } = await import('../test/redis/fixtures/harness.js');
  const self = fileURLToPath(import.meta.url);
  const mpoolQueue = `mpool-${scenario.name}`;
  const bullQueue = `bullmq-${scenario.name}`;
  const flags = ['--tasks', self, '--quiet', '--lock-duration', '30000', '--stalled-interval', '30000'];
  const nodes = await Promise.all(
    Array.from({ length: scenario.nodes }, () => startNode({ url, queue: mpoolQueue, processes: 1, flags })),
  );
  const bullNodes = await Promise.all(
    Array.from({ length: scenario.nodes }, () => startBullmqNode(url, bullQueue)),
  );
  const pool = new Pool({ redis: url, queue: mpoolQueue, processes: scenario.nodes });
  const raw = new BullmqMap(url, bullQueue);
  try {
    await raw.ready();
    const fn = scenario.work === 'spin' ? spin : double;
    const sides = {
      mpool: (items: number[]) => pool.map(fn as (x: number) => number, items, scenario.chunksize),
      bullmq: (items: number[]) => raw.map(scenario.work, items, scenario.chunksize),
    };
    const times: Record<keyof typeof sides, number[]> = { mpool: [], bullmq: [] };
    const items = scenario.items();
    // Warm: the short map whole, three times (JIT, connections); the long one on a tenth of its items, and
    // at least two chunks a node, so that every node has loaded its task before the timed runs.
    const warm =
      scenario.repeat > 1
        ? items
        : items.slice(0, Math.max(Math.ceil(items.length / 10), 2 * scenario.nodes * scenario.chunksize));
    for (let k = 0; k < (scenario.repeat > 1 ? 3 : 1); k++) {
      for (const side of Object.values(sides)) await side(warm);
    }
    const runs = rounds * scenario.repeat;
    for (let run = 0; run < runs; run++) {
      const order = (run % 2 === 0 ? ['mpool', 'bullmq'] : ['bullmq', 'mpool']) as Array<keyof typeof sides>;
      for (const name of order) {
        const start = performance.now();
        const out = await sides[name](items);
        times[name].push(performance.now() - start);
        check(scenario.check(out), `${name} ${scenario.name}`);
      }
    }
    const mpoolMs = median(times.mpool);
    const bullMs = median(times.bullmq);
    const rate = (ms: number) => Math.round((items.length / ms) * 1000).toLocaleString('en');
    const spread = (ms: number[]) =>
      `${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} ms over ${ms.length} runs`;
    console.log(`${scenario.name}: ${scenario.title}`);
    console.log(
      `  ${'mpool'.padEnd(12)} ${mpoolMs.toFixed(0).padStart(7)} ms  ${rate(mpoolMs).padStart(10)} items/s  (${spread(times.mpool)})`,
    );
    console.log(
      `  ${'raw BullMQ'.padEnd(12)} ${bullMs.toFixed(0).padStart(7)} ms  ${rate(bullMs).padStart(10)} items/s  (${spread(times.bullmq)})`,
    );
    const ratio = bullMs / mpoolMs;
    console.log(
      `  ratio: mpool's throughput is ${ratio.toFixed(2)} of raw BullMQ's (target ≥ 0.90: ${ratio >= 0.9 ? 'PASS' : 'FAIL'})\n`,
    );
  } finally {
    await pool.terminate();
    await raw.close();
    await Promise.all([...nodes.map((n) => n.stop()), ...bullNodes.map((n) => n.stop())]);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
