// The floor for a pool of threads: `processes` bare worker_threads Workers (bench/workers/bare.mjs), tasks
// handed round-robin, one message each way. What a pool can add nothing to; a pool's start-up is judged
// against it.
import { Worker } from 'node:worker_threads';
import { peerRunner, type Run } from './peers.js';
import type { Contender } from './types.js';

const script = new URL('../workers/bare.mjs', import.meta.url);

export const contender: Contender = {
  create(processes) {
    const workers = Array.from({ length: processes }, () => new Worker(script));
    const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
    let next = 0;
    for (const worker of workers) {
      worker.on('message', ({ id, value }: { id: number; value: unknown }) => {
        pending.get(id)?.resolve(value);
        pending.delete(id);
      });
      // A bare worker that fails takes every waiting task with it: the measurement fails instead of hanging.
      worker.on('error', (error) => {
        for (const waiter of pending.values()) waiter.reject(error);
        pending.clear();
      });
    }
    const run: Run = (name, arg) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        workers[id % processes]!.postMessage({ id, name, arg });
      });
    const close = async (): Promise<void> => {
      await Promise.all(workers.map((worker) => worker.terminate()));
    };
    return peerRunner(run, close, processes);
  },
};
