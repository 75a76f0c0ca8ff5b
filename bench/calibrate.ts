// Calibrates the CPU-bound task to about 4 ms on this machine: Node's loop with tinybench (the one place a
// same-process micro-benchmark harness fits), Python's by pool_bench.py itself.
import { Bench } from 'tinybench';
import { spin } from './workers/work.mjs';

/** Iterations of spin() that take about `targetMs` here (median latency over a few hundred ms of runs). */
export async function calibrateNode(targetMs: number): Promise<number> {
  let n = 200_000;
  for (let pass = 0; pass < 3; pass++) {
    const bench = new Bench({ time: 250, warmupTime: 50 });
    bench.add('spin', () => {
      spin(n);
    });
    await bench.run();
    const result = bench.tasks[0]?.result;
    if (!result || !('latency' in result)) throw new Error(`tinybench could not time spin(${n})`);
    n = Math.max(1, Math.round((n * targetMs) / result.latency.p50));
  }
  return n;
}
