// The machine's own ceiling for the CPU target: two bare worker threads spinning, no pool at all.
// `node bench/ceiling.mjs` prints the speedup of 2 × 100 tasks of ~4 ms over 200 run serially.
import { Worker } from 'node:worker_threads';

const code = `const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', (n) => {
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < workerData; j++) sum += (j * j) % 7;
  parentPort.postMessage(sum);
});`;

let iterations = 1e6;
{
  const start = performance.now();
  let sum = 0;
  for (let j = 0; j < iterations; j++) sum += (j * j) % 7;
  iterations = Math.round((iterations * 4) / (performance.now() - start) + sum * 0);
}
const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: iterations }));
await new Promise((resolve) => setTimeout(resolve, 300));
for (let round = 0; round < 5; round++) {
  let start = performance.now();
  let sum = 0;
  for (let i = 0; i < 200; i++) for (let j = 0; j < iterations; j++) sum += (j * j) % 7;
  const serial = performance.now() - start;
  start = performance.now();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          w.once('message', resolve);
          w.postMessage(100);
        }),
    ),
  );
  const parallel = performance.now() - start;
  console.log(
    `serial ${serial.toFixed(0)} ms, two threads ${parallel.toFixed(0)} ms: ${(serial / parallel).toFixed(2)}× (${sum > 0})`,
  );
}
for (const w of workers) await w.terminate();
