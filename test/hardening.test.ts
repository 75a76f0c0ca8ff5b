// Issue 13: nothing a task does wedges, crashes or orphans. Timeouts of any length, values that cannot
// travel, errors that cannot be read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { slowSqr } from './fixtures/tasks.js';
import { CONTEXTS, withPool } from './helpers.js';

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
