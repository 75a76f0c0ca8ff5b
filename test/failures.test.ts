// Issue 3: never hang, never lose a result. Worker death, timeouts, cancellation, bad input, orphans, soak.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AbortError,
  Pool,
  PoolStateError,
  SerializationError,
  TaskTimeoutError,
  WorkerLostError,
} from '../src/index.js';
import { behave, flaky, record, slowInit, slowSqr, sqr, stubborn, workerPid } from './fixtures/tasks.js';
import { assertFullSize, CONTEXTS, processGone, sleep, spawnParent, withPool } from './helpers.js';

const lost =
  (check: (e: WorkerLostError) => boolean = () => true) =>
  (e: unknown) =>
    e instanceof WorkerLostError && check(e);

for (const context of CONTEXTS) {
  describe(`worker death (${context})`, () => {
    it('process.exit(n): exactly that task fails with WorkerLostError; the others complete', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mpool-'));
      const file = join(dir, 'done.txt');
      try {
        await withPool({ processes: 2, context }, async (pool) => {
          const items = Array.from({ length: 12 }, (_, i) => i);
          const results = await Promise.allSettled(items.map((x) => pool.apply(record, [x, file, 5])));
          results.forEach((r, i) => {
            if (i === 5)
              assert.ok(r.status === 'rejected' && lost((e) => e.exitCode === 4)(r.reason), String(i));
            else assert.deepEqual(r, { status: 'fulfilled', value: i });
          });
          // map: the result fails at once, and the map's other tasks are stopped (test/stop.test.ts).
          const mapped = pool.mapAsync((x: number) => x, [1]);
          await mapped;
          const failing = pool.starmapAsync(
            record,
            items.map((x) => [x + 100, file, 105] as [number, string, number]),
            { chunksize: 1 },
          );
          await assert.rejects(
            failing.get(),
            lost((e) => e.exitCode === 4 && /ended the worker/.test(e.message)),
          );
          await assertFullSize(pool);
        });
        const done = readFileSync(file, 'utf8').trim().split('\n').map(Number);
        assert.deepEqual(
          done.filter((x) => x < 100).sort((a, b) => a - b),
          Array.from({ length: 12 }, (_, i) => i).filter((x) => x !== 5),
        );
        assert.ok(!done.includes(105), 'the task that exited did not finish');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an uncaught exception from a timer: WorkerLostError with the error as cause', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        await assert.rejects(
          pool.apply(behave, ['throw-later', 1]),
          lost(
            (e) => e.cause instanceof Error && e.cause.message === 'thrown from a timer' && e.exitCode === 1,
          ),
        );
        assert.equal(await pool.apply(behave, ['ok', 2]), 2);
        await assertFullSize(pool);
      });
    });

    it('out of memory under maxHeapMb: WorkerLostError, worker replaced', async () => {
      await withPool({ processes: 2, context, maxHeapMb: 64 }, async (pool) => {
        const other = pool.apply(slowSqr, [3, 300]);
        await assert.rejects(
          pool.apply(behave, ['leak']),
          lost((e) => /out of memory/.test(e.reason)),
        );
        assert.equal(await other, 9);
        await assertFullSize(pool);
      });
    });

    if (context === 'process') {
      it('SIGKILL of a child process: WorkerLostError with the signal', async () => {
        await withPool({ processes: 2, context }, async (pool) => {
          await assert.rejects(
            pool.apply(behave, ['kill']),
            lost((e) => e.signal === 'SIGKILL'),
          );
          await assertFullSize(pool);
        });
      });

      it('a native crash (abort): WorkerLostError with SIGABRT', async () => {
        await withPool({ processes: 2, context }, async (pool) => {
          await assert.rejects(
            pool.apply(behave, ['abort']),
            lost((e) => e.signal === 'SIGABRT'),
          );
          await assertFullSize(pool);
        });
      });

      it('a worker killed from outside while busy', async () => {
        await withPool({ processes: 2, context }, async (pool) => {
          const pid = await pool.apply(workerPid, [0]);
          const running = [pool.apply(workerPid, [500]), pool.apply(workerPid, [500])];
          await sleep(150);
          process.kill(pid, 'SIGKILL');
          const settled = await Promise.allSettled(running);
          assert.equal(settled.filter((r) => r.status === 'rejected' && lost()(r.reason)).length, 1);
          assert.equal(settled.filter((r) => r.status === 'fulfilled').length, 1);
          await assertFullSize(pool);
        });
      });
    }

    it('retries runs a lost task again (per pool and per call)', async () => {
      await withPool({ processes: 2, context, retries: 50 }, async (pool) => {
        const out = await pool.starmap(
          flaky,
          Array.from({ length: 20 }, (_, i) => [i, 0.3] as [number, number]),
          1,
        );
        assert.deepEqual(
          out,
          Array.from({ length: 20 }, (_, i) => i * 2),
        );
        await assert.rejects(pool.apply(behave, ['exit'], { retries: 0 }), lost());
      });
    });
  });

  describe(`timeouts (${context})`, () => {
    it('a task over its timeout fails with TaskTimeoutError and its worker is replaced', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const before = performance.now();
        await assert.rejects(pool.apply(behave, ['spin'], { timeout: 300 }), TaskTimeoutError);
        assert.ok(performance.now() - before < 5_000);
        await assert.rejects(pool.apply(behave, ['hang'], { timeout: 200 }), (e: unknown) => {
          return e instanceof TaskTimeoutError && e.timeout === 200 && /started/.test(e.message);
        });
        await assertFullSize(pool);
      });
    });

    it('the timeout counts from when the task starts, not from when it was queued', async () => {
      await withPool({ processes: 1, context, timeout: 600 }, async (pool) => {
        // Five tasks of 200 ms on one worker: the last waits 800 ms in the queue, yet none times out.
        assert.deepEqual(await pool.map(slowSqr, [1, 2, 3, 4, 5], 1), [1, 4, 9, 16, 25]);
        await assert.rejects(pool.apply(slowSqr, [1, 2_000]), TaskTimeoutError);
      });
    });
  });

  describe(`cancellation (${context})`, () => {
    it('an AbortSignal drops queued work, stops running work, and rejects with AbortError', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mpool-'));
      const file = join(dir, 'done.txt');
      try {
        await withPool({ processes: 2, context }, async (pool) => {
          const controller = new AbortController();
          const spinning = pool.apply(behave, ['spin'], { signal: controller.signal });
          const queued = pool.starmapAsync(
            record,
            Array.from({ length: 20 }, (_, i) => [i, file] as [number, string]),
            { chunksize: 1, signal: controller.signal },
          );
          await sleep(100);
          controller.abort(new Error('user gave up'));
          await assert.rejects(
            spinning,
            (e: unknown) => e instanceof AbortError && (e.cause as Error).message === 'user gave up',
          );
          await assert.rejects(queued.get(), AbortError);
          await sleep(300);
          const done = readFileSync(file, { encoding: 'utf8', flag: 'a+' })
            .trim()
            .split('\n')
            .filter(Boolean);
          assert.ok(done.length < 20, `ran ${done.length} of 20`);
          await assertFullSize(pool);
          // An already-aborted signal rejects at once.
          await assert.rejects(pool.apply(sqr, [2], { signal: AbortSignal.abort() }), AbortError);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('breaking out of imap cancels what remains', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        let produced = 0;
        function* gen() {
          for (let i = 0; i < 1_000; i++) {
            produced++;
            yield i;
          }
        }
        for await (const v of pool.imap(sqr, gen(), { buffersize: 4 })) if (v >= 9) break;
        const seen = produced;
        await sleep(100);
        assert.equal(produced, seen);
        assert.ok(produced < 20, `produced ${produced}`);
        assert.deepEqual(await pool.map(sqr, [7]), [49]);
      });
    });
  });

  describe(`bad input (${context})`, () => {
    it('an argument that cannot be cloned fails its task, naming the item; the pool goes on', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        await assert.rejects(
          pool.map((x: unknown) => x, [1, 2, () => 3, 4], 1),
          (e: unknown) => e instanceof SerializationError && e.index === 2 && e.direction === 'argument',
        );
        assert.deepEqual(await pool.map(sqr, [1, 2]), [1, 4]);
      });
    });

    it('20 unclonable results in a row (CPython test_unpickleable_result), then the pool still works', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        for (let i = 0; i < 20; i++) {
          await assert.rejects(
            pool.apply(behave, ['unclonable', i]),
            (e: unknown) =>
              e instanceof SerializationError &&
              e.direction === 'result' &&
              /could not be cloned/.test(e.message),
          );
        }
        await assert.rejects(
          pool.map((x: number) => (x === 6 ? Symbol('no') : x), [1, 2, 3, 4, 5, 6, 7], 7),
          (e: unknown) => e instanceof SerializationError && e.index === 5,
        );
        assert.deepEqual(await pool.map(sqr, [5]), [25]);
      });
    });

    it('an input iterable that throws passes its error on unchanged', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const boom = new Error('input broke');
        function* broken() {
          yield 1;
          yield 2;
          throw boom;
        }
        await assert.rejects(pool.map(sqr, broken(), 1), (e: unknown) => e === boom);
        async function* brokenAsync() {
          yield 1;
          throw boom;
        }
        await assert.rejects(pool.map(sqr, brokenAsync()), (e: unknown) => e === boom);
        const it = pool.imap(sqr, broken());
        await assert.rejects(
          (async () => {
            for await (const _ of it) {
              // drain
            }
          })(),
          (e: unknown) => e === boom,
        );
        assert.deepEqual(await pool.map(sqr, [6]), [36]);
      });
    });

    it('bad arguments get errors that name what was expected and what was received', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        assert.throws(() => pool.mapAsync(sqr, [1], 0), {
          name: 'RangeError',
          message: 'Expected `chunksize` to be an integer >= 1, got `0` (number)',
        });
        assert.throws(
          () => pool.mapAsync(sqr, 5 as unknown as number[]),
          /Expected `iterable` to be an Iterable or AsyncIterable, got `5` \(number\)/,
        );
        assert.throws(
          () => pool.applyAsync('sqr' as unknown as () => 1),
          /Expected `fn` to be a function, got `"sqr"` \(string\)/,
        );
        assert.throws(() => pool.applyAsync(Math.sqrt, [4]), /native or bound function `sqrt`/);
        assert.throws(() => pool.applyAsync(sqr, 4 as unknown as [number]), /Expected `args` to be an array/);
        await assert.rejects(
          pool.apply(sqr, [2], { timeout: -1 }),
          /Expected `timeout` to be a number of milliseconds > 0, got `-1`/,
        );
        assert.deepEqual(await pool.map(sqr, [2]), [4]);
      });
    });
  });

  describe(`no orphans (${context})`, () => {
    it('terminate() rejects outstanding results, and the pool ends at once', async () => {
      const pool = new Pool({ processes: 2, context });
      const results = Promise.allSettled([pool.apply(behave, ['hang']), pool.apply(behave, ['spin'])]);
      await sleep(200);
      await pool.terminate();
      for (const r of await results) assert.ok(r.status === 'rejected' && r.reason instanceof PoolStateError);
    });
  });
}

