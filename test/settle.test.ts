// Issue 14: `settle: true` gives every item's outcome, in the shape of Promise.allSettled, in both contexts.
// (test/redis/pool.test.ts runs the same on Redis.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Progress } from '../src/index.js';
import { SerializationError, TaskTimeoutError, WorkerLostError } from '../src/index.js';
import { behave } from './fixtures/tasks.js';
import { CONTEXTS, withPool } from './helpers.js';

/** Fails every 7th item: a RangeError for odd multiples, an error class of the task's own for even ones. */
const everySeventh = (x: number) => {
  class ValueError extends Error {
    override name = 'ValueError';
  }
  if (x % 7 !== 0) return x * 2;
  if (x % 14 === 7) throw new RangeError(`item ${x} is out of range`);
  throw new ValueError(`item ${x} is bad`);
};

const rejected = (outcome: PromiseSettledResult<unknown> | undefined): Error => {
  assert.equal(outcome?.status, 'rejected', `expected a rejected outcome, got ${JSON.stringify(outcome)}`);
  return (outcome as PromiseRejectedResult).reason as Error;
};

function checkEverySeventh(outcomes: PromiseSettledResult<number>[], n: number): void {
  assert.equal(outcomes.length, n);
  for (let x = 0; x < n; x++) {
    const outcome = outcomes[x]!;
    if (x % 7 !== 0) {
      assert.deepEqual(outcome, { status: 'fulfilled', value: x * 2 }, `item ${x}`);
      continue;
    }
    const reason = rejected(outcome);
    if (x % 14 === 7) {
      assert.ok(reason instanceof RangeError, `item ${x}: ${reason}`);
      assert.equal(reason.message, `item ${x} is out of range`);
    } else {
      assert.equal(reason.name, 'ValueError', `item ${x}`);
      assert.equal(reason.message, `item ${x} is bad`);
    }
    // The stack is the worker's, where the task threw.
    assert.match(reason.stack ?? '', /everySeventh|ValueError|RangeError/);
  }
}

