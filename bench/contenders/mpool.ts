// mpool, in its default thread context and (as an extra row) its process context, from src/ under tsx or
// from the built dist/; 'baseline' is another built checkout (`--baseline DIR`), for a before/after in one run. The workloads travel as inline source text, as a user's `(x) => x * 2` would.
import { subscribe } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pool as PoolClass } from '../../src/index.js';
import { WORK } from '../workers/work.mjs';
import type { Contender } from './types.js';

const fn = (name: keyof typeof WORK) => WORK[name] as (x: unknown) => unknown;

/** Imports mpool (before any clock starts, as the peers' static imports are) and wraps it as a Contender. */
export async function mpool(
  context: 'thread' | 'process',
  build: 'src' | 'dist' | 'baseline',
  { observed = false, get = false }: { observed?: boolean; get?: boolean } = {},
): Promise<Contender> {
  // 'mpool-observed': a subscriber on each of the pool's diagnostics channels, as a tracer would have, so the
  // table names what observing costs (with no subscriber, the channels cost one property read per chunk).
  if (observed) {
    let seen = 0;
    const count = (): void => {
      seen++;
    };
    for (const name of ['mpool:chunk', 'mpool:worker', 'mpool:call']) subscribe(name, count);
    process.on('exit', () => {
      if (seen === 0) console.error('mpool-observed: no diagnostics message arrived');
    });
  }
  const baseline = process.env.MPOOL_BENCH_BASELINE;
  if (build === 'baseline' && !baseline) throw new Error('mpool-baseline needs --baseline DIR');
  const entry =
    build === 'baseline'
      ? pathToFileURL(join(baseline!, 'dist/index.js')).href
      : build === 'dist'
        ? '../../dist/index.js'
        : '../../src/index.js';
  const { Pool } = (await import(entry)) as { Pool: typeof PoolClass };
  return {
    create(processes) {
      const pool = new Pool({ processes, context });
      return {
        // 'mpool-get': Python's spelling, applyAsync(...).get(), beside awaiting the AsyncResult itself.
        apply: get
          ? (name, arg) => pool.applyAsync(fn(name), [arg]).get()
          : (name, arg) => pool.applyAsync(fn(name), [arg]),
        map: (name, items, chunksize) => pool.map(fn(name), items, chunksize),
        imap: (name, items, chunksize) => pool.imap(fn(name), items, { chunksize }),
        close: () => pool.terminate(),
      };
    },
  };
}
