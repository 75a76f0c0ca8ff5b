// Issue 15: the pool's events (mpool:chunk, mpool:worker, mpool:call) and pool.stats() tell the truth, in both
// local contexts: counts equal what ran, a lost worker's kind is what killed it, and timings add up.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import type { CallEvent, ChunkSample, PoolStats, WorkerEvent } from '../src/index.js';
import { TaskTimeoutError, WorkerLostError } from '../src/index.js';
import { behave, busyIdentity, sqr } from './fixtures/tasks.js';
import { CONTEXTS, sleep, withPool, workersUp } from './helpers.js';

/** Collects what a channel publishes while `body` runs. */
async function listen<T>(name: string, body: (seen: T[]) => Promise<void>): Promise<T[]> {
  const seen: T[] = [];
  const onMessage = (message: unknown): void => {
    seen.push(message as T);
  };
  subscribe(name, onMessage);
  try {
    await body(seen);
  } finally {
    unsubscribe(name, onMessage);
  }
  return seen;
}

// Clocks of different threads and processes agree to well under a millisecond on one machine; the pool reads
// Date.now(), whole milliseconds: allow two.
const SKEW_MS = 2;

for (const context of CONTEXTS) {
  describe(`insight (${context})`, () => {
    it('a CPU-bound map: one chunk event per chunk, counts equal what ran, and run times fill each worker', {
      timeout: 60_000,
    }, async () => {
      const items = 48;
      const ms = 20;
      let stats: PoolStats | undefined;
      let id = 0;
      const all = await listen<ChunkSample>('mpool:chunk', async () => {
        await withPool({ processes: 2, context }, async (pool) => {
          id = pool.id;
          await pool.apply(sqr, [1]);
          await pool.map(sqr, [1, 2]);
          // Both workers up, so the map's time is all work (and a thread still starting cannot lose its share
          // to the other, as it would by design).
          await workersUp(pool);
          const before = pool.stats();
          const result = await pool.map(busyIdentity, Array(items).fill(ms), { chunksize: 2 });
          assert.equal(result.length, items);
          stats = pool.stats();
          assert.equal(stats.runtime, context);
          assert.equal(stats.done - before.done, items / 2);
          assert.equal(stats.doneItems - before.doneItems, items);
        });
      });
      const chunks = all.filter((c) => c.pool === id);
      const biggest = chunks.at(-1)!.call; // the map of busyIdentity was the last call
      const mine = chunks.filter((c) => c.call === biggest);
      assert.match(mine[0]!.fn, /^tasks\.ts#\d+$/);
      assert.equal(mine.length, items / 2, 'one event per chunk');
      assert.equal(
        mine.reduce((n, c) => n + c.items, 0),
        items,
      );
      assert.equal(new Set(mine.map((c) => c.chunk)).size, items / 2, 'each chunk once');
      assert.equal(new Set(mine.map((c) => c.call)).size, 1, 'all of one call');
      for (const c of mine) {
        assert.ok(c.ok);
        assert.ok(c.queuedAt <= c.sentAt + SKEW_MS, 'queued before sent');
        assert.ok(c.sentAt <= c.startedAt + SKEW_MS, 'sent before started');
        assert.ok(c.startedAt + c.runMs <= c.settledAt + SKEW_MS, 'ran before settled');
        assert.ok(c.runMs >= 2 * ms * 0.95, `a chunk of two ${ms} ms items ran ${c.runMs} ms`);
      }
      // Each worker's chunks ran back to back: their run times add up to its span from first start to last end.
      const byWorker = new Map<number, ChunkSample[]>();
      for (const c of mine) byWorker.set(c.worker, [...(byWorker.get(c.worker) ?? []), c]);
      assert.equal(byWorker.size, 2, 'both workers ran chunks');
      for (const [worker, ran] of byWorker) {
        const busy = ran.reduce((n, c) => n + c.runMs, 0);
        const start = Math.min(...ran.map((c) => c.startedAt));
        const end = Math.max(...ran.map((c) => c.startedAt + c.runMs));
        const span = end - start;
        assert.ok(busy <= span + SKEW_MS, `worker ${worker}: ${busy} ms busy in ${span} ms`);
        assert.ok(busy >= 0.9 * span, `worker ${worker}: ${busy} ms busy in a span of ${span} ms`);
      }
      // stats() agrees with the events: per worker and in total.
      assert.ok(stats);
      assert.equal(stats.queued, 0);
      assert.equal(stats.running + stats.sent, 0);
      assert.equal(stats.failed, 0);
      const perWorker = stats.workers.reduce((n, w) => n + w.chunks, 0);
      assert.equal(perWorker, stats.done, 'the workers did every chunk the pool counts');
      assert.equal(
        stats.workers.reduce((n, w) => n + w.items, 0),
        stats.doneItems,
      );
      for (const w of stats.workers) {
        const events = byWorker.get(w.id) ?? [];
        const busy = events.reduce((n, c) => n + c.runMs, 0);
        assert.ok(w.busyMs >= busy, `worker ${w.id}: stats say ${w.busyMs} ms busy, its events ${busy}`);
        if (context === 'thread') assert.equal(typeof w.threadId, 'number');
        else assert.equal(typeof w.pid, 'number');
        assert.equal(w.state, 'idle');
        assert.ok(w.heapUsed === undefined || w.heapUsed > 0);
      }
      assert.ok(stats.taskMs, 'task times are known');
      assert.ok(stats.taskMs.median >= 1.9 * ms, `median ${stats.taskMs.median} ms`);
      assert.ok(stats.taskMs.p99 >= stats.taskMs.median);
      assert.ok(stats.itemsPerSecond > 0);
    });

    it('stats() while a map runs: some queued or running, then all done', { timeout: 60_000 }, async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        await workersUp(pool);
        const run = pool.map(busyIdentity, Array(12).fill(100), { chunksize: 1 });
        run.catch(() => {}); // awaited below; a failed assertion first must not leave it unhandled
        // Once a few are done (the first chunk on each worker also loads the task's module), the rest run on.
        while (pool.stats().done < 2) await sleep(10);
        const during = pool.stats();
        assert.equal(during.queued + during.sent + during.running + during.done, 12);
        assert.ok(during.done < 12, `${during.done} of 12 done`);
        // Each worker holds work: running, or sent and on its way (a new batch not yet claimed).
        assert.ok(during.running >= 1 && during.running <= 2, `${during.running} running on 2 workers`);
        assert.ok(during.running + during.sent >= 2, `${during.running} running, ${during.sent} sent`);
        assert.ok(during.workers.every((w) => w.state === 'busy'));
        await run;
        const after = pool.stats();
        assert.equal(after.done, 12);
        assert.equal(after.queued + after.sent + after.running, 0);
      });
    });

    it('a lost worker: its typed kind in the error, on mpool:worker and in stats()', {
      timeout: 60_000,
    }, async () => {
      let id = 0;
      const all = await listen<WorkerEvent>('mpool:worker', async () => {
        await withPool({ processes: 1, context, maxHeapMb: 64 }, async (pool) => {
          id = pool.id;
          const exit = await pool.apply(behave, ['exit']).catch((e: unknown) => e);
          assert.ok(exit instanceof WorkerLostError);
          assert.equal(exit.kind, 'exit');
          const oom = await pool.apply(behave, ['leak']).catch((e: unknown) => e);
          assert.ok(oom instanceof WorkerLostError);
          assert.equal(oom.kind, 'out-of-memory');
          const timedOut = await pool.apply(behave, ['hang'], { timeout: 100 }).catch((e: unknown) => e);
          assert.ok(timedOut instanceof TaskTimeoutError);
          if (context === 'process') {
            const killed = await pool.apply(behave, ['kill']).catch((e: unknown) => e);
            assert.ok(killed instanceof WorkerLostError);
            assert.equal(killed.kind, 'signal');
          }
          assert.equal(await pool.apply(sqr, [3]), 9);
          const stats = pool.stats();
          assert.equal(stats.ended.exit, 1);
          assert.equal(stats.ended['out-of-memory'], 1);
          assert.equal(stats.ended.timeout, 1);
          if (context === 'process') assert.equal(stats.ended.signal, 1);
          assert.equal(stats.workers.length, 1);
          assert.equal(stats.workers[0]!.replaced?.kind, context === 'process' ? 'signal' : 'timeout');
        });
      });
      const events = all.filter((e) => e.pool === id);
      const lost = events.filter((e) => e.event === 'lost').map((e) => (e as { kind: string }).kind);
      assert.deepEqual(lost, [
        'exit',
        'out-of-memory',
        'timeout',
        ...(context === 'process' ? ['signal'] : []),
      ]);
      const replaced = events.filter((e) => e.event === 'replaced').map((e) => (e as { kind: string }).kind);
      assert.deepEqual(replaced, lost, 'each lost worker was replaced');
      const stopped = events.filter((e) => e.event === 'stopped').map((e) => (e as { kind: string }).kind);
      assert.deepEqual(stopped, ['terminate'], 'the last worker stopped when the pool was terminated');
      assert.equal(events.filter((e) => e.event === 'started').length, lost.length + 1);
    });

    it('mpool:call: a start and an end per call, or its first error', { timeout: 60_000 }, async () => {
      let id = 0;
      const all = await listen<CallEvent>('mpool:call', async () => {
        await withPool({ processes: 2, context }, async (pool) => {
          id = pool.id;
          await pool.map(sqr, [1, 2, 3]);
          await pool.apply(behave, ['throw']).catch(() => {});
          for await (const _ of pool.imap(sqr, [1, 2])) {
            // read to the end
          }
        });
      });
      const calls = all.filter((c) => c.pool === id);
      const summary = calls.map((c) => `${c.method}:${c.event}`);
      assert.deepEqual(summary, [
        'map:start',
        'map:end',
        'apply:start',
        'apply:error',
        'imap:start',
        'imap:end',
      ]);
      const end = calls[1] as Extract<CallEvent, { event: 'end' }>;
      assert.equal(end.items, 3);
      assert.match(end.fn, /^tasks\.ts#\d+$/);
      assert.equal(calls[0]!.call, end.call);
      assert.ok(end.ms >= 0);
    });
  });
}
