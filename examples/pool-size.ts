// Seed example 4: size the pool with cpuCount(), Python's multiprocessing.cpu_count().
import { cpuCount, Pool } from 'mpool';
import { runIfMain } from './run-main.js';

export async function main(): Promise<void> {
  const numProcesses = cpuCount();
  const pool = new Pool({ processes: numProcesses });
  const data = [1, 2, 3, 4, 5];
  const result = pool.mapAsync((x: number) => x * x, data);
  pool.close();
  await pool.join();
  console.log(`processes: ${pool.processes}`);
  console.log(await result.get());
}

await runIfMain(import.meta.url, main);
