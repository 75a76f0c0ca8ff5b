// Port of CPython's `_TestPoolWorkerLifetime` (Lib/test/_test_multiprocessing.py) to mpool. CPython runs it
// for process pools only; mpool's maxtasksperchild replaces worker threads as well, so both contexts run it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Pool } from '../../src/index.js';
import { CONTEXTS } from '../helpers.js';
import { sqr, sqrWhere } from './fixtures.js';
import { range, within, withPool } from './support.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const finalizationScript = fileURLToPath(new URL('./finalization-script.ts', import.meta.url));

for (const context of CONTEXTS) {
  describe(`_TestPoolWorkerLifetime (${context})`, () => {
    it('test_pool_worker_lifetime', async () => {
      await withPool({ processes: 3, maxtasksperchild: 10, context }, async (p) => {
        assert.equal(p.processes, 3);
        // Run many tasks so each worker gets replaced. CPython compares worker pids read from p._pool
        // before and after; mpool hides its workers, so each task reports which worker ran it.
        const results = range(100).map((i) => p.applyAsync(sqrWhere, [i]));
        // Fetch the results and verify we got the right answers, also ensuring all the tasks have completed.
        const runs = [];
        for (const [j, res] of results.entries()) {
          const run = await res.get();
          assert.equal(run.value, j * j);
          runs.push(run);
        }
        // All pids should be assigned. See issue #7805.
        for (const run of runs) {
          assert.ok(Number.isInteger(run.pid) && run.pid > 0);
          assert.equal(typeof run.token, 'string');
        }
        const perWorker = new Map<string, number>();
        for (const run of runs) perWorker.set(run.token, (perWorker.get(run.token) ?? 0) + 1);
        // Finally, check that the workers have changed: no worker ran more than maxtasksperchild tasks,
        // so 100 tasks took at least 10 different workers.
        for (const [token, count] of perWorker) assert.ok(count <= 10, `worker ${token} ran ${count} tasks`);
        assert.ok(perWorker.size >= 10, `only ${perWorker.size} workers ran 100 tasks`);
        if (context === 'process') {
          // Each worker was its own process.
          assert.equal(new Set(runs.map((run) => run.pid)).size, perWorker.size);
        } else {
          assert.ok(runs.every((run) => run.pid === process.pid));
          assert.equal(new Set(runs.map((run) => run.threadId)).size, perWorker.size);
        }
        // The pool was refilled: it still has its 3 workers.
        assert.equal(p.processes, 3);
        p.close();
        await p.join();
      });
    });

    it('test_pool_worker_lifetime_early_close', async () => {
      // Issue #10332: closing a pool whose workers have limited lifetimes before all the tasks completed
      // would make join() hang.
      await withPool({ processes: 3, maxtasksperchild: 1, context }, async (p) => {
        const results = range(6).map((i) => p.applyAsync(sqr, [i, 30]));
        p.close();
        await within(p.join(), 10_000, 'join()');
        // check the results
        for (const [j, res] of results.entries()) assert.equal(await res.get(), j * j);
      });
    });

    it('test_pool_maxtasksperchild_invalid', () => {
      // Python raises ValueError for every value; mpool raises RangeError for a number that is not an
      // integer >= 1 and TypeError for a value that is not a number, as JS does.
      for (const value of [0, -1, 0.5]) {
        assert.throws(() => new Pool({ processes: 3, maxtasksperchild: value, context }), RangeError);
      }
      assert.throws(
        () => new Pool({ processes: 3, maxtasksperchild: '12' as unknown as number, context }),
        TypeError,
      );
    });

    it('test_worker_finalization_via_atexit_handler_of_multiprocessing', async () => {
      // tests cases against bpo-38744 and bpo-39360: a process whose pool was never closed must exit cleanly.
      const { code, signal, stderr } = await new Promise<{
        code: number | null;
        signal: string | null;
        stderr: string;
      }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', finalizationScript, context],
          { cwd: repoRoot, timeout: 15_000 },
          (error, _stdout, stderr) => {
            const failed = error as (Error & { code?: number | string; signal?: string }) | null;
            resolve({
              code: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0,
              signal: failed?.signal ?? null,
              stderr,
            });
          },
        );
      });
      assert.equal(signal, null, `the script did not exit by itself (killed by ${signal}):\n${stderr}`);
      assert.equal(code, 0, stderr);
    });
  });
}
