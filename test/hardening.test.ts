// Issue 13: nothing a task does wedges, crashes or orphans. Timeouts of any length, values that cannot
// travel, errors that cannot be read.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SerializationError, WorkerLostError } from '../src/index.js';
import { behave, nested, slowSqr, workerIdentity } from './fixtures/tasks.js';
import { CONTEXTS, processGone, sleep, spawnParent, withPool } from './helpers.js';

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'mpool-hardening-'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = (file: string): number => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;

const THIRTY_DAYS = 30 * 24 * 60 * 60 * 1000;

for (const context of CONTEXTS) {
  describe(`timeouts of any length (${context})`, () => {
    it('a task timeout past 2^31 ms does not fire at once, as a pool or a call option', async () => {
      await withPool({ processes: 1, context, timeout: THIRTY_DAYS }, async (pool) => {
        assert.equal(await pool.apply(slowSqr, [3, 200]), 9);
        assert.deepEqual(await pool.starmap(slowSqr, [[2, 200]], { timeout: THIRTY_DAYS }), [4]);
      });
    });

    it('timeout: Infinity means no limit, and lifts the pool limit for one call', async () => {
      await withPool({ processes: 1, context, timeout: 100 }, async (pool) => {
        assert.equal(await pool.apply(slowSqr, [3, 300], { timeout: Number.POSITIVE_INFINITY }), 9);
      });
      await withPool({ processes: 1, context, timeout: Number.POSITIVE_INFINITY }, async (pool) => {
        assert.equal(await pool.apply(slowSqr, [4, 200]), 16);
      });
    });

    it('get() and wait() with 2^31 ms or Infinity wait for the result', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        assert.equal(await pool.applyAsync(slowSqr, [5, 200]).get(2 ** 31), 25);
        assert.equal(await pool.applyAsync(slowSqr, [6, 300]).get(Number.POSITIVE_INFINITY), 36);
        assert.equal(await pool.applyAsync(slowSqr, [7, 200]).wait(2 ** 31), true);
        assert.equal(await pool.applyAsync(slowSqr, [8, 200]).wait(Number.POSITIVE_INFINITY), true);
      });
    });
  });
}

for (const context of CONTEXTS) {
  describe(`errors that cannot be read (${context})`, () => {
    it('an error whose message, stack and a field throw when read: rejects once with it; the worker lives on', async () => {
      await withDir(async (dir) => {
        await withPool({ processes: 1, context }, async (pool) => {
          const before = await pool.apply(workerIdentity);
          const file = join(dir, 'runs');
          const err = await pool.apply(behave, ['throw-unreadable', file], { retries: 3 }).catch((e) => e);
          assert.ok(err instanceof RangeError, `got ${String(err)}`);
          assert.match(err.message, /message could not be read: Error: no message for you/);
          assert.equal((err as RangeError & { code: string }).code, 'E_SEEN');
          assert.match(
            String((err as RangeError & { secret: string }).secret),
            /could not be read: Error: no secret/,
          );
          assert.equal(runs(file), 1, 'a task that threw was run again');
          assert.equal(await pool.apply(workerIdentity), before, 'the worker was replaced');
        });
      });
    });

    it('a Proxy whose every trap throws: rejects once with an Error saying so; the worker lives on', async () => {
      await withDir(async (dir) => {
        await withPool({ processes: 1, context }, async (pool) => {
          const before = await pool.apply(workerIdentity);
          const file = join(dir, 'runs');
          const err = await pool.apply(behave, ['throw-proxy', file], { retries: 3 }).catch((e) => e);
          assert.ok(err instanceof Error && !(err instanceof WorkerLostError), `got ${String(err)}`);
          assert.match(err.message, /message could not be read: Error: trapped/);
          assert.equal(runs(file), 1, 'a task that threw was run again');
          assert.equal(await pool.apply(workerIdentity), before, 'the worker was replaced');
        });
      });
    });
  });
}

describe('no orphans, even from workers busy in synchronous code (process)', () => {
  for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
    it(`spinning child workers exit within a second of a ${signal} to their parent`, async () => {
      const { parent, pids } = await spawnParent('spinning-parent.ts');
      assert.equal(pids.length, 2);
      const exited = new Promise((resolve) => parent.on('exit', (_code, sig) => resolve(sig)));
      parent.kill(signal);
      assert.equal(await exited, signal, 'the parent did not die of the signal');
      const deadline = Date.now() + 1000;
      try {
        for (const pid of pids) {
          while (!(await processGone(pid))) {
            assert.ok(Date.now() < deadline, `worker ${pid} outlived its parent by more than a second`);
            await sleep(50);
          }
        }
      } finally {
        for (const pid of pids) if (!(await processGone(pid))) process.kill(pid, 'SIGKILL');
      }
    });
  }
});

