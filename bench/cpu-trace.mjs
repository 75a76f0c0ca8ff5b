// Where the CPU workload's time goes: 200 tasks of about 4 ms on the built pool (run `npm run build` first),
// each task stamping its own start and end. Per worker it prints the time spent in tasks, the gaps between
// them (and how much of that was in gaps over 0.1 ms), and the idle time at the start and the end; for each
// thread, CPU time and time spent runnable but waiting for a core (/proc schedstat, Linux only).
//   node bench/cpu-trace.mjs [iterations per task, default 170000] [rounds, default 3]
import { readdirSync, readFileSync } from 'node:fs';
import { Pool } from '../dist/index.js';
import { spin } from './workers/work.mjs';

const iters = Number(process.argv[2] ?? 170_000);
const rounds = Number(process.argv[3] ?? 3);
const N = 200;

// spin's loop, stamped. It travels to the workers as source text, so it cannot call spin itself.
const stamped = (n) => {
  const { performance } = globalThis;
  const start = performance.timeOrigin + performance.now();
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i + acc)) % 1e9;
  const end = performance.timeOrigin + performance.now();
  return [start, end, acc];
};

/** CPU and runqueue-wait ms of each thread of this process, by tid. */
function schedstat() {
  try {
    return Object.fromEntries(
      readdirSync('/proc/self/task').map((tid) => {
        const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        return [tid, { run: run / 1e6, wait: wait / 1e6 }];
      }),
    );
  } catch {
    return null;
  }
}

const now = () => performance.timeOrigin + performance.now();
for (let k = 0; k < 20; k++) spin(iters);
const t = performance.now();
for (let k = 0; k < N; k++) spin(iters);
const serial = performance.now() - t;
console.log(`serial: ${serial.toFixed(1)} ms for ${N} tasks (${(serial / N).toFixed(3)} ms each)`);

const pool = new Pool({ processes: 2 });
await Promise.all(Array.from({ length: 20 }, () => pool.applyAsync(stamped, [iters])));
for (let round = 0; round < rounds; round++) {
  const before = schedstat();
  const t0 = now();
  const out = await Promise.all(Array.from({ length: N }, () => pool.applyAsync(stamped, [iters])));
  const t1 = now();
  const after = schedstat();
  const wall = t1 - t0;
  console.log(`\nround ${round + 1}: wall ${wall.toFixed(1)} ms, speedup ${(serial / wall).toFixed(3)}×`);
  // Tasks are told apart by worker through overlap: two tasks of one worker never overlap.
  const lanes = [];
  for (const [start, end] of out.sort((a, b) => a[0] - b[0])) {
    const lane = lanes.find((l) => l.at(-1)[1] <= start);
    if (lane) lane.push([start, end]);
    else lanes.push([[start, end]]);
  }
  for (const lane of lanes) {
    const busy = lane.reduce((a, [s, e]) => a + e - s, 0);
    const gaps = lane.slice(1).map(([s], i) => s - lane[i][1]);
    const big = gaps.filter((g) => g > 0.1);
    console.log(
      `  worker: ${lane.length} tasks, ${busy.toFixed(1)} ms in tasks (${(busy / lane.length).toFixed(3)} each), ` +
        `gaps ${gaps.reduce((a, b) => a + b, 0).toFixed(1)} ms (${big.length} over 0.1 ms: ` +
        `${big.reduce((a, b) => a + b, 0).toFixed(1)} ms), idle at start ${(lane[0][0] - t0).toFixed(1)} ms, ` +
        `at end ${(t1 - lane.at(-1)[1]).toFixed(1)} ms`,
    );
  }
  if (before && after) {
    const rows = Object.keys(after)
      .map((tid) => {
        const a = before[tid] ?? { run: 0, wait: 0 };
        return { tid, run: after[tid].run - a.run, wait: after[tid].wait - a.wait };
      })
      .filter((r) => r.run > 0.5);
    const fmt = (r) =>
      `${r.tid === String(process.pid) ? 'pool thread' : `tid ${r.tid}`} ${r.run.toFixed(1)}/${r.wait.toFixed(1)}`;
    console.log(`  threads, CPU/waiting ms: ${rows.map(fmt).join(', ')}`);
  }
}
await pool.terminate();
