// The Python-facing API, run against every local runtime.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AsyncResult,
  CallbackError,
  cpuCount,
  Pool,
  PoolStateError,
  type Progress,
  transfer,
} from '../src/index.js';
import { formatDuration, formatRate } from '../src/progress.js';
import { add, countCalls, init, initArgs, slowSqr, sqr, workerIdentity } from './fixtures/tasks.js';
import { CONTEXTS, countedNaturals, sleep, withPool } from './helpers.js';

for (const context of CONTEXTS) {
  describe(`Pool (${context})`, () => {
    it('defaults processes to cpuCount()', async () => {
      await withPool({ context }, async (pool) => {
        assert.equal(pool.processes, cpuCount());
        assert.equal(pool.state, 'running');
      });
    });

    it('apply and applyAsync call fn(...args), with callback', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        assert.equal(await pool.apply(add, [2, 3]), 5);
        assert.equal(await pool.apply(() => 42), 42);
        const seen: number[] = [];
        const result = pool.applyAsync((a: number, b: number) => a * b, [6, 7], {
          callback: (v) => seen.push(v),
        });
        assert.ok(result instanceof AsyncResult);
        assert.equal(await result.get(), 42);
        assert.deepEqual(seen, [42]);
        assert.equal(result.ready(), true);
        assert.equal(result.successful(), true);
      });
    });

    it('map keeps input order for every chunksize', async () => {
      await withPool({ processes: 3, context }, async (pool) => {
        const xs = Array.from({ length: 103 }, (_, i) => i);
        const expected = xs.map((x) => x * x);
        for (const chunksize of [undefined, 1, 2, 7, 50, 1000]) {
          assert.deepEqual(await pool.map(sqr, xs, chunksize), expected, `chunksize ${chunksize}`);
        }
        assert.deepEqual(await pool.map((x: string) => x.toUpperCase(), 'abc'), ['A', 'B', 'C']);
      });
    });

    it('a map over numbers returns results of any type, in order, across shared pages', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        // More than one page of numbers (pages hold 2^20), a -0, a NaN and results that are not numbers.
        const xs = Array.from({ length: (1 << 20) + 5_000 }, (_, i) => i);
        xs[7] = -0;
        xs[8] = Number.NaN;
        const out = await pool.map(
          (x: number) => (x % 100_000 === 99_999 ? `s${x}` : x === 500_000 ? Promise.resolve(x) : -x),
          xs,
          1000,
        );
        assert.equal(out.length, xs.length);
        assert.equal(out[1], -1);
        assert.ok(Object.is(out[7], 0) && Number.isNaN(out[8]));
        assert.equal(out[99_999], 's99999');
        assert.equal(out[500_000], 500_000);
        assert.equal(out[xs.length - 1], -(xs.length - 1));
        // An input that stops being numeric midway is still read in full.
        assert.deepEqual(await pool.map((x: unknown) => typeof x, [1, 2, 'a', 4], 2), [
          'number',
          'number',
          'string',
          'number',
        ]);
        // Input items stay as they were: the pool never writes into the caller's array.
        assert.equal(xs[1], 1);
      });
    });

    it('numeric maps reuse shared pages only once done: back to back, at once, after a failure', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const big = Array.from({ length: 300_000 }, (_, i) => i);
        const small = Array.from({ length: 70_000 }, (_, i) => i * 3);
        const add = (k: number) => big.map((x) => x + k);
        // Back to back: each map's page goes back to the pool and the next one writes over it.
        assert.deepEqual(await pool.map((x: number) => x + 1, big, 1000), add(1));
        assert.deepEqual(await pool.map((x: number) => x + 2, big, 1000), add(2));
        assert.deepEqual(
          await pool.map((x: number) => x - 1, small, 500),
          small.map((x) => x - 1),
        );
        // At once: two maps in flight never share a page.
        const [a, b] = await Promise.all([
          pool.map((x: number) => x + 3, big, 1000),
          pool.map((x: number) => -x, small, 700),
        ]);
        assert.deepEqual(a, add(3));
        assert.deepEqual(
          b,
          small.map((x) => -x),
        );
        // A map that fails keeps its page (its other chunks may still be running); the next one is unharmed.
        const failing = pool.map(
          (x: number) => {
            if (x === 150_000) throw new RangeError('no');
            return x;
          },
          big,
          1000,
        );
        await assert.rejects(failing, RangeError);
        assert.deepEqual(await pool.map((x: number) => x + 4, big, 1000), add(4));
      });
    });

    it('mapAsync fires callback once with the whole list, and is awaitable', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const calls: number[][] = [];
        const result = pool.mapAsync(sqr, [1, 2, 3], { callback: (v) => calls.push(v) });
        assert.deepEqual(await result, [1, 4, 9]);
        assert.deepEqual(calls, [[1, 4, 9]]);
      });
    });

    it('errorCallback fires once with the first error, and get() rejects with it', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const errors: unknown[] = [];
        const result = pool.mapAsync(
          (x: number) => {
            if (x % 2) throw new RangeError(`odd ${x}`);
            return x;
          },
          [0, 1, 2, 3, 4, 5],
          { chunksize: 1, errorCallback: (e) => errors.push(e) },
        );
        await assert.rejects(result.get(), RangeError);
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof RangeError);
        assert.equal(result.successful(), false);
      });
    });

    it('an empty input resolves to [] and still fires callback', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const seen: unknown[] = [];
        assert.deepEqual(await pool.mapAsync(sqr, [], { callback: (v) => seen.push(v) }), []);
        assert.deepEqual(seen, [[]]);
        assert.deepEqual(await pool.starmap(add, []), []);
        const out: number[] = [];
        for await (const v of pool.imap(sqr, [])) out.push(v);
        assert.deepEqual(out, []);
      });
    });

    it('starmap spreads each tuple', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        assert.deepEqual(
          await pool.starmap(add, [
            [1, 2],
            [3, 4],
          ]),
          [3, 7],
        );
        const result = pool.starmapAsync(
          (a: string, n: number) => a.repeat(n),
          [['x', 3] as [string, number]],
        );
        assert.deepEqual(await result.get(), ['xxx']);
      });
    });

    it('imap yields in input order; imapUnordered in completion order', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const ordered: number[] = [];
        for await (const v of pool.imap((x: number) => x * 10, [5, 4, 3, 2, 1])) ordered.push(v);
        assert.deepEqual(ordered, [50, 40, 30, 20, 10]);
        const unordered: number[] = [];
        // The first item is slow, so it finishes last.
        for await (const v of pool.imapUnordered(
          (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
          [300, 1, 1, 1],
        )) {
          unordered.push(v);
        }
        assert.deepEqual(
          [...unordered].sort((a, b) => a - b),
          [1, 1, 1, 300],
        );
        assert.equal(unordered.at(-1), 300);
      });
    });

    it('imap over an infinite generator reads only what is consumed', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const naturals = countedNaturals();
        const got: number[] = [];
        for await (const v of pool.imap(sqr, naturals.items, { buffersize: 8 })) {
          got.push(v);
          if (got.length === 50) break;
        }
        assert.deepEqual(
          got,
          Array.from({ length: 50 }, (_, i) => i * i),
        );
        await sleep(50);
        assert.ok(naturals.pulled() <= 50 + 8 + 1, `produced ${naturals.pulled()}`);
      });
    });

    it('imap whose tasks all fail reads no further ahead while its errors are unread', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const naturals = countedNaturals();
        const it = pool.imapUnordered(
          (x: number) => {
            throw new RangeError(`bad ${x}`);
          },
          naturals.items,
          { buffersize: 4 },
        );
        // The call starts at once; nobody reads its errors yet, so the window fills and stays full.
        await sleep(300);
        assert.ok(naturals.pulled() <= 4 + 1, `produced ${naturals.pulled()} while errors sat unread`);
        await assert.rejects(it.next(), RangeError);
      });
    });

    it('a map over a generator whose tasks all fail rejects, and the pool still joins', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        let closed = false;
        function* items() {
          try {
            for (let i = 0; i < 100; i++) yield i;
          } finally {
            closed = true;
          }
        }
        const failing = (x: number) => {
          throw new RangeError(`bad ${x}`);
        };
        await assert.rejects(pool.map(failing, items()), RangeError);
        pool.close();
        // Every chunk's error frees its place in the window: the call reads its input to the end and ends.
        let timer: NodeJS.Timeout | undefined;
        const joined = await Promise.race([
          pool.join().then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(resolve, 10_000, false))),
        ]);
        clearTimeout(timer);
        assert.equal(joined, true, 'join() settles');
        assert.equal(closed, true);
      });
    });

    it('accepts async iterables and generators as input', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        async function* gen() {
          for (let i = 1; i <= 20; i++) yield i;
        }
        assert.deepEqual(
          await pool.map(sqr, gen()),
          Array.from({ length: 20 }, (_, i) => (i + 1) ** 2),
        );
        assert.deepEqual(await pool.map(sqr, new Set([3, 4])), [9, 16]);
      });
    });

    it('runs async functions and awaits them', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        assert.deepEqual(await pool.map(slowSqr, [1, 2, 3]), [1, 4, 9]);
        assert.equal(await pool.apply(async (x: number) => x + 1, [1]), 2);
      });
    });

    it('module tasks keep their module state between calls', async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        assert.deepEqual(await pool.map(countCalls, [null, null, null], 1), [1, 2, 3]);
      });
    });

    it('initializer runs once in every worker, replacements included', async () => {
      await withPool(
        { processes: 2, context, initializer: init, initargs: ['a', 1], maxtasksperchild: 1 },
        async (pool) => {
          const seen = await pool.map(initArgs, [null, null, null, null, null], 1);
          assert.deepEqual(seen, Array(5).fill(['a', 1]));
        },
      );
    });

    it('maxtasksperchild replaces a worker after that many tasks (a chunk is one task)', async () => {
      await withPool({ processes: 1, context, maxtasksperchild: 2 }, async (pool) => {
        const ids = await pool.map(workerIdentity, [0, 0, 0, 0, 0, 0], 1);
        assert.equal(new Set(ids).size, 3, ids.join(' '));
        assert.equal(ids[0], ids[1]);
        assert.notEqual(ids[1], ids[2]);
        // Chunks of three count once each: two chunks per worker.
        const chunked = await pool.map(workerIdentity, [0, 0, 0, 0, 0, 0], 3);
        assert.equal(new Set(chunked).size, 1);
      });
    });

    it('a callback that throws rejects the result with CallbackError; the pool goes on', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const boom = new Error('callback bug');
        const result = pool.mapAsync(sqr, [1, 2], {
          callback: () => {
            throw boom;
          },
        });
        await assert.rejects(result.get(), (e: unknown) => e instanceof CallbackError && e.cause === boom);
        const failing = pool.applyAsync(
          () => {
            throw new TypeError('task');
          },
          [],
          {
            errorCallback: () => {
              throw new Error('handler bug');
            },
          },
        );
        await assert.rejects(
          failing.get(),
          (e: unknown) => e instanceof CallbackError && e.callback === 'errorCallback',
        );
        assert.deepEqual(await pool.map(sqr, [3]), [9]);
      });
    });

    it('lifecycle: close then join; using it afterwards says Pool not running', async () => {
      const pool = new Pool({ processes: 2, context });
      await assert.rejects(pool.join(), PoolStateError);
      const result = pool.mapAsync(slowSqr, [1, 2, 3]);
      pool.close();
      assert.equal(pool.state, 'closing');
      assert.throws(() => pool.mapAsync(sqr, [1]), { name: 'PoolStateError', message: /^Pool not running/ });
      await assert.rejects(pool.map(sqr, [1]), /^PoolStateError: Pool not running/);
      await assert.rejects(pool.apply(sqr, [1]), PoolStateError);
      assert.throws(() => pool.imap(sqr, [1]), PoolStateError);
      await pool.join();
      assert.equal(pool.state, 'closed');
      assert.deepEqual(await result.get(), [1, 4, 9]);
    });

    it('terminate rejects every outstanding result at once', async () => {
      const pool = new Pool({ processes: 2, context });
      const pending = pool.mapAsync(slowSqr, [1, 2, 3, 4], { chunksize: 1 });
      const single = pool.applyAsync(slowSqr, [5, 10_000]);
      const started = performance.now();
      await pool.terminate();
      await assert.rejects(pending.get(), PoolStateError);
      await assert.rejects(single.get(), /terminated/);
      assert.ok(performance.now() - started < 5_000);
      assert.equal(pool.state, 'terminated');
      assert.throws(() => pool.applyAsync(sqr, [1]), /Pool not running/);
    });

    it('await using closes and joins gracefully', async () => {
      let result: AsyncResult<number[]>;
      {
        await using pool = new Pool({ processes: 2, context });
        result = pool.mapAsync(slowSqr, [1, 2, 3]);
      }
      assert.equal(result.ready(), true);
      assert.deepEqual(await result.get(), [1, 4, 9]);
    });
  });
}

