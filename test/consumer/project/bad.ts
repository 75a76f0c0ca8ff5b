// Must not compile: the call sites' types come from the task functions.
import { Pool } from 'mpool';
import { add } from './tasks.js';

const pool = new Pool();
await pool.map((x: number) => x * 2, ['not a number']);
await pool.starmap(add, [[1, 'two']]);
const wrong: string[] = await pool.map((x: number) => x * 2, [1]);
console.log(wrong);
