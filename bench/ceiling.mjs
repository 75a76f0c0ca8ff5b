// The machine's own ceiling for the CPU target, next to mpool, in one process (run `npm run build` first).
// Each round runs, in shuffled order: the 200 tasks serially on this thread; two bare worker threads given
// 100 tasks each in one message (no pool, no messages between tasks: as good as two threads can do); and
// mpool's applyAsync, as the bench submits them. It prints each one's median and its median distance from
// the bare threads of the same round, which cancels most of the machine's drift between rounds.
//   node bench/ceiling.mjs [iterations per task, default: calibrated to 4 ms] [rounds, default 15] [other]
// `other`: the folder of another built checkout of mpool (say a `git worktree` of an earlier commit, after
// `npm run build` there), run as a fourth contender for an interleaved A/B of a change.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Pool } from '../dist/index.js';
import { spin } from './workers/work.mjs';

const TASKS = 200;
const rounds = Number(process.argv[3] ?? 15);
let iters = Number(process.argv[2] ?? 0);
if (!iters) {
  iters = 100_000;
  for (let k = 0; k < 20; k++) spin(iters);
  const start = performance.now();
  for (let k = 0; k < 20; k++) spin(iters);
  iters = Math.round((iters * 4 * 20) / (performance.now() - start));
}

// The same function, sent as source text, as mpool sends an inline function to its workers.
const code = `const { parentPort } = require('node:worker_threads');
const spin = ${spin.toString()};
parentPort.on('message', ([count, n]) => {
  let out;
  for (let i = 0; i < count; i++) out = spin(n);
  parentPort.postMessage(out);
});`;
const bare = [0, 1].map(() => new Worker(code, { eval: true }));
const onBare = (worker, count) =>
  new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage([count, iters]);
  });
const pool = new Pool({ processes: 2 });
const otherDir = process.argv[4];
const other = otherDir
  ? new (await import(pathToFileURL(resolve(otherDir, 'dist/index.js')).href)).Pool({ processes: 2 })
  : null;

const runs = {
  serial: () => {
    for (let k = 0; k < TASKS; k++) spin(iters);
  },
  'bare threads': () => Promise.all(bare.map((w) => onBare(w, TASKS / 2))),
  mpool: () => Promise.all(Array.from({ length: TASKS }, () => pool.applyAsync(spin, [iters]))),
  ...(other && {
    other: () => Promise.all(Array.from({ length: TASKS }, () => other.applyAsync(spin, [iters]))),
  }),
};
// Warm every path, as the bench does, at a tenth of the size.
runs.serial();
await Promise.all(bare.map((w) => onBare(w, TASKS / 20)));
for (const p of [pool, other].filter(Boolean)) {
  await Promise.all(Array.from({ length: TASKS / 10 }, () => p.applyAsync(spin, [iters])));
}

const times = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const name of Object.keys(runs).sort(() => Math.random() - 0.5)) {
    const start = performance.now();
    await runs[name]();
    times[name].push(performance.now() - start);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const serial = median(times.serial);
console.log(`${TASKS} tasks of spin(${iters}), ${rounds} rounds, medians:`);
for (const [name, values] of Object.entries(times)) {
  const behind = median(values.map((v, i) => v - times['bare threads'][i]));
  console.log(
    `  ${name.padEnd(12)} ${median(values).toFixed(1).padStart(6)} ms  ${(serial / median(values)).toFixed(3)}×` +
      (name === 'serial' || name === 'bare threads'
        ? ''
        : `  ${behind.toFixed(1)} ms behind the bare threads`),
  );
}
await Promise.all(bare.map((w) => w.terminate()));
await pool.terminate();
await other?.terminate();
