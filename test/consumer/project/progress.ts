// A progress bar: drawn in a terminal, silent without one.
import { Pool } from 'mpool';
import { later } from './tasks.js';

const context = process.argv[2] === 'process' ? 'process' : 'thread';
const pool = new Pool({ processes: 2, context });
const results = await pool.map(
  later,
  Array.from({ length: 300 }, (_, i) => i),
  { chunksize: 1, progress: true },
);
pool.close();
await pool.join();
console.log(`done ${results.length} ${context}`);
