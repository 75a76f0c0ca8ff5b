// One measurement in its own process (started through child.mjs): one contender, one scenario. Prints a
// marked JSON line for run.ts, then must exit by itself; a pool that keeps the process alive is reported.
import type { Contender } from './contenders/types.js';
import { MARK } from './machine.js';
import { type Params, scenario } from './scenarios.js';

const CONTENDERS: Record<string, () => Promise<Contender>> = {
  mpool: async () => (await import('./contenders/mpool.js')).mpool('thread', 'dist'),
  'mpool-src': async () => (await import('./contenders/mpool.js')).mpool('thread', 'src'),
  'mpool-process': async () => (await import('./contenders/mpool.js')).mpool('process', 'dist'),
  'mpool-observed': async () =>
    (await import('./contenders/mpool.js')).mpool('thread', 'dist', { observed: true }),
  'mpool-get': async () => (await import('./contenders/mpool.js')).mpool('thread', 'dist', { get: true }),
  'mpool-baseline': async () => (await import('./contenders/mpool.js')).mpool('thread', 'baseline'),
  piscina: async () => (await import('./contenders/piscina.js')).contender,
  tinypool: async () => (await import('./contenders/tinypool.js')).contender,
  workerpool: async () => (await import('./contenders/workerpool.js')).contender,
  poolifier: async () => (await import('./contenders/poolifier.js')).contender,
  'in-process': async () => (await import('./contenders/in-process.js')).contender,
  'bare-threads': async () => (await import('./contenders/bare.js')).contender,
  'structured-clone': async () => (await import('./contenders/clone.js')).contender,
};

export const NODE_CONTENDERS = Object.keys(CONTENDERS);

/** Runs one measurement; child.mjs calls it with the command line (contender, scenario, params JSON). */
export async function main(argv: string[]): Promise<void> {
  const [id = '', name = '', json = '{}'] = argv;
  const load = CONTENDERS[id];
  if (!load) throw new Error(`Unknown contender "${id}". Known: ${NODE_CONTENDERS.join(', ')}`);
  const params = JSON.parse(json) as Params;
  const importStart = performance.now();
  const contender = await load();
  const importMs = performance.now() - importStart;
  const timed = await scenario(name).body(async () => contender.create(params.processes), params);
  const maxRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(`${MARK}${JSON.stringify({ ...timed, importMs, maxRssKb })}\n`);
}