describe('no orphans (process)', () => {
  it('terminate() escalates from SIGTERM to SIGKILL', async () => {
    const pool = new Pool({ processes: 1, context: 'process' });
    const pid = await pool.apply(workerPid, [0]);
    const hung = pool.apply(stubborn).catch((e: unknown) => e);
    await sleep(300);
    const started = performance.now();
    await pool.terminate();
    const took = performance.now() - started;
    assert.ok((await hung) instanceof PoolStateError);
    assert.ok(await processGone(pid), 'worker still alive');
    assert.ok(took >= 1_500, `terminate took ${took} ms: SIGTERM should have been ignored first`);
  });

  it('child workers exit when their parent is SIGKILLed', async () => {
    const { parent, pids } = await spawnParent('orphan-parent.ts');
    assert.equal(pids.length, 2);
    const exited = new Promise((resolve) => parent.on('exit', resolve));
    parent.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 10_000;
    for (const pid of pids) {
      while (!(await processGone(pid))) {
        assert.ok(Date.now() < deadline, `worker ${pid} outlived its parent`);
        await sleep(100);
      }
    }
  });
});

for (const context of CONTEXTS) {
  describe(`soak (${context})`, () => {
    it('100,000 items while workers die again and again: every item exactly once or reported failed', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const n = 100_000;
        const p = context === 'thread' ? 0.0002 : 0.0001;
        // Without retries: each chunk comes back whole and in place, or fails with WorkerLostError.
        const chunks = Array.from({ length: n / 500 }, (_, c) => c);
        const settled = await Promise.allSettled(
          chunks.map((c) =>
            pool.starmap(
              flaky,
              Array.from({ length: 500 }, (_, i) => [c * 500 + i, p] as [number, number]),
              100,
            ),
          ),
        );
        let failed = 0;
        settled.forEach((r, c) => {
          if (r.status === 'rejected') {
            assert.ok(r.reason instanceof WorkerLostError, String(r.reason));
            failed++;
          } else {
            assert.deepEqual(
              r.value,
              Array.from({ length: 500 }, (_, i) => (c * 500 + i) * 2),
            );
          }
        });
        assert.ok(failed > 0, 'no worker died: the soak did not soak');
        // With retries: the whole map comes back, every item exactly once and in its place.
        const xs = Array.from({ length: n }, (_, i) => [i, p] as [number, number]);
        const out = await pool.starmap(flaky, xs, { chunksize: 100, retries: 100 });
        assert.equal(out.length, n);
        for (let i = 0; i < n; i++) if (out[i] !== i * 2) assert.fail(`item ${i} is ${out[i]}`);
        await assertFullSize(pool);
      });
    });
  });
}

