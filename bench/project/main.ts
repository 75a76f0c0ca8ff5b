// One whole script, as a user runs it: start a pool whose initializer and task come from a TypeScript module,
// map, close, join, exit. bench/typescript.ts times it from spawn to exit, under tsx and compiled.
import { Pool } from 'mpool';
import { scaled, setup } from './tasks.js';

const context = process.argv[2] === 'process' ? 'process' : 'thread';
const processes = Number(process.argv[3] ?? 2);
const pool = new Pool({ processes, context, initializer: setup, initargs: [3] });
const items = Array.from({ length: 4 * processes }, (_, i) => i);
const out = await pool.map(scaled, items, 1);
pool.close();
await pool.join();
if (out.join() !== items.map((x) => x * 3).join()) throw new Error(`wrong results: ${out.join()}`);
