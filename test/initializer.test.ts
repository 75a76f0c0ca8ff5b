// Issue 14: the initializer runs on every worker that starts, as Python's eager workers do, even on a pool
// closed before any task; join() then says if it threw.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InitializerError, Pool } from '../src/index.js';
import { traceInit } from './fixtures/tasks.js';
import { CONTEXTS, workersUp } from './helpers.js';

function traces(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

for (const context of CONTEXTS) {
  describe(`the initializer of a pool closed at once (${context})`, () => {
    it('runs once in every worker before join() returns', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mpool-init-'));
      try {
        const file = join(dir, 'trace');
        const pool = new Pool({ processes: 2, context, initializer: traceInit, initargs: [file] });
        pool.close();
        await pool.join();
        const seen = traces(file);
        assert.equal(seen.length, 2, `traces: ${seen.join(', ')}`);
        assert.equal(new Set(seen).size, 2, 'each worker once');
        assert.equal(pool.state, 'closed');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('that throws makes join() reject with InitializerError', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mpool-init-'));
      try {
        const file = join(dir, 'trace');
        const pool = new Pool({ processes: 2, context, initializer: traceInit, initargs: [file, true] });
        pool.close();
        await assert.rejects(pool.join(), (error: Error) => {
          assert.ok(error instanceof InitializerError, `got ${error.name}: ${error.message}`);
          assert.match(String((error.cause as Error).message), /the initializer failed on purpose/);
          return true;
        });
        assert.ok(traces(file).length >= 1);
        // Asked again, join() says the same.
        await assert.rejects(pool.join(), InitializerError);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

// Threads only: a process cannot give back what it was sent, so there a chunk waits for the worker it went to.
describe('a chunk sent to a thread still in its initializer', () => {
  it('runs on the first thread ready instead of waiting for that one', async () => {
    // Cell 0: the thread the test holds in its initializer; cell 1: let go of it.
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const hold = (shared: Int32Array): void => {
      Atomics.wait(shared, 0, 0, 10_000);
      const { threadId } = process.getBuiltinModule('node:worker_threads');
      if (Atomics.load(shared, 0) === threadId) Atomics.wait(shared, 1, 0, 10_000);
    };
    const pool = new Pool({ processes: 2, initializer: hold, initargs: [gate] });
    try {
      // Both threads are starting: the chunk goes to the first one created, which the test then holds.
      const ran = pool.apply(() => process.getBuiltinModule('node:worker_threads').threadId, []);
      const first = pool.stats().workers[0]!;
      assert.equal(first.state, 'starting');
      Atomics.store(gate, 0, first.threadId!);
      Atomics.notify(gate, 0);
      const threadId = await ran;
      assert.notEqual(threadId, first.threadId, 'the chunk waited for the held thread');
      // The held thread, let go, finishes starting, and the pool goes on with both.
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      await workersUp(pool);
      assert.deepEqual(
        pool.stats().workers.map((w) => w.threadId),
        [first.threadId, threadId],
      );
      assert.deepEqual(await pool.map((x: number) => x * 2, [1, 2, 3, 4], 1), [2, 4, 6, 8]);
    } finally {
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      await pool.terminate();
    }
  });
});
