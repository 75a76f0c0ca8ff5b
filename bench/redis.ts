// Benchmark: the Redis runtime with 1 and 2 worker nodes, next to the local pool, on two workloads (the seed's
// 1M map and a CPU-bound map). Starts its own redis-server and nodes; runs contenders interleaved, prints medians.
//
//   npm run bench:redis -- [--rounds 3] [--quick] [--scenario map|map-auto|cpu] [--node-processes 1]
//
// This file is also the nodes' --tasks module: its tasks are below, and the benchmark itself only runs when
// this file is the program.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
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
    nodes.push(...(await Promise.all([node('one'), node('two'), node('two')])));
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
