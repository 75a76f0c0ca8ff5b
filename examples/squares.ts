// Seed example 1: map_async with return values.
//   result = pool.map_async(square, [1, 2, 3, 4, 5]); pool.close(); pool.join(); print(result.get())
import { Pool } from 'mpool';
import { runIfMain } from './run-main.js';

export async function main(): Promise<void> {
  const numbers = [1, 2, 3, 4, 5];
  const pool = new Pool();
  const result = pool.mapAsync((x: number) => x * x, numbers);
  pool.close();
  await pool.join();
  console.log(await result.get());
}

await runIfMain(import.meta.url, main);