for (const context of CONTEXTS) {
  describe(`settle: true (${context})`, () => {
    it('map over 10,000 items, every 7th failing, gives 10,000 outcomes in order', {
      timeout: 60_000,
    }, async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const xs = Array.from({ length: 10_000 }, (_, i) => i);
        const outcomes = await pool.map(everySeventh, xs, { settle: true });
        checkEverySeventh(outcomes, 10_000);
        // Every chunksize, and mapAsync with its callback, say the same.
        const small = xs.slice(0, 100);
        for (const chunksize of [1, 3, 100]) {
          checkEverySeventh(await pool.map(everySeventh, small, { settle: true, chunksize }), 100);
        }
        let called: PromiseSettledResult<number>[] | undefined;
        const result = pool.mapAsync(everySeventh, small, {
          settle: true,
          callback: (value) => {
            called = value;
          },
        });
        checkEverySeventh(await result.get(), 100);
        assert.equal(called?.length, 100);
        // The pool is as it was: plain calls still fail at their first error.
        await assert.rejects(pool.map(everySeventh, [1, 7]), /item 7 is out of range/);
      });
    });

    it('async functions, starmap and the seed error example', { timeout: 30_000 }, async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const later = async (x: number) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          if (x === 2) throw new TypeError('two');
          return x;
        };
        const outcomes = await pool.map(later, [1, 2, 3], { settle: true, chunksize: 3 });
        assert.deepEqual(outcomes[0], { status: 'fulfilled', value: 1 });
        assert.ok(rejected(outcomes[1]) instanceof TypeError);
        assert.deepEqual(outcomes[2], { status: 'fulfilled', value: 3 });
        // The seed: divide over pairs, one of them by zero (here an error, as in Python).
        const divide = (a: number, b: number) => {
          if (b === 0) throw new RangeError('division by zero');
          return a / b;
        };
        const pairs: Array<[number, number]> = [
          [10, 2],
          [3, 0],
          [8, 4],
        ];
        const settled = await pool.starmapAsync(divide, pairs, { settle: true }).get();
        assert.deepEqual(settled[0], { status: 'fulfilled', value: 5 });
        assert.equal(rejected(settled[1]).message, 'division by zero');
        assert.deepEqual(settled[2], { status: 'fulfilled', value: 2 });
      });
    });

    it('imap and imapUnordered go on past failures', { timeout: 30_000 }, async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const xs = Array.from({ length: 50 }, (_, i) => i);
        const inOrder: PromiseSettledResult<number>[] = [];
        for await (const outcome of pool.imap(everySeventh, xs, { settle: true, chunksize: 4 })) {
          inOrder.push(outcome);
        }
        checkEverySeventh(inOrder, 50);
        let fulfilled = 0;
        let failed = 0;
        for await (const outcome of pool.imapUnordered(everySeventh, xs, { settle: true })) {
          if (outcome.status === 'fulfilled') fulfilled++;
          else failed++;
        }
        assert.deepEqual([fulfilled, failed], [42, 8]);
      });
    });

    it('a chunk that fails whole rejects only its own items: a lost worker, a timeout', {
      timeout: 60_000,
    }, async () => {
      await withPool({ processes: 2, context, retries: 0 }, async (pool) => {
        // Item 5's task ends its worker; with chunksize 2, items 4 and 5 were that worker's chunk.
        const exitAt5 = (x: number) => {
          if (x === 5) process.exit(3);
          return x;
        };
        const outcomes = await pool.map(exitAt5, [0, 1, 2, 3, 4, 5, 6, 7], { settle: true, chunksize: 2 });
        for (const x of [0, 1, 2, 3, 6, 7]) assert.deepEqual(outcomes[x], { status: 'fulfilled', value: x });
        for (const x of [4, 5]) assert.ok(rejected(outcomes[x]) instanceof WorkerLostError, `item ${x}`);
        const slow = (ms: number) => {
          const until = Date.now() + ms;
          while (Date.now() < until) {}
          return ms;
        };
        const timed = await pool.map(slow, [1, 3000, 1], { settle: true, chunksize: 1, timeout: 500 });
        assert.deepEqual(timed[0], { status: 'fulfilled', value: 1 });
        assert.ok(rejected(timed[1]) instanceof TaskTimeoutError);
        assert.deepEqual(timed[2], { status: 'fulfilled', value: 1 });
      });
    });

    it('a result that cannot travel rejects only its own item, named by its position', {
      timeout: 30_000,
    }, async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const outcomes = await pool.starmap(
          behave,
          [
            ['ok', 1],
            ['deep', 2500],
            ['ok', 3],
          ] as Array<['ok' | 'deep', number]>,
          { settle: true, chunksize: 3 },
        );
        assert.deepEqual(outcomes[0], { status: 'fulfilled', value: 1 });
        const deep = rejected(outcomes[1]);
        assert.ok(
          deep instanceof SerializationError && deep.index === 1 && deep.direction === 'result',
          `${deep}`,
        );
        assert.deepEqual(outcomes[2], { status: 'fulfilled', value: 3 });
        // A function cannot be cloned: only the item that returned one fails.
        const fnAt1 = (x: number) => (x === 1 ? () => x : x);
        const mixed = await pool.map(fnAt1, [0, 1, 2], { settle: true, chunksize: 3 });
        assert.deepEqual(mixed[0], { status: 'fulfilled', value: 0 });
        const clone = rejected(mixed[1]);
        assert.ok(clone instanceof SerializationError && clone.index === 1, `${clone}`);
        assert.deepEqual(mixed[2], { status: 'fulfilled', value: 2 });
      });
    });

    it('onProgress counts failures; a wrong settle is refused and the pool goes on', {
      timeout: 30_000,
    }, async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const reports: Progress[] = [];
        await pool.map(
          everySeventh,
          Array.from({ length: 70 }, (_, i) => i),
          {
            settle: true,
            chunksize: 5,
            onProgress: (p) => reports.push(p),
          },
        );
        const last = reports.at(-1)!;
        assert.deepEqual([last.done, last.total, last.failed], [70, 70, 10]);
        assert.ok(reports.every((p, i) => i === 0 || p.failed >= reports[i - 1]!.failed));
        await assert.rejects(
          pool.map(everySeventh, [1], { settle: 'yes' } as never),
          /Expected `settle` to be true or false, got `"?yes"?` \(string\)/,
        );
        assert.deepEqual(await pool.map(everySeventh, [1, 2]), [2, 4]);
      });
    });
  });
}