const tooDeep = (direction: 'argument' | 'result', index: number) => (e: unknown) =>
  e instanceof SerializationError &&
  e.direction === direction &&
  e.index === index &&
  /1000 levels/.test(e.message);

for (const context of CONTEXTS) {
  describe(`values nested too deep to travel (${context})`, () => {
    // Before the fix a thread lost such a message (the call never settled), so the test has its own limit.
    it('a result 2,500 levels deep fails that call only; the worker takes work again', {
      timeout: 30_000,
    }, async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const before = await pool.apply(workerIdentity);
        await assert.rejects(pool.apply(behave, ['deep', 2500]), tooDeep('result', 0));
        await assert.rejects(
          pool.starmap(
            behave,
            [
              ['ok', 1],
              ['deep', 2500],
              ['ok', 3],
            ] as Array<['ok' | 'deep', number]>,
            3,
          ),
          tooDeep('result', 1),
        );
        assert.deepEqual(await pool.map((x: number) => x + 1, [1, 2]), [2, 3]);
        assert.equal(await pool.apply(workerIdentity), before, 'the worker was replaced');
      });
    });

    it('an argument too deep to send fails that call only; the pool and its worker go on', {
      timeout: 30_000,
    }, async () => {
      // 2,500 levels: more than a process's reader takes. 10,000: more than V8 writes from this thread at all.
      const tooDeepHere = context === 'process' ? 2500 : 10_000;
      await withPool({ processes: 1, context }, async (pool) => {
        const before = await pool.apply(workerIdentity);
        await assert.rejects(pool.apply(behave, ['ok', nested(tooDeepHere)]), tooDeep('argument', 0));
        assert.equal(await pool.apply(workerIdentity), before, 'the worker was replaced');
        // A map with one such item fails, and stops its other tasks (test/stop.test.ts); the pool goes on.
        await assert.rejects(
          pool.map((v: unknown) => v, [1, 2, nested(tooDeepHere)], 1),
          tooDeep('argument', 2),
        );
        assert.equal(pool.state, 'running');
        assert.deepEqual(await pool.map((x: number) => x + 1, [1, 2]), [2, 3]);
      });
    });

    if (context === 'thread') {
      it('an argument 2,500 levels deep reaches a thread, whose larger stack reads it back', {
        timeout: 30_000,
      }, async () => {
        await withPool({ processes: 1, context }, async (pool) => {
          const depth = (value: unknown): number => {
            let levels = 0;
            for (let v = value as { next?: unknown }; v.next !== undefined; v = v.next as { next?: unknown })
              levels++;
            return levels;
          };
          assert.equal(await pool.apply(depth, [nested(2500)]), 2500);
        });
      });
    }

    it('deep but not too deep, cyclic and widely shared values still travel', {
      timeout: 30_000,
    }, async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const cyclic: { self?: unknown; n: number } = { n: 1 };
        cyclic.self = cyclic;
        const back = (await pool.apply(behave, ['ok', cyclic])) as typeof cyclic;
        assert.equal(back.self, back);
        let shared: object = { n: 1 };
        for (let i = 0; i < 40; i++) shared = { a: shared, b: shared };
        assert.ok(await pool.apply(behave, ['ok', shared]));
        assert.ok(await pool.apply(behave, ['deep', 900]));
      });
    });

    it('cyclic, widely shared and deeply nested arrays travel, as arguments and items', {
      timeout: 30_000,
    }, async () => {
      await withPool({ processes: 1, context }, async (pool) => {
        const cyclic: unknown[] = [1];
        cyclic.push(cyclic);
        const back = (await pool.apply(behave, ['ok', cyclic])) as unknown[];
        assert.equal(back[1], back);
        // 2^40 paths through 40 arrays: walking them all never ends.
        let shared: unknown[] = [1];
        for (let i = 0; i < 40; i++) shared = [shared, shared];
        assert.ok(await pool.apply(behave, ['ok', shared]));
        assert.deepEqual(await pool.map((xs: unknown[]) => xs.length, [shared, cyclic]), [2, 2]);
        let nestedArray: unknown[] = [];
        for (let i = 0; i < 900; i++) nestedArray = [nestedArray];
        assert.equal(await pool.apply((xs: unknown[]) => xs.length, [nestedArray]), 1);
      });
    });
  });
}
