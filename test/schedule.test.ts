// The scheduling policy on its own: batch sizes, deep prefetch for slow chunks, and when to prefetch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergedChunksize } from '../src/chunks.js';
import type { ChunkJob } from '../src/executor.js';
import { batchRoom, ChunkCosts, canPrefetch, holdsResults } from '../src/runtime/schedule.js';
import { NEW_RECORD } from './helpers.js';

const job = (fnId: number, exclusive = false): ChunkJob => ({
  id: 1,
  call: 0,
  ...NEW_RECORD,
  fnId,
  fn: { kind: 'inline', source: '(x) => x', name: '' },
  items: [1],
  star: false,
  base: 0,
  timeout: null,
  retries: 0,
  exclusive,
});

/** Costs after `reports` reports of chunks of one item that took `perChunk` ms as the pool saw them and `ran` in the worker. */
function costs(perChunk: number, ran: number, reports = 4): ChunkCosts {
  const c = new ChunkCosts();
  for (let i = 0; i < reports; i++) c.learn(1, perChunk, 1, ran, { items: 1, ms: ran });
  return c;
}

describe('schedule', () => {
  it('batchRoom: one chunk before any estimate, about 2 ms of work after, a fair share at most', () => {
    assert.deepEqual(batchRoom(new ChunkCosts(), job(1), 1000, 2, false), { room: 1, deep: false });
    assert.deepEqual(batchRoom(costs(0.01, 0.005), job(1), 1000, 2, false), { room: 200, deep: false });
    assert.deepEqual(batchRoom(costs(0.01, 0.005), job(1), 100, 2, false), { room: 50, deep: false });
    assert.deepEqual(batchRoom(costs(0.0001, 0.0001), job(1), 1e6, 2, false), { room: 1024, deep: false });
  });

  it('batchRoom: a prefetched batch of slow chunks goes about 48 ms deep, shrinking near the end', () => {
    // 4 ms chunks: a plain batch is one chunk; a prefetched one, 12 (48 ms), marked deep.
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 200, 2, false), { room: 1, deep: false });
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 200, 2, true), { room: 12, deep: true });
    // Near the end of the queue: at most a quarter of a worker's share of what is left.
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 40, 2, true), { room: 5, deep: true });
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 20, 2, true), { room: 2, deep: true });
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 3, 2, true), { room: 1, deep: true });
    // Slow as the pool sees them, but quick to run (copying dominates): no deep prefetch.
    assert.deepEqual(batchRoom(costs(4, 0.2), job(1), 200, 2, true), { room: 1, deep: false });
  });

  it('batchRoom: a thread, whose unstarted chunks can be taken back, gets up to 200 ms of slow chunks', () => {
    // Its fair share, when that is under 200 ms of work.
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 80, 2, true, true), { room: 40, deep: true });
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 3, 2, true, true), { room: 2, deep: true });
    // 200 ms of work, counted in the larger of run time and the pool's time per chunk (copying included).
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 1e5, 2, true, true), { room: 50, deep: true });
    assert.deepEqual(batchRoom(costs(8, 5), job(1), 1e5, 2, true, true), { room: 25, deep: true });
    assert.deepEqual(batchRoom(costs(1, 1), job(1), 1e5, 2, true, true), { room: 200, deep: true });
    // Not prefetched, or not slow: as for any worker.
    assert.deepEqual(batchRoom(costs(4, 4), job(1), 200, 2, false, true), { room: 1, deep: false });
    assert.deepEqual(batchRoom(costs(4, 0.2), job(1), 200, 2, true, true), { room: 1, deep: false });
  });

  it('batchRoom: chunks that cost mostly copying (large objects) never go deep, even to a thread', () => {
    // 1.2 ms in the worker, 3 ms as the pool sees them: the rest is writing and reading their arguments.
    assert.equal(holdsResults(costs(3, 1.2), 1), false);
    assert.deepEqual(batchRoom(costs(3, 1.2), job(1), 40, 2, true, true), { room: 1, deep: false });
    // The same run time with little copying goes deep, as slow chunks do.
    assert.equal(holdsResults(costs(1.5, 1.2), 1), true);
    assert.equal(batchRoom(costs(1.5, 1.2), job(1), 40, 2, true, true).deep, true);
  });

  it('canPrefetch: short, untimed chunks with a steady estimate, behind a worker on time', () => {
    const slot = { batches: [{ owed: 1 }], timed: false, lastAt: 1000, lastFn: 1 };
    const c = costs(2, 2);
    assert.equal(canPrefetch(c, slot, job(1), 2, 1001), true);
    assert.equal(canPrefetch(new ChunkCosts(), slot, job(1), 2, 1001), false, 'no estimate yet');
    assert.equal(canPrefetch(costs(2, 2, 3), slot, job(1), 2, 1001), false, 'too few reports');
    assert.equal(canPrefetch(costs(25, 25), slot, job(1), 2, 1001), false, 'a long chunk');
    assert.equal(canPrefetch(c, { ...slot, timed: true }, job(1), 2, 1001), false, 'behind a timeout');
    assert.equal(canPrefetch(c, slot, job(1, true), 2, 1001), false, 'an exclusive chunk');
    assert.equal(
      canPrefetch(c, { ...slot, batches: [{ owed: 1 }, { owed: 1 }] }, job(1), 2, 1001),
      false,
      'one ahead already',
    );
    assert.equal(canPrefetch(c, slot, job(1), 2, 1004), false, 'running late: 4 ms on a 2 ms chunk');
    // Unless what is queued behind it can be taken back: then lateness strands nothing.
    assert.equal(canPrefetch(c, slot, job(1), 2, 1004, true), true, 'late, but robbable');
    assert.equal(canPrefetch(c, { ...slot, timed: true }, job(1), 2, 1001, true), false, 'robbable, timed');
  });

  it('msPerItem: good news at once, bad news by its items, so one held-up chunk barely moves it', () => {
    const c = new ChunkCosts();
    assert.equal(c.msPerItem(1), undefined, 'nothing measured yet');
    c.learn(1, 1, 1, 0, { items: 0, ms: 0 });
    assert.equal(c.msPerItem(1), undefined, 'a report that tells no items');
    // Before V8 has optimized it, x * 2 costs more; once it has, the estimate believes the good news at once.
    c.learn(1, 1, 1, 0.05, { items: 20, ms: 0.05 });
    assert.equal(c.msPerItem(1), 0.0025);
    // 100 reports of 40 chunks of 20 items, 0.2 us each: 0.16 ms a report.
    for (let i = 0; i < 100; i++) c.learn(1, 0.2, 40, 0.16, { items: 800, ms: 0.16 });
    assert.ok(Math.abs(c.msPerItem(1)! - 0.0002) < 1e-9);
    // One chunk alone, preempted for 6 ms: 15 times the work of all the others, yet a fraction of the window.
    c.learn(1, 6, 1, 6, { items: 20, ms: 6 });
    const after = c.msPerItem(1)!;
    assert.ok(after < 0.0002 * 2, `${after} ms per item after a 6 ms hold-up`);
    assert.ok(mergedChunksize(20, 200_000, 2, after) > 20, 'its chunks still merge');
    // A function whose items grow dearer: what they ran outweighs the cheap items' count within a few
    // half-lives of run time, and its chunks no longer merge.
    for (let i = 0; i < 40; i++) c.learn(1, 10, 1, 10, { items: 20, ms: 10 });
    const dearer = c.msPerItem(1)!;
    assert.ok(dearer > 0.1, `${dearer} ms per item, after 400 ms of items of 0.5 ms`);
    assert.equal(mergedChunksize(20, 200_000, 2, dearer), 20);
  });
});
