// The local executor: what it learns of each function's cost (on its own, below the Pool), and how it takes
// back chunks a thread worker has not started (through a Pool).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkJob, ChunkResult } from '../src/executor.js';
import { transfer, WorkerLostError } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import type { WorkerHandle } from '../src/runtime/handle.js';
import { createExecutor } from '../src/runtime/index.js';
import { LocalExecutor, type WorkerEvents } from '../src/runtime/local.js';
import { spawnThread } from '../src/runtime/thread.js';
import { decodeChunks, encodeOutcomes } from '../src/wire/codec.js';
import { behave, busyIdentity } from './fixtures/tasks.js';
import { NEW_RECORD, withPool, workersUp } from './helpers.js';

// A chunk of `slow` runs about 8 ms; one of `fast`, microseconds.
const SLOW = '(x) => { const end = Date.now() + 8; while (Date.now() < end); return x; }';
const FAST = '(x) => x + 1';

/** A chunk of one item, its own id, for the inline function `source`. */
const inlineJob = (id: number, fnId: number, source: string): ChunkJob => ({
  id,
  call: 0,
  ...NEW_RECORD,
  fnId,
  fn: { kind: 'inline', source, name: '' },
  items: [id],
  star: false,
  base: 0,
  timeout: null,
  retries: 0,
  exclusive: false,
});

