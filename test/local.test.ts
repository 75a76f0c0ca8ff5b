// The local executor on its own, below the Pool: what it learns of each function's cost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkJob, ChunkResult } from '../src/executor.js';
import { resolveOptions } from '../src/options.js';
import { createExecutor } from '../src/runtime/index.js';

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
});
