// The local executor: what it learns of each function's cost (on its own, below the Pool), and how it takes
// back chunks a thread worker has not started (through a Pool).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkJob, ChunkResult } from '../src/executor.js';
import { WorkerLostError } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { createExecutor } from '../src/runtime/index.js';
import { behave, busyIdentity } from './fixtures/tasks.js';
import { withPool } from './helpers.js';

// A chunk of `slow` runs about 8 ms; one of `fast`, microseconds.
const SLOW = '(x) => { const end = Date.now() + 8; while (Date.now() < end); return x; }';
const FAST = '(x) => x + 1';

describe('local executor', () => {
  it('credits what a chunk cost to its own function, not to the latest batch sent', async () => {
    const settled = new Map<number, () => void>();
    const executor = createExecutor(resolveOptions({ processes: 1 }), {
      settle: (id: number, result: ChunkResult) => {
        assert.ok(result.ok, 'every chunk succeeds');
        settled.get(id)?.();
      },
      fatal: (error: Error) => assert.fail(error),
    });
    let nextId = 1;
    const submit = (fnId: number, source: string): Promise<void> => {
      const id = nextId++;
      const job: ChunkJob = {
        id,
        fnId,
        fn: { kind: 'inline', source, name: '' },
        items: [id],
        star: false,
        base: 0,
        timeout: null,
        retries: 0,
        exclusive: false,
      };
      const done = new Promise<void>((resolve) => settled.set(id, resolve));
      executor.submit(job);
      return done;
    };
    try {
      // Enough reports of each, one at a time, that the executor prefetches both.
      for (let i = 0; i < 6; i++) await submit(1, SLOW);
      for (let i = 0; i < 6; i++) await submit(2, FAST);
      const fastBefore = executor.msPerItem?.(2);
      assert.ok(fastBefore !== undefined && fastBefore < 1, `fast measured at ${fastBefore} ms`);
      // Slow chunks, then fast ones: the fast batch is sent ahead while slow results are still to come.
      const all: Promise<void>[] = [];
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 4; i++) all.push(submit(1, SLOW));
        for (let i = 0; i < 20; i++) all.push(submit(2, FAST));
      }
      await Promise.all(all);
      const fast = executor.msPerItem?.(2);
      const slow = executor.msPerItem?.(1);
      assert.ok(slow !== undefined && slow >= 5, `slow measured at ${slow} ms`);
      assert.ok(fast !== undefined && fast < 1, `fast measured at ${fast} ms, charged for slow chunks`);
    } finally {
      await executor.terminate();
    }
  });

  it('a thread that runs dry takes over the unstarted chunks of one held up by a long chunk', async () => {
    await withPool({ processes: 2 }, async (pool) => {
      // Enough reports of 3 ms chunks that the pool sends them deep ahead, each worker its share at once.
      await pool.map(busyIdentity, Array(8).fill(3), 1);
      // Chunk 0 holds its worker for 1.5 s; the other worker runs the 40 short ones in well under that.
      const who = await pool.map(busyIdentity, [1500, ...Array(40).fill(3)], 1);
      const held = who[0];
      const behind = who.slice(1).filter((w) => w === held).length;
      assert.equal(behind, 0, `${behind} short chunks waited behind the long one on its worker`);
    });
  });

  it('breaking out of imap takes back the chunks its threads have not started, so they never run', async () => {
    await withPool({ processes: 2 }, async (pool) => {
      const counter = new Int32Array(new SharedArrayBuffer(4));
      const count = (arg: { counter: Int32Array; ms: number }): number => {
        const end = performance.now() + arg.ms;
        while (performance.now() < end);
        return Atomics.add(arg.counter, 0, 1);
      };
      const args = (n: number) => Array.from({ length: n }, () => ({ counter, ms: 3 }));
      await pool.map(count, args(8), 1);
      Atomics.store(counter, 0, 0);
      let seen = 0;
      for await (const _ of pool.imap(count, args(200), { chunksize: 1, buffersize: 200 })) {
        if (++seen === 2) break;
      }
      // Joining waits for whatever the workers still run: a chunk not taken back would run now.
      pool.close();
      await pool.join();
      const ran = Atomics.load(counter, 0);
      assert.ok(ran < 100, `${ran} of 200 chunks ran after the consumer left`);
    });
  });

  it('a thread lost to out of memory fails only the chunk it started; the ones it had not started run on', async () => {
    await withPool({ processes: 1, maxHeapMb: 64 }, async (pool) => {
      await pool.starmap(behave, Array(8).fill(['busy', 3]), 1);
      // The leak goes first, alone; the ten behind it go deep ahead to the same worker, which dies with them.
      const calls = [
        pool.apply(behave, ['leak']),
        ...Array.from({ length: 10 }, () => pool.apply(behave, ['busy', 3])),
      ];
      const [leak, ...rest] = await Promise.allSettled(calls);
      assert.ok(leak?.status === 'rejected' && leak.reason instanceof WorkerLostError, String(leak));
      assert.match((leak.reason as WorkerLostError).reason, /out of memory/);
      assert.deepEqual(
        rest.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))),
        Array(10).fill(3),
      );
    });
  });
});
