// mpool, in its default thread context and (as an extra row) its process context. The workloads travel as
// inline source text, as a user's `(x) => x * 2` would.
import type { Pool as PoolType } from '../../src/index.js';
import { WORK } from '../workers/work.mjs';
import type { Contender, Runner } from './types.js';

type Context = 'thread' | 'process';

// MPOOL_BENCH_DIST=1 measures the built package (npm run build) instead of the sources under tsx.
const entry = process.env.MPOOL_BENCH_DIST === '1' ? '../../dist/index.js' : '../../src/index.js';
// Imported before the clock starts, as the peers' static imports are.
const { Pool } = (await import(entry)) as { Pool: typeof PoolType };

function create(processes: number, context: Context): Runner {
  const pool = new Pool({ processes, context });
  const fn = (name: keyof typeof WORK) => WORK[name] as (x: unknown) => unknown;
  return {
    apply: (name, arg) => pool.applyAsync(fn(name), [arg]),
    map: (name, items, chunksize) => pool.map(fn(name), items, chunksize),
    imap: (name, items, chunksize) => pool.imap(fn(name), items, { chunksize }),
    close: () => pool.terminate(),
  };
}

export const thread: Contender = { create: (processes) => create(processes, 'thread') };
export const processContext: Contender = { create: (processes) => create(processes, 'process') };
