// poolifier: a FixedThreadPool of `processes` threads running bench/workers/poolifier.mjs's ThreadWorker.
import { fileURLToPath } from 'node:url';
import { FixedThreadPool } from 'poolifier';
import { peerRunner } from './peers.js';
import type { Contender } from './types.js';

const file = fileURLToPath(new URL('../workers/poolifier.mjs', import.meta.url));

export const contender: Contender = {
  create(processes) {
    const pool = new FixedThreadPool<unknown, unknown>(processes, file);
    return peerRunner(
      (name, arg) => pool.execute(arg, name),
      () => pool.destroy(),
      processes,
    );
  },
};