for (const context of CONTEXTS) {
  describe(`edge cases (${context})`, () => {
    it("a task's timeout does not count its worker's start-up or initializer", async () => {
      await withPool(
        { processes: 1, context, initializer: slowInit, initargs: [600], timeout: 300 },
        async (pool) => {
          assert.equal(await pool.apply(sqr, [3]), 9);
          assert.deepEqual(await pool.map(sqr, [1, 2], 1), [1, 4]);
        },
      );
    });

    it('concurrent join() calls all resolve', async () => {
      const pool = new Pool({ processes: 2, context });
      const result = pool.mapAsync(slowSqr, [1, 2, 3], 1);
      pool.close();
      await Promise.all([pool.join(), pool.join(), pool.join()]);
      assert.deepEqual(await result, [1, 4, 9]);
    });

    it('a stuck chunk left behind by a broken imap is still stopped by its timeout; join() does not hang', async () => {
      const pool = new Pool({ processes: 1, context, timeout: 400 });
      for await (const v of pool.imap(
        behave as (what: 'ok' | 'spin') => Promise<unknown>,
        ['ok', 'spin'],
        1,
      )) {
        if (v === null) break;
      }
      pool.close();
      await pool.join();
      assert.equal(pool.state, 'closed');
    });

    it("aborting one task does not fail another caller's task", async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const controller = new AbortController();
        const spinning = pool.apply(behave, ['spin'], { signal: controller.signal });
        const others = [pool.apply(sqr, [2]), pool.apply(sqr, [3]), pool.map(sqr, [4, 5], 1)];
        await sleep(200);
        controller.abort();
        await assert.rejects(spinning, AbortError);
        assert.deepEqual(await Promise.all(others), [4, 9, [16, 25]]);
      });
    });
  });
}
