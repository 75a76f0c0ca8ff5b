// Seed example 2: a million items, doubled, with chunksize 1000.
import { Pool } from 'mpool';
import { runIfMain } from './run-main.js';

export async function main(): Promise<void> {
  const largeData = Array.from({ length: 1_000_000 }, (_, i) => i);
  const pool = new Pool();
  const result = pool.mapAsync((data: number) => data * 2, largeData, 1000);
  pool.close();
  await pool.join();
  const finalResult = await result.get();
  console.log(finalResult.length);
  console.log(`last value: ${finalResult.at(-1)}`);
}

await runIfMain(import.meta.url, main);
