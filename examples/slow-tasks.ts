// Seed example 3: five 1-second tasks in parallel. The wall time is ceil(5 / workers) seconds, because each
// worker runs one task at a time, as in Python; an async sleep does not change that, a bigger pool does.
import { cpuCount, Pool } from 'mpool';
import { runIfMain } from './run-main.js';
import { asyncTask, blockingTask } from './tasks.js';

async function timed(
  label: string,
  processes: number,
  fn: (num: number) => number | Promise<number>,
): Promise<void> {
  const tasks = [1, 2, 3, 4, 5];
  const start = performance.now();
  const pool = new Pool({ processes });
  const result = pool.mapAsync(fn, tasks);
  pool.close();
  await pool.join();
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `${label}, ${processes} workers: ${JSON.stringify(await result.get())} in ${seconds.toFixed(1)} s`,
  );
}

export async function main(): Promise<void> {
  const cpus = cpuCount();
  console.log(`expected wall time: ceil(5 / workers) s; this machine has ${cpus} CPUs`);
  await timed('blocking sleep', cpus, blockingTask);
  await timed('async sleep', cpus, asyncTask);
  await timed('blocking sleep', 5, blockingTask);
  await timed('async sleep', 5, asyncTask);
}

await runIfMain(import.meta.url, main);
