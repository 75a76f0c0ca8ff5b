// Issue 13: a finished result is never lost to a later task's exit, however large the results in the channel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerLostError } from '../src/index.js';
import { bulky } from './fixtures/tasks.js';
import { CONTEXTS, withPool } from './helpers.js';

for (const context of CONTEXTS) {
  describe(`a task's exit after large results (${context})`, () => {
    it('400 applies of 2 MB, four of which call process.exit(3): exactly those four fail', async () => {
      await withPool({ processes: 2, context }, async (pool) => {
        const exitAt = [50, 150, 250, 350];
        const settled = await Promise.allSettled(
          Array.from({ length: 400 }, (_, i) => pool.apply(bulky, [i, 2_000_000, exitAt])),
        );
        const rejected = settled.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
        assert.deepEqual(rejected, exitAt, `expected only the tasks that exited to fail`);
        for (const i of exitAt) {
          const r = settled[i]!;
          assert.ok(
            r.status === 'rejected' && r.reason instanceof WorkerLostError && r.reason.exitCode === 3,
            `expected task ${i} to reject with WorkerLostError (exit code 3), got ${String((r as PromiseRejectedResult).reason)}`,
          );
        }
        settled.forEach((r, i) => {
          if (r.status === 'fulfilled') assert.ok(r.value.endsWith(`y${i}`), `result ${i} is another's`);
        });
      });
    });
  });
}
