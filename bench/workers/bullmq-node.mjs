// The Redis benchmark's baseline node: a hand-written BullMQ Worker that computes each job's chunk inline,
// as a program using BullMQ directly would (no pool, no encoding beyond BullMQ's own JSON).
//   node bench/workers/bullmq-node.mjs <redis url> <queue>
import { Worker } from 'bullmq';
import { double, spin } from './work.mjs';

const [url, queue] = process.argv.slice(2);
if (!url || !queue) throw new Error('Usage: node bullmq-node.mjs <redis url> <queue>');
const { hostname, port } = new URL(url);
const worker = new Worker(
  queue,
  async (job) => {
    const { work, items } = job.data;
    return work === 'spin' ? items.map(spin) : items.map(double);
  },
  {
    connection: { host: hostname, port: Number(port) },
    concurrency: 1,
    lockDuration: 30_000,
    stalledInterval: 30_000,
  },
);
worker.on('error', () => {});
await worker.waitUntilReady();
console.log(`bullmq baseline node ready on ${queue}`);
process.on('SIGTERM', () => {
  void worker.close().finally(() => process.exit(0));
});
