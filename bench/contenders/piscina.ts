// piscina: a fixed pool of `processes` threads running bench/workers/work.mjs's named exports.
import { Piscina } from 'piscina';
import { peerRunner } from './peers.js';
import type { Contender } from './types.js';

const filename = new URL('../workers/work.mjs', import.meta.url).href;

export const contender: Contender = {
  create(processes) {
    const pool = new Piscina({ filename, minThreads: processes, maxThreads: processes });
    let destroying = false;
    // destroy() with tasks in flight (imap stopped early) makes piscina emit 'error' for each late reply
    // ("Unexpected message from Worker"); with no listener that would crash the process.
    pool.on('error', (error: unknown) => {
      if (!destroying) throw error;
    });
    const destroy = (): Promise<void> => {
      destroying = true;
      return pool.destroy();
    };
    return peerRunner((name, arg) => pool.run(arg, { name }), destroy, processes);
  },
};
