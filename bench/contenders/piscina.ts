// piscina: a fixed pool of `processes` threads running bench/workers/work.mjs's named exports.
import { Piscina } from 'piscina';
import { peerRunner } from './peers.js';
import type { Contender } from './types.js';

const filename = new URL('../workers/work.mjs', import.meta.url).href;

export const contender: Contender = {
  create(processes) {
    const pool = new Piscina({ filename, minThreads: processes, maxThreads: processes });
    return peerRunner(
      (name, arg) => pool.run(arg, { name }),
      () => pool.destroy(),
      processes,
    );
  },
};
