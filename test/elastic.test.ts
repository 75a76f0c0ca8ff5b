// Issue 16: a pool that grows with load and shrinks when idle (minProcesses, idleTimeout), in both contexts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Pool } from '../src/index.js';
import { workerIdentity } from './fixtures/tasks.js';
import { CONTEXTS, sleep, withPool } from './helpers.js';

/** The pool's worker processes, as `ps` sees them (not tsx's esbuild service, nor ps itself). */
function children(): number {
  try {
    return execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /process-entry/.test(line)).length;
  } catch {
    return 0; // ps exits 1 when there are none
  }
}

for (const context of CONTEXTS) {
  describe(`minProcesses and idleTimeout (${context})`, () => {
    it('grows to processes under load, and is back to minProcesses within a second of going idle', {
      timeout: 60_000,
    }, async () => {
      const count = children;
      await withPool({ minProcesses: 1, processes: 4, idleTimeout: 200, context }, async (pool) => {
        assert.equal(pool.workerCount, 1);
        if (context === 'process') assert.equal(count(), 1);
        let most = 0;
        let mostByPs = 0;
        const identities = await pool.map(workerIdentity, Array(12).fill(400), {
          chunksize: 1,
          onProgress: () => {
            most = Math.max(most, pool.workerCount);
            if (context === 'process') mostByPs = Math.max(mostByPs, count());
          },
        });
        assert.equal(most, 4, `the pool grew to ${most} workers`);
        assert.equal(new Set(identities).size, 4, `the tasks ran on ${new Set(identities).size} workers`);
        if (context === 'process') assert.equal(mostByPs, 4, 'child processes by ps');
        const idleAt = performance.now();
        while (pool.workerCount > 1 && performance.now() - idleAt < 5000) await sleep(20);
        const shrunkIn = performance.now() - idleAt;
        assert.equal(pool.workerCount, 1);
        assert.ok(shrunkIn < 1000, `back to 1 worker after ${shrunkIn.toFixed(0)} ms`);
        if (context === 'process') {
          while (count() > 1 && performance.now() - idleAt < 1000) await sleep(20);
          assert.equal(count(), 1, 'child processes by ps');
        }
        // And grows again when work comes. (Where the tasks run is not the point here: a thread that is still
        // starting when the ready one runs dry gives its task back to it, by design.)
        let grew = 0;
        const again = await pool.map(workerIdentity, Array(4).fill(300), {
          chunksize: 1,
          onProgress: () => {
            grew = Math.max(grew, pool.workerCount);
          },
        });
        assert.equal(again.length, 4);
        assert.ok(grew > 1, `the pool grew to ${grew} workers`);
      });
    });

    it('the initializer runs on every worker that starts', { timeout: 30_000 }, async () => {
      const pool = new Pool({
        minProcesses: 0,
        processes: 2,
        idleTimeout: 100,
        context,
        initializer: () => {
          (globalThis as { initialized?: boolean }).initialized = true;
        },
      });
      try {
        assert.equal(pool.workerCount, 0);
        const seen = await pool.map(
          () => (globalThis as { initialized?: boolean }).initialized === true,
          [1, 2, 3, 4],
          1,
        );
        assert.deepEqual(seen, [true, true, true, true]);
      } finally {
        await pool.terminate();
      }
    });
  });
}

describe('minProcesses', () => {
  it('defaults to processes (a fixed size), and is refused above it or with redis', () => {
    const pool = new Pool({ processes: 2 });
    assert.equal(pool.workerCount, 2);
    void pool.terminate();
    assert.throws(
      () => new Pool({ processes: 2, minProcesses: 3 }),
      /Expected `minProcesses` to be at most `processes` \(2\), got `3` \(number\)/,
    );
    assert.throws(
      () => new Pool({ idleTimeout: 0 }),
      /Expected `idleTimeout` to be a number of milliseconds > 0/,
    );
    assert.throws(
      () => new Pool({ redis: 'redis://127.0.0.1:1', minProcesses: 1 }),
      /does not apply with `redis`/,
    );
  });
});
