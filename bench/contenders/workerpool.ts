// workerpool: `processes` worker threads running bench/workers/workerpool.mjs.
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import { peerRunner } from './peers.js';
import type { Contender } from './types.js';

const script = fileURLToPath(new URL('../workers/workerpool.mjs', import.meta.url));

export const contender: Contender = {
  create(processes) {
    const pool = workerpool.pool(script, {
      minWorkers: processes,
      maxWorkers: processes,
      workerType: 'thread',
    });
    return peerRunner(
      (name, arg) => pool.exec(name, [arg]) as Promise<unknown>,
      async () => void (await pool.terminate()),
      processes,
    );
  },
};