describe('local executor', () => {
  it('credits what a chunk cost to its own function, not to the latest batch sent', async () => {
    const settled = new Map<number, () => void>();
    const executor = createExecutor(resolveOptions({ processes: 1 }), {
      pool: 0,
      settle: (job: ChunkJob, result: ChunkResult) => {
        assert.ok(result.ok, 'every chunk succeeds');
        settled.get(job.id)?.();
      },
      fatal: (error: Error) => assert.fail(error),
    });
    let nextId = 1;
    const submit = (fnId: number, source: string): Promise<void> => {
      const id = nextId++;
      const done = new Promise<void>((resolve) => settled.set(id, resolve));
      executor.submit(inlineJob(id, fnId, source));
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

  it('chunks whose buffers were moved with transfer() are never taken back from their worker', {
    timeout: 30_000,
  }, async () => {
    await withPool({ processes: 2 }, async (pool) => {
      const sizeAfter = (ms: number, bytes: Uint8Array): number => {
        const end = performance.now() + ms;
        while (performance.now() < end);
        return bytes.byteLength;
      };
      const call = (ms: number) => {
        const bytes = new Uint8Array(8);
        return pool.applyAsync(sizeAfter, [ms, transfer(bytes, [bytes.buffer])]);
      };
      await Promise.all(Array.from({ length: 8 }, () => call(3)));
      // As in the test above, one long chunk and forty short ones behind it: moved buffers cannot be sent
      // to the idle worker a second time, so every chunk must still see its 8 bytes.
      const sizes = await Promise.all([call(300), ...Array.from({ length: 40 }, () => call(3))]);
      assert.deepEqual(sizes, Array(41).fill(8));
    });
  });

  it('a chunk whose moved buffers were lost with its thread fails with WorkerLostError instead of hanging', {
    timeout: 30_000,
  }, async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const task = (what: string, bytes: Uint8Array): number => {
        if (what === 'exit') process.exit(3);
        return bytes.byteLength;
      };
      const call = (what: string) => {
        const bytes = new Uint8Array(8);
        return pool.applyAsync(task, [what, transfer(bytes, [bytes.buffer])]);
      };
      // Quick calls first, so the next two go in one batch: the first ends the thread, the second had not
      // started, but its buffer went with the thread.
      await Promise.all(Array.from({ length: 16 }, () => call('ok')));
      const [exited, behind] = await Promise.allSettled([call('exit'), call('ok')]);
      assert.ok(exited.status === 'rejected' && exited.reason instanceof WorkerLostError, String(exited));
      assert.ok(behind.status === 'rejected' && behind.reason instanceof WorkerLostError, String(behind));
      assert.match((behind.reason as WorkerLostError).reason, /transfer\(\)/);
      // The pool goes on.
      assert.equal(await call('ok'), 8);
    });
  });

  it('a thread lost to out of memory: of the chunks it had not started, only those that moved buffers fail', async () => {
    await withPool({ processes: 1, maxHeapMb: 64 }, async (pool) => {
      await pool.starmap(behave, Array(8).fill(['busy', 3]), 1);
      const bytes = new Uint8Array(8);
      // One batch: the leak, a plain chunk, and one whose buffer moves with it to the thread.
      const [leak, plain, moved] = await Promise.allSettled([
        pool.apply(behave, ['leak']),
        pool.apply(behave, ['busy', 3]),
        pool.apply(behave, ['ok', transfer(bytes, [bytes.buffer])]),
      ]);
      assert.ok(leak.status === 'rejected' && leak.reason instanceof WorkerLostError, String(leak));
      assert.deepEqual(plain, { status: 'fulfilled', value: 3 });
      assert.ok(moved.status === 'rejected' && moved.reason instanceof WorkerLostError, String(moved));
    });
  });

  it('threads reuse their claim cells many times over, taking chunks back from each other: each runs once', {
    timeout: 60_000,
  }, async () => {
    await withPool({ processes: 2 }, async (pool) => {
      // Four times as many one-item chunks as a thread has claim cells, each counted where it runs. One in 40
      // runs 3 ms, the rest microseconds: batches sent ahead to a thread stuck on a slow one are taken back by
      // the other, and the cells of those it took back wait until their thread has passed them.
      const n = 4 * 1024 * 2;
      const runs = new Int32Array(new SharedArrayBuffer(4 * n));
      const task = (arg: { runs: Int32Array; i: number }): number => {
        Atomics.add(arg.runs, arg.i, 1);
        if (arg.i % 40 === 0) {
          const end = performance.now() + 3;
          while (performance.now() < end);
        }
        return arg.i * 2;
      };
      const args = Array.from({ length: n }, (_, i) => ({ runs, i }));
      let k = 0;
      for await (const value of pool.imap(task, args, { chunksize: 1, buffersize: 256 })) {
        assert.equal(value, k * 2, `result ${k}`);
        k++;
      }
      assert.equal(k, n);
      const once = (): number[] => [...runs.keys()].filter((i) => runs[i] !== 1);
      assert.deepEqual(once(), [], 'every chunk of the imap ran exactly once');
      // A cancelled call between them: its cells, taken back or not, are given out again after it.
      const cancelled = new AbortController();
      const doomed = pool.mapAsync(task, args.slice(0, 512), { chunksize: 1, signal: cancelled.signal });
      cancelled.abort();
      await assert.rejects(doomed);
      runs.fill(0);
      assert.deepEqual(
        await pool.map(task, args, 1),
        Array.from({ length: n }, (_, i) => i * 2),
      );
      assert.deepEqual(once(), [], 'every chunk of the map ran exactly once');
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

  it("a child process that a task's timer ends between two chunks fails none of the chunks it had not started", async () => {
    await withPool({ processes: 1, context: 'process' }, async (pool) => {
      const task = (arg: { ms: number; exit: boolean }): number => {
        if (arg.exit) setTimeout(() => process.exit(7), 0);
        const end = performance.now() + arg.ms;
        while (performance.now() < end);
        return arg.ms;
      };
      // Instant chunks first, so the next six go in one batch; at 30 ms each, the worker lets its event loop
      // turn after the second, and the timer set by the first ends it there, with four chunks not started.
      await pool.map(
        task,
        Array.from({ length: 16 }, () => ({ ms: 0, exit: false })),
        1,
      );
      const args = Array.from({ length: 6 }, (_, i) => ({ ms: 30, exit: i === 0 }));
      assert.deepEqual(await pool.map(task, args, 1), Array(6).fill(30));
    });
  });
  it('a chunk that never reached a process that went runs elsewhere', { timeout: 10_000 }, async () => {
    let goes: (() => void) | undefined;
    const spawn = (id: number, events: WorkerEvents): WorkerHandle => {
      let batches = 0;
      let gone = false;
      const exit = (code: number | null, signal: string | null, reason: string): void => {
        if (gone) return;
        gone = true;
        events.exit({ exitCode: code, signal, kind: signal ? 'signal' : 'exit', reason });
      };
      const reply = (ids: number[], values: number[]): void =>
        events.message({
          type: 'results',
          batch: encodeOutcomes(
            ids.map((chunk, i) => ({ id: chunk, ok: true, values: [values[i]] })),
            [],
          ),
        });
      return {
        sharesMemory: false,
        readsAnyDepth: true,
        pid: 1000 + id,
        keepAlive: () => {},
        kill: () => queueMicrotask(() => exit(null, 'SIGTERM', 'the worker process was killed by SIGTERM')),
        send: (message) => {
          if (message.type === 'init') queueMicrotask(() => events.message({ type: 'ready' }));
          if (message.type !== 'run') return;
          const chunks: Array<{ id: number; item: number }> = [];
          decodeChunks(message.batch, (chunk) =>
            chunks.push({ id: chunk.id, item: chunk.items[0] as number }),
          );
          if (id > 1) {
            queueMicrotask(() =>
              reply(
                chunks.map((c) => c.id),
                chunks.map((c) => c.item + 1),
              ),
            );
            return;
          }
          // The first worker: its first batch runs; the second stays in the channel.
          if (++batches === 1) {
            queueMicrotask(() =>
              reply(
                chunks.map((c) => c.id),
                chunks.map((c) => c.item + 1),
              ),
            );
            return;
          }
          goes = () => {
            events.message({
              type: 'dying',
              running: null,
              batch: encodeOutcomes([], []),
              reason: null,
              code: 7,
            });
            exit(7, null, 'the worker process exited with code 7');
          };
        },
      };
    };
    const settled = new Map<number, (result: ChunkResult) => void>();
    const executor = new LocalExecutor(
      resolveOptions({ processes: 1, context: 'process' }).executor,
      {
        pool: 0,
        settle: (job, result) => settled.get(job.id)?.(result),
        fatal: (error) => assert.fail(error),
      },
      spawn,
    );
    const submit = (id: number): Promise<ChunkResult> => {
      const done = new Promise<ChunkResult>((resolve) => settled.set(id, resolve));
      executor.submit(inlineJob(id, 1, FAST));
      return done;
    };
    try {
      const first = submit(1);
      const result = await first;
      assert.ok(result.ok && result.values[0] === 2);
      const second = submit(2);
      await new Promise((resolve) => setImmediate(resolve));
      goes!();
      const rerun = await second;
      assert.ok(rerun.ok, 'it ran on the replacement');
      assert.equal(rerun.values[0], 3);
    } finally {
      await executor.terminate();
    }
  });

  it('a chunk alone on an idle thread is not passed on to the next idle thread', async () => {
    let runs = 0;
    const executor = new LocalExecutor(
      resolveOptions({ processes: 4 }).executor,
      {
        pool: 0,
        settle: (job, result) => settled.get(job.id)?.(result),
        fatal: (error) => assert.fail(error),
      },
      (id, events, config) => {
        const handle = spawnThread(id, events, config);
        return {
          sharesMemory: handle.sharesMemory,
          readsAnyDepth: handle.readsAnyDepth,
          send: (message, transfer) => {
            if (message.type === 'run') runs++;
            handle.send(message, transfer);
          },
          kill: () => handle.kill(),
          keepAlive: (yes) => handle.keepAlive(yes),
        };
      },
    );
    const settled = new Map<number, (result: ChunkResult) => void>();
    try {
      // Idle threads are the premise, so the count begins once all four are past their start.
      await workersUp(executor, 4);
      for (let id = 1; id <= 10; id++) {
        const done = new Promise<ChunkResult>((resolve) => settled.set(id, resolve));
        executor.submit(inlineJob(id, 1, '(x) => x + 1'));
        const result = await done;
        assert.ok(result.ok && result.values[0] === id + 1);
      }
      assert.equal(runs, 10, 'one batch a chunk');
    } finally {
      await executor.terminate();
    }
  });
});
