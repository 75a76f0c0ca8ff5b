// The calls layer on its own, over an executor that settles chunks only when the test says: each outcome
// reaches the call that made it, and the pool's end reaches every call still waiting, whatever settled before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Calls } from '../src/calls.js';
import type { ChunkJob, ChunkResult, Executor, ExecutorHooks } from '../src/executor.js';
import type { FnRef } from '../src/protocol.js';

const FN: FnRef = { kind: 'inline', source: '(x) => x', name: '' };

/** Calls over an executor that only keeps what it is given; `settle` settles one of those chunks. */
function harness(): {
  calls: Calls;
  jobs: ChunkJob[];
  cancelled: number[];
  settle: (job: ChunkJob, result: ChunkResult) => void;
} {
  const jobs: ChunkJob[] = [];
  const cancelled: number[] = [];
  let hooks!: ExecutorHooks;
  const executor: Executor = {
    size: 2,
    workers: 2,
    queued: 0,
    submit: (job) => {
      jobs.push(job);
    },
    cancel: (ids) => {
      cancelled.push(...ids);
    },
    close: () => Promise.resolve(),
    terminate: () => Promise.resolve(),
    stats: () => {
      throw new Error('not asked here');
    },
  };
  const calls = new Calls(
    0,
    { maxQueue: Number.POSITIVE_INFINITY, mergeable: false },
    (given) => {
      hooks = given;
      return executor;
    },
    (error) => assert.fail(error),
  );
  return { calls, jobs, cancelled, settle: (job, result) => hooks.settle(job, result) };
}

const apply = (calls: Calls, x: number) =>
  calls.apply({
    fnId: 1,
    fn: FN,
    args: [x],
    limits: { timeout: null, retries: 0 },
    signal: undefined,
    callbacks: undefined,
  });

describe('calls', () => {
  it("each chunk's outcome reaches the apply that made it, in any order", async () => {
    const { calls, jobs, settle } = harness();
    const results = [1, 2, 3].map((x) => apply(calls, x));
    assert.equal(jobs.length, 3);
    for (const i of [2, 0, 1]) settle(jobs[i]!, { ok: true, values: [jobs[i]!.items[0]] });
    // An apply's one chunk holds its tuple of arguments: each result is its own apply's.
    assert.deepEqual(await Promise.all(results), [[1], [2], [3]]);
    assert.equal(calls.busy, false);
  });

  it("the pool's end fails every apply still waiting, wherever it stands among those that settled", async () => {
    const { calls, jobs, settle } = harness();
    const results = Array.from({ length: 7 }, (_, x) => apply(calls, x));
    // Settled: the oldest, the newest and two between; waiting: 1, 3 and 4.
    for (const i of [0, 6, 2, 5]) settle(jobs[i]!, { ok: true, values: [i] });
    assert.equal(calls.busy, true);
    const end = new Error('the pool was terminated');
    calls.abortAll(end);
    const outcomes = await Promise.allSettled(results);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      [0, end.message, 2, end.message, end.message, 5, 6],
    );
    assert.equal(calls.busy, false);
    await calls.idle();
  });

  it('an outcome that comes for an apply already failed changes nothing', async () => {
    const { calls, jobs, cancelled, settle } = harness();
    const first = apply(calls, 1);
    const second = apply(calls, 2);
    calls.abortAll(new Error('ended'));
    await assert.rejects(first, /ended/);
    await assert.rejects(second, /ended/);
    assert.deepEqual(cancelled.sort(), jobs.map((job) => job.id).sort());
    // A late outcome neither settles it again nor counts it out of join() twice.
    settle(jobs[0]!, { ok: true, values: [1] });
    assert.equal(calls.busy, false);
    const third = apply(calls, 3);
    assert.equal(calls.busy, true);
    settle(jobs[2]!, { ok: true, values: [3] });
    assert.equal(await third, 3);
    assert.equal(calls.busy, false);
  });
});
