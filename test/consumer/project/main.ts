import * as mpool from 'mpool';
import { Pool } from 'mpool';
import { exercise } from './exercise.mjs';
import { scaled } from './needs-tsx.js';
import * as tasks from './tasks.js';

// Typed at the call site: number[] in, number[] out. The number of workers alone, as Python's Pool(1).
const pool = new Pool(1);
const doubled: number[] = await pool.map((x: number) => x * 2, [1, 2]);
const sums: number[] = await pool.starmap(tasks.add, [[1, 2]]);
pool.close();
await pool.join();
if (doubled[1] !== 4 || sums[0] !== 3) throw new Error(`typed calls gave ${doubled} and ${sums}`);

await exercise(mpool, { ...tasks, scaled });
