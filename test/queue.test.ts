// Issue 16: a bounded queue. maxQueue refuses the submission past it with QueueFullError, maps and imaps wait
// for room instead, and ready() says when there is room.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool, PoolStateError, QueueFullError } from '../src/index.js';
import { CONTEXTS, sleep, withPool } from './helpers.js';

const nap = async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
};

for (const context of CONTEXTS) {
  describe(`maxQueue (${context})`, () => {
    it('refuses exactly the task past the limit, and serves the next one once there is room', {
      timeout: 30_000,
    }, async () => {
      await withPool({ processes: 2, maxQueue: 3, context }, async (pool) => {
        // Two tasks run (one per worker), three wait: the queue is full.
        const running = [pool.apply(nap, [1500]), pool.apply(nap, [1500])];
        const waiting = [1, 2, 3].map(() => pool.apply(nap, [10]));
        assert.equal(pool.queued, 3);
        const refused = await pool.apply(nap, [10]).catch((error: unknown) => error);
        assert.ok(refused instanceof QueueFullError, String(refused));
        assert.equal(refused.limit, 3);
        assert.equal(refused.length, 3);
        assert.match(
          refused.message,
          /3 task\(s\) wait for a worker, and its queue holds at most 3 \(`maxQueue`\)/,
        );
        // applyAsync says so through its result, and its errorCallback.
        const errors: unknown[] = [];
        const result = pool.applyAsync(nap, [10], { errorCallback: (e) => errors.push(e) });
        await assert.rejects(result.get(), QueueFullError);
        assert.equal(errors.length, 1);
        // ready() waits for room: not before a running task ends.
        let ready = false;
        const whenReady = pool.ready().then(() => {
          ready = true;
        });
        await sleep(300);
        assert.equal(ready, false, 'ready() resolved while the queue was full');
        await whenReady;
        assert.ok(pool.queued < 3);
        assert.deepEqual(await Promise.all([...running, ...waiting]), [1500, 1500, 10, 10, 10]);
        assert.equal(await pool.apply(nap, [1]), 1);
      });
    });

    it('map and imap wait for room instead of failing', { timeout: 30_000 }, async () => {
      await withPool({ processes: 2, maxQueue: 2, context }, async (pool) => {
        let most = 0;
        const xs = Array.from({ length: 30 }, (_, i) => i);
        const results = await pool.map(
          nap,
          xs.map(() => 20),
          {
            chunksize: 1,
            onProgress: () => {
              most = Math.max(most, pool.queued);
            },
          },
        );
        assert.equal(results.length, 30);
        assert.ok(most <= 2, `the queue held ${most}`);
        const streamed: number[] = [];
        for await (const value of pool.imap(nap, [5, 6, 7, 8, 9, 10])) {
          most = Math.max(most, pool.queued);
          streamed.push(value);
        }
        assert.deepEqual(streamed, [5, 6, 7, 8, 9, 10]);
        assert.ok(most <= 2, `the queue held ${most}`);
      });
    });
  });
}

describe('maxQueue', () => {
  it('without it, ready() resolves at once; a bad value is refused; ready() on an ended pool rejects', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      await pool.ready();
      assert.equal(pool.queued, 0);
    });
    assert.throws(
      () => new Pool({ maxQueue: -1 }),
      /Expected `maxQueue` to be an integer >= 0, got `-1` \(number\)/,
    );
    assert.throws(() => new Pool({ maxQueue: 'ten' as never }), TypeError);
    // maxQueue 0: a task runs only if a worker is free to take it at once.
    const pool = new Pool({ processes: 1, maxQueue: 0 });
    const first = pool.apply(nap, [500]);
    await assert.rejects(pool.apply(nap, [1]), QueueFullError);
    assert.equal(await first, 500);
    assert.equal(await pool.apply(nap, [1]), 1);
    await pool.terminate();
    await assert.rejects(pool.ready(), PoolStateError);
  });
});