describe('large binary data (thread)', () => {
  it('transfer() moves argument and result buffers instead of copying them', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const bytes = new Uint8Array(1 << 20).fill(7);
      const out = await pool.apply(
        async (data: Uint8Array) => {
          const { transfer } = await import('mpool');
          const doubled = data.map((b) => b * 2);
          return transfer(doubled, [doubled.buffer]);
        },
        [transfer(bytes, [bytes.buffer])],
      );
      assert.equal(bytes.byteLength, 0, 'the argument buffer was moved, not copied');
      assert.equal(out.length, 1 << 20);
      assert.equal(out[12345], 14);
    });
  });

  it('a SharedArrayBuffer is shared with thread workers, not copied', async () => {
    await withPool({ processes: 2 }, async (pool) => {
      const shared = new Int32Array(new SharedArrayBuffer(4 * 8));
      await pool.map((view: Int32Array) => Atomics.add(view, 0, 1), Array(8).fill(shared), 1);
      assert.equal(shared[0], 8);
    });
  });
});

describe('progress', () => {
  it('the bar shows rates and durations briefly', () => {
    assert.deepEqual([0.5, 42, 999, 12_345, 4_560_000].map(formatRate), [
      '0.5',
      '42.0',
      '999',
      '12.3k',
      '4.56M',
    ]);
    assert.deepEqual([400, 12_300, 185_000, 3_720_000].map(formatDuration), [
      '0.4s',
      '12s',
      '3m05s',
      '1h02m',
    ]);
  });

  it('onProgress reports done and total as chunks finish, ending at the total', async () => {
    await withPool({ processes: 2 }, async (pool) => {
      const seen: Progress[] = [];
      const xs = Array.from({ length: 100 }, (_, i) => i);
      await pool.map(sqr, xs, { chunksize: 10, onProgress: (p) => seen.push(p) });
      assert.equal(seen.length, 10);
      const last = seen.at(-1)!;
      assert.deepEqual([last.done, last.total, last.failed, last.etaMs], [100, 100, 0, 0]);
      // The rate is what was done over the time it took.
      assert.ok(last.elapsedMs > 0 && last.perSecond > 0, JSON.stringify(last));
      assert.ok(Math.abs(last.perSecond - (100 * 1000) / last.elapsedMs) < 1e-6 * last.perSecond);
      // Before the end, the ETA is what is left at that rate.
      const mid = seen.find((p) => p.done < 100)!;
      assert.ok(Math.abs(mid.etaMs! - ((100 - mid.done) * 1000) / mid.perSecond) < 1e-6 * mid.etaMs! + 1e-9);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.done > seen[i - 1]!.done);
      // Unknown length: total is undefined until the input runs out.
      const unknown: Array<number | undefined> = [];
      function* gen() {
        for (let i = 0; i < 1000; i++) yield i;
      }
      let count = 0;
      const options = {
        chunksize: 10,
        buffersize: 4,
        onProgress: (p: { total: number | undefined }) => unknown.push(p.total),
      };
      for await (const _ of pool.imap(sqr, gen(), options)) count++;
      assert.equal(count, 1000);
      assert.equal(unknown[0], undefined);
      assert.equal(unknown.at(-1), 1000);
    });
  });

  it('a map of tiny chunks runs them together once their cost is known, unless maxtasksperchild counts them', async () => {
    const double = (x: number) => x * 2;
    const xs = Array.from({ length: 200_000 }, (_, i) => i);
    const expected = xs.map(double);
    // Chunks of 20 numbers: a few microseconds of work each, far below the quarter millisecond.
    const chunks = xs.length / 20;
    for (const maxtasksperchild of [null, 1_000_000]) {
      await withPool({ processes: 2, maxtasksperchild }, async (pool) => {
        // The first call knows no cost yet: its first chunks go as asked, and the rest of it merged once
        // those have reported.
        const steps: number[] = [];
        let done = 0;
        const onProgress = (progress: Progress) => {
          steps.push(progress.done - done);
          done = progress.done;
        };
        assert.deepEqual(await pool.map(double, xs, { chunksize: 20, onProgress }), expected);
        assert.equal(steps[0], 20, 'the first chunk reported goes as asked');
        if (maxtasksperchild === null) {
          assert.ok(steps.length < chunks, `${steps.length} progress steps in the first call`);
          assert.ok(Math.max(...steps) > 20, 'no merged chunk in the first call');
        } else assert.equal(steps.length, chunks, 'maxtasksperchild counts the chunks asked for');
        let second = 0;
        assert.deepEqual(await pool.map(double, xs, { chunksize: 20, onProgress: () => second++ }), expected);
        if (maxtasksperchild === null) assert.ok(second < chunks && second >= 16, `${second} progress steps`);
        else assert.equal(second, chunks, 'maxtasksperchild counts the chunks asked for');
        // A timeout acts on one chunk: those are never merged either.
        let timed = 0;
        const few = xs.slice(0, 2000);
        await pool.map(double, few, { chunksize: 20, timeout: 60_000, onProgress: () => timed++ });
        assert.equal(timed, 100);
        // Nor are chunks of anything but numbers: their copying, not the pool, is what they cost.
        const words = xs.slice(0, 20_000).map(String);
        const length = (w: string) => w.length;
        for (let round = 0; round < 2; round++) {
          let steps = 0;
          const out = await pool.map(length, words, { chunksize: 100, onProgress: () => steps++ });
          assert.deepEqual(out, words.map(length));
          assert.equal(steps, 200);
        }
      });
    }
  });

  it('progress: true draws a cli-progress bar on stderr only when stderr is a terminal', async () => {
    const stderr = process.stderr as NodeJS.WriteStream & { isTTY: boolean };
    const { isTTY, columns } = stderr;
    const write = stderr.write;
    const drawn: string[] = [];
    const draw = async (tty: boolean) => {
      drawn.length = 0;
      Object.defineProperty(stderr, 'isTTY', { value: tty, configurable: true, writable: true });
      Object.defineProperty(stderr, 'columns', { value: 100, configurable: true, writable: true });
      stderr.write = ((chunk: string | Uint8Array) => {
        drawn.push(String(chunk));
        return true;
      }) as typeof stderr.write;
      try {
        await withPool({ processes: 2 }, async (pool) => {
          const xs = Array.from({ length: 50 }, (_, i) => i);
          assert.deepEqual(await pool.map(sqr, xs, { chunksize: 5, progress: true }), xs.map(sqr));
        });
      } finally {
        stderr.write = write;
        Object.defineProperty(stderr, 'isTTY', { value: isTTY, configurable: true, writable: true });
        Object.defineProperty(stderr, 'columns', { value: columns, configurable: true, writable: true });
      }
      return drawn.join('');
    };
    const bar = await draw(true);
    assert.match(bar, /map .*100% \| 50\/50/);
    assert.equal(await draw(false), '', 'nothing is drawn when stderr is not a terminal');
  });

  it('a throwing onProgress is reported as a warning and does not fail the work', async () => {
    await withPool({ processes: 1 }, async (pool) => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      try {
        const out = await pool.map(sqr, [1, 2, 3], {
          chunksize: 1,
          onProgress: () => {
            throw new Error('progress bug');
          },
        });
        assert.deepEqual(out, [1, 4, 9]);
        await sleep(10);
        assert.ok(warnings.some((w) => /onProgress threw: progress bug/.test(w)));
      } finally {
        process.off('warning', onWarning);
      }
    });
  });
});
