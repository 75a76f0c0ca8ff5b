// Submits to worker nodes over Redis: `submit.ts URL QUEUE`.
import { Pool } from 'mpool';
import { add, later } from './tasks.js';

const [url, queue] = process.argv.slice(2);
const pool = new Pool({ redis: url!, queue: queue!, processes: 2 });
const mapped = await pool.map(later, [1, 2, 3]);
const summed = await pool.starmap(add, [[1, 2]]);
pool.close();
await pool.join();
console.log(`remote ${JSON.stringify(mapped)} ${JSON.stringify(summed)}`);
