// One suite, two runtimes: the same Pool calls against the local pool and against Redis with two worker nodes.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AbortError, type ChunkSample, Pool, type PoolOptions, TaskTimeoutError } from '../../src/index.js';
import { add, behave, type FixtureError, failFirst, slowSqr, sqr } from '../fixtures/tasks.js';
import { type NodeProcess, RedisServer, SECRET, sleep, startNode } from './fixtures/harness.js';
import { richValue } from './fixtures/tasks.js';

const QUEUE = 'suite';
// Long enough that a sibling still running is told apart from one stopped (see test/stop.test.ts).
const SIBLING_MS = 3000;

interface Runtime {
  name: string;
  options: () => PoolOptions;
}

let server: RedisServer | null = null;
const nodes: NodeProcess[] = [];

const RUNTIMES: Runtime[] = [
  { name: 'local threads', options: () => ({ processes: 2 }) },
  {
    name: 'redis, 2 nodes',
    options: () => ({ redis: server!.url, queue: QUEUE, processes: 4, secret: SECRET, redisTimeout: 20_000 }),
  },
];

async function withPool<T>(runtime: Runtime, body: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool(runtime.options());
  try {
    return await body(pool);
  } finally {
    await pool.terminate();
  }
}

describe('Pool on Redis, and the same calls locally', {}, () => {
  before(async () => {
    server = await RedisServer.start();
    const settings = {
      url: server.url,
      queue: QUEUE,
      flags: ['--allow-inline'],
      env: { MPOOL_SECRET: SECRET },
    };
    nodes.push(...(await Promise.all([startNode(settings), startNode(settings)])));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await server?.stop();
  });

  for (const runtime of RUNTIMES) {
    describe(runtime.name, () => {
      it('stats() and the mpool:chunk channel count what ran', async () => {
        const seen: ChunkSample[] = [];
        const onChunk = (message: unknown): void => {
          seen.push(message as ChunkSample);
        };
        subscribe('mpool:chunk', onChunk);
        try {
          await withPool(runtime, async (pool) => {
            const items = Array.from({ length: 20 }, (_, i) => i);
            assert.deepEqual(
              await pool.map(sqr, items, 2),
              items.map((x) => x * x),
            );
            const stats = pool.stats();
            assert.equal(stats.runtime, runtime.name.startsWith('redis') ? 'redis' : 'thread');
            assert.equal(stats.done, 10);
            assert.equal(stats.doneItems, 20);
            assert.equal(stats.failed, 0);
            assert.equal(stats.queued + stats.sent + stats.running, 0);
            if (stats.runtime === 'redis') assert.deepEqual(stats.workers, []);
            else
              assert.equal(
                stats.workers.reduce((n, w) => n + w.chunks, 0),
                10,
              );
            assert.ok(stats.taskMs && stats.taskMs.median >= 0);
            const mine = seen.filter((c) => c.pool === pool.id);
            assert.equal(mine.length, 10, 'one message per chunk');
            assert.equal(
              mine.reduce((n, c) => n + c.items, 0),
              20,
            );
            for (const c of mine) {
              assert.ok(c.ok);
              assert.ok(
                c.queuedAt <= c.sentAt && c.sentAt <= c.settledAt + 1,
                'queued, sent, settled in order',
              );
            }
          });
        } finally {
          unsubscribe('mpool:chunk', onChunk);
        }
      });

      it('map, starmap and apply keep input order, for module and inline functions', async () => {
        await withPool(runtime, async (pool) => {
          const xs = Array.from({ length: 103 }, (_, i) => i);
          for (const chunksize of [undefined, 1, 7, 1000]) {
            assert.deepEqual(
              await pool.map(sqr, xs, chunksize),
              xs.map((x) => x * x),
              `chunksize ${chunksize}`,
            );
          }
          assert.deepEqual(await pool.map((x: number) => x + 1, [1, 2, 3]), [2, 3, 4]);
          assert.deepEqual(
            await pool.starmap(add, [
              [1, 2],
              [3, 4],
            ] as [number, number][]),
            [3, 7],
          );
          assert.equal(await pool.apply(add, [20, 22]), 42);
          assert.deepEqual(await pool.map(sqr, []), []);
        });
      });

      it('values travel as structured clones: undefined, BigInt, Date, Set, NaN', async () => {
        await withPool(runtime, async (pool) => {
          const [value] = await pool.map(richValue, [5]);
          assert.deepEqual(value, {
            n: 5,
            big: 50n,
            when: new Date(5),
            set: new Set([5]),
            none: undefined,
            nan: Number.NaN,
          });
          assert.equal(await pool.apply(() => undefined), undefined);
        });
      });

      it('imap streams in order and imapUnordered as results finish', async () => {
        await withPool(runtime, async (pool) => {
          const seen: number[] = [];
          for await (const value of pool.imap(slowSqr, [1, 2, 3, 4, 5, 6])) seen.push(value);
          assert.deepEqual(seen, [1, 4, 9, 16, 25, 36]);
          // Endless input: imap reads only as far as it is consumed.
          function* naturals() {
            for (let i = 0; ; i++) yield i;
          }
          const first: number[] = [];
          for await (const value of pool.imap(sqr, naturals(), { chunksize: 3, buffersize: 4 })) {
            first.push(value);
            if (first.length === 10) break;
          }
          assert.deepEqual(first, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
          const unordered: number[] = [];
          for await (const value of pool.imapUnordered(sqr, [3, 1, 2])) unordered.push(value);
          assert.deepEqual(unordered.sort(), [1, 4, 9]);
        });
      });

      it('callbacks fire once with the result or the first error', async () => {
        await withPool(runtime, async (pool) => {
          const got: unknown[] = [];
          const errors: unknown[] = [];
          assert.deepEqual(await pool.mapAsync(sqr, [1, 2], { callback: (v) => got.push(v) }), [1, 4]);
          assert.deepEqual(got, [[1, 4]]);
          const failing = pool.applyAsync(behave, ['throw', 7], { errorCallback: (e) => errors.push(e) });
          await assert.rejects(failing.get(), TypeError);
          assert.equal(errors.length, 1);
        });
      });

      it("errors keep their class, fields, cause and the worker's stack", async () => {
        await withPool(runtime, async (pool) => {
          const err = await pool.apply(behave, ['throw-custom']).catch((e: unknown) => e);
          assert.ok(err instanceof Error);
          assert.equal(err.message, 'custom failure');
          assert.equal((err as FixtureError).code, 'E_FIXTURE');
          assert.deepEqual((err as FixtureError).detail, { n: 1 });
          assert.ok(err.cause instanceof RangeError);
          assert.match(err.stack ?? '', /fixtures[/\\]tasks\.ts/);
          const typed = await pool.map(behave, ['throw'] as const).catch((e: unknown) => e);
          assert.ok(typed instanceof TypeError);
        });
      });

      it('a timeout stops the task with TaskTimeoutError, and the pool goes on', async () => {
        await withPool(runtime, async (pool) => {
          const started = Date.now();
          await assert.rejects(pool.apply(behave, ['hang'], { timeout: 300 }), TaskTimeoutError);
          assert.ok(Date.now() - started < 10_000);
          assert.equal(await pool.apply(add, [1, 1]), 2);
        });
      });

      it('an AbortSignal cancels queued and running tasks', async () => {
        await withPool(runtime, async (pool) => {
          const controller = new AbortController();
          const hanging = pool.map(behave, Array(6).fill('hang'), {
            chunksize: 1,
            signal: controller.signal,
          });
          await sleep(300);
          controller.abort();
          await assert.rejects(hanging, AbortError);
          // The hanging chunks were stopped, so there is room for more work.
          assert.deepEqual(await pool.map(sqr, [1, 2, 3, 4], 1), [1, 4, 9, 16]);
        });
      });

      it('settle: true gives every item its outcome, in order, with its class and stack', async () => {
        await withPool(runtime, async (pool) => {
          // Every 7th item fails.
          const what = Array.from({ length: 10_000 }, (_, i): 'ok' | 'throw-custom' =>
            i % 7 === 0 ? 'throw-custom' : 'ok',
          );
          const outcomes = await pool.map(behave, what, { settle: true, chunksize: 500 });
          assert.equal(outcomes.length, 10_000);
          for (let i = 0; i < what.length; i++) {
            const outcome = outcomes[i]!;
            if (what[i] === 'ok') {
              assert.deepEqual(outcome, { status: 'fulfilled', value: null }, `item ${i}`);
              continue;
            }
            assert.equal(outcome.status, 'rejected', `item ${i}`);
            const reason = (outcome as PromiseRejectedResult).reason as FixtureError;
            assert.equal(reason.code, 'E_FIXTURE');
            assert.match(reason.stack ?? '', /fixtures[/\\]tasks\.ts/);
          }
          // In imap, a failure does not end the iteration.
          const seen: string[] = [];
          for await (const outcome of pool.imap(behave, ['ok', 'throw', 'ok'] as const, { settle: true })) {
            seen.push(outcome.status);
          }
          assert.deepEqual(seen, ['fulfilled', 'rejected', 'fulfilled']);
          // A chunk that times out rejects its own items; the others are fulfilled.
          const timed = await pool.map(behave, ['ok', 'hang', 'ok'] as const, {
            settle: true,
            chunksize: 1,
            timeout: 300,
          });
          assert.deepEqual(
            timed.map((o) => o.status),
            ['fulfilled', 'rejected', 'fulfilled'],
          );
          assert.ok((timed[1] as PromiseRejectedResult).reason instanceof TaskTimeoutError);
        });
      });

      it('a failed map stops its siblings: their side effects never happen', {
        timeout: 30_000,
      }, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'mpool-redis-stop-'));
        const file = join(dir, 'siblings');
        try {
          await withPool(runtime, async (pool) => {
            const started = performance.now();
            const items = Array.from({ length: 12 }, (_, x) => ({ x, file, ms: SIBLING_MS }));
            await assert.rejects(pool.map(failFirst, items, 1), /item 0 failed/);
            assert.equal(await pool.apply(add, [1, 2]), 3);
            const waited = performance.now() - started;
            assert.ok(waited < SIBLING_MS - 500, `the next call waited ${waited.toFixed(0)} ms`);
            await sleep(SIBLING_MS + 2000 - (performance.now() - started));
            assert.equal(existsSync(file), false, 'siblings of the failed call ran on');
          });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('close and join wait for queued work', async () => {
        const pool = new Pool(runtime.options());
        const result = pool.mapAsync(slowSqr, [1, 2, 3]);
        pool.close();
        await pool.join();
        assert.deepEqual(await result.get(), [1, 4, 9]);
        assert.equal(pool.state, 'closed');
      });
    });
  }
});
